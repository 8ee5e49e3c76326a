import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Late elements: the side output, the `late_records` metric, and allowed lateness.
@Suite struct LateDataTests {
    private let late = OutputTag<Ev>("late")

    @Test func lateElementsGoToTheSideOutput() throws {
        let events = [Ev("a", 5), Ev("a", 15), Ev("a", 3, 7), Ev("b", 9), Ev("a", 12)]
        let (sink, lateSink, runner) = try runWindowJob(events, TumblingWindows(.milliseconds(10)), chunk: 1, lateTag: late)
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 10, 20, 2)])
        #expect(lateSink.results == [Ev("a", 3, 7), Ev("b", 9)])
        #expect(runner.metric("records_out", "sum#late") == 2)
        // Late elements keep their own timestamps on the side output.
        #expect(lateSink.timestampedResults.map(\.1) == [3, 9])
    }

    @Test func lateElementsAreCountedAndDroppedWithoutATag() throws {
        let events = [Ev("a", 5), Ev("a", 15), Ev("a", 3), Ev("b", 9), Ev("a", 12)]
        let (sink, _, runner) = try runWindowJob(events, TumblingWindows(.milliseconds(10)), chunk: 1)
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 10, 20, 2)])
        #expect(runner.metric("late_records", "sum") == 2)
        #expect(runner.metric("records_in", "sum") == 5)
    }

    @Test func lateSessionElementGoesToTheSideOutput() throws {
        // Gap 10: [0,10) fires at watermark 9; t=-5 makes [-5,5), which is late and touches nothing.
        let events = [Ev("a", 0), Ev("z", 10), Ev("a", -5)]
        let (sink, lateSink, _) = try runWindowJob(events, SessionWindows(gap: .milliseconds(10)), chunk: 1, lateTag: late)
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("z", 10, 20, 1)])
        #expect(lateSink.results == [Ev("a", -5)])
    }

    @Test func slidingElementLateForAllWindowsIsLate() throws {
        // size 10, slide 5; watermark 17 after t=18: t=9 is in [0,10) and [5,15), both closed.
        let events = [Ev("a", 9), Ev("a", 18), Ev("a", 9, 100), Ev("a", 14, 1000)]
        let (sink, lateSink, _) = try runWindowJob(events, SlidingWindows(size: .milliseconds(10), slide: .milliseconds(5)),
                                                   chunk: 1, lateTag: late)
        #expect(lateSink.results == [Ev("a", 9, 100)])
        // t=14 is late for [5,15) but on time for [10,20): counted there, not on the side output.
        #expect(sink.firedSorted == [
            Fired("a", 0, 10, 1), Fired("a", 5, 15, 1), Fired("a", 10, 20, 1001), Fired("a", 15, 25, 1),
        ])
    }

    @Test func allowedLatenessRefiresWithUpdatedResultsThenCleansUp() throws {
        let events = [
            Ev("a", 1), Ev("a", 5),  // [0,10) = 2
            Ev("a", 15),  // watermark 14: on time 2
            Ev("a", 3),  // late, within lateness: 3
            Ev("a", 7),  // 4
            Ev("a", 29),  // watermark 28: [10,20) on time 1; [0,10) is kept until 29
            Ev("a", 8),  // 5
            Ev("a", 30),  // watermark 29: [0,10) is cleaned up
            Ev("a", 2),  // beyond the lateness: side output, no firing
            Ev("a", 12),  // [10,20) is kept until 39: late firing 2
        ]
        let (sink, lateSink, runner) = try runWindowJob(events, TumblingWindows(.milliseconds(10)), chunk: 1,
                                                        allowedLateness: .milliseconds(20), lateTag: late)
        #expect(sink.fired.filter { $0.start == 0 } == [
            Fired("a", 0, 10, 2, .onTime), Fired("a", 0, 10, 3, .late), Fired("a", 0, 10, 4, .late), Fired("a", 0, 10, 5, .late),
        ])
        #expect(sink.fired.filter { $0.start == 10 } == [Fired("a", 10, 20, 1, .onTime), Fired("a", 10, 20, 2, .late)])
        #expect(sink.fired.filter { $0.start == 20 } == [Fired("a", 20, 30, 1, .onTime)])
        #expect(sink.fired.filter { $0.start == 30 } == [Fired("a", 30, 40, 1, .onTime)])
        #expect(lateSink.results == [Ev("a", 2)])
        #expect(runner.metric("late_records", "sum") == 1)
        // Late firings carry the window's max timestamp like on-time ones.
        #expect(sink.timestampedResults.filter { $0.0.window.start == 0 }.allSatisfy { $0.1 == 9 })
    }

    @Test func lateFiringsAreNotRepeatedByLaterWatermarks() throws {
        let events = [Ev("a", 1), Ev("a", 15), Ev("a", 2), Ev("a", 16), Ev("a", 17), Ev("a", 100)]
        let (sink, _, _) = try runWindowJob(events, TumblingWindows(.milliseconds(10)), chunk: 1, allowedLateness: .milliseconds(50))
        #expect(sink.fired.filter { $0.start == 0 } == [Fired("a", 0, 10, 1, .onTime), Fired("a", 0, 10, 2, .late)])
    }

    @Test func newWindowWithinLatenessFiresLateAtOnce() throws {
        // [0,10) never had an element before the watermark passed it; within the lateness it
        // is created and fires as a late result right away, once.
        let events = [Ev("a", 25), Ev("a", 4), Ev("a", 100)]
        let (sink, lateSink, _) = try runWindowJob(events, TumblingWindows(.milliseconds(10)), chunk: 1,
                                                   allowedLateness: .milliseconds(20), lateTag: late)
        #expect(sink.fired.filter { $0.start == 0 } == [Fired("a", 0, 10, 1, .late)])
        #expect(lateSink.results.isEmpty)
    }

    @Test func sessionMergeWithinLatenessFiresLate() throws {
        let events = [
            Ev("a", 1),  // [1,11)
            Ev("a", 25),  // watermark 24: [1,11) on time 1, kept until 30
            Ev("a", 0),  // [0,10) merges with [1,11) → [0,11), already complete: late firing 2
            Ev("a", 31),  // watermark 30: [0,11) cleaned up
            Ev("a", -5),  // [-5,5): beyond the lateness
        ]
        let (sink, lateSink, _) = try runWindowJob(events, SessionWindows(gap: .milliseconds(10)), chunk: 1,
                                                   allowedLateness: .milliseconds(20), lateTag: late)
        #expect(sink.fired.filter { $0.start < 20 } == [Fired("a", 1, 11, 1, .onTime), Fired("a", 0, 11, 2, .late)])
        #expect(lateSink.results == [Ev("a", -5)])
    }

    @Test func processingTimeWindowsHaveNoLateData() throws {
        let feed = Feed<Ev>()
        let env = StreamEnvironment(name: "pt-late")
        let sink = CollectSink<WindowResult<String, Int>>()
        let lateSink = CollectSink<Ev>()
        let out = env.source("events", FedSource(feed), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .window(TumblingWindows(.milliseconds(100), domain: .processingTime))
            .allowedLateness(.seconds(1))
            .sideOutputLateData(late)
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
        out.sink("out", sink)
        out.sideOutput(late).sink("late", lateSink)
        let runner = try EmbeddedRunner(graph: try env.build())
        try runner.runUntilIdle()
        feed.push([Ev("a", 1000), Ev("a", 0)])  // event times are irrelevant
        try runner.pump()
        try runner.advanceTime(by: .milliseconds(200))
        feed.push([Ev("a", -1000)])
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired == [Fired("a", 0, 100, 2), Fired("a", 200, 300, 1)])
        #expect(lateSink.results.isEmpty)
    }
}
