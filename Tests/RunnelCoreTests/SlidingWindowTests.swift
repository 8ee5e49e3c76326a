import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Event-time sliding windows, end to end.
@Suite struct SlidingWindowTests {
    @Test func elementCountsInEverySlideOfItsWindows() throws {
        // size 10, slide 5: each element is in exactly two windows.
        let events = [Ev("a", 0), Ev("a", 4), Ev("a", 5), Ev("a", 12)]
        let (sink, _, _) = try runWindowJob(events, SlidingWindows(size: .milliseconds(10), slide: .milliseconds(5)))
        #expect(sink.firedSorted == [
            Fired("a", -5, 5, 2), Fired("a", 0, 10, 3), Fired("a", 5, 15, 2), Fired("a", 10, 20, 1),
        ])
        #expect(sink.fired.map(\.value).reduce(0, +) == 2 * events.count)
    }

    @Test func sizeNotAMultipleOfSlide() throws {
        // size 10, slide 4: windows start at multiples of 4; t=9 is in [0,10), [4,14), [8,18).
        let (sink, _, _) = try runWindowJob([Ev("a", 9)], SlidingWindows(size: .milliseconds(10), slide: .milliseconds(4)))
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 4, 14, 1), Fired("a", 8, 18, 1)])
    }

    @Test func slideLargerThanSizeSamplesTime() throws {
        // size 5, slide 10: only [0,5), [10,15), ... exist; t=7 belongs to no window and is not late.
        let events = [Ev("a", 1), Ev("a", 7), Ev("a", 14)]
        let (sink, late, runner) = try runWindowJob(events, SlidingWindows(size: .milliseconds(5), slide: .milliseconds(10)),
                                                    lateTag: OutputTag<Ev>("late"))
        #expect(sink.firedSorted == [Fired("a", 0, 5, 1), Fired("a", 10, 15, 1)])
        #expect(late.results.isEmpty)
        #expect(runner.metric("late_records", "sum") == 0)
    }

    @Test func slidingWithOffsetAndNegativeTimes() throws {
        let events = [Ev("a", -7), Ev("a", -2), Ev("a", 3)]
        let (sink, _, _) = try runWindowJob(events, SlidingWindows(size: .milliseconds(6), slide: .milliseconds(3), offset: .milliseconds(1)))
        // Window starts ≡ 1 (mod 3): ..., -8, -5, -2, 1, 4.
        #expect(sink.firedSorted == [
            Fired("a", -11, -5, 1), Fired("a", -8, -2, 1), Fired("a", -5, 1, 1), Fired("a", -2, 4, 2), Fired("a", 1, 7, 1),
        ])
    }

    @Test func partiallyLateElementUpdatesOnlyOpenWindows() throws {
        // size 10, slide 5, no disorder allowed. After t=14 (watermark 13) the window [0,10)
        // is closed but [5,15) is open: a later t=7 is counted in [5,15) only, and is not late.
        let events = [Ev("a", 6), Ev("a", 14), Ev("a", 7)]
        let (sink, late, runner) = try runWindowJob(events, SlidingWindows(size: .milliseconds(10), slide: .milliseconds(5)),
                                                    chunk: 1, lateTag: OutputTag<Ev>("late"))
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 5, 15, 3), Fired("a", 10, 20, 1)])
        #expect(late.results.isEmpty)
        #expect(runner.metric("late_records", "sum") == 0)
    }
}
