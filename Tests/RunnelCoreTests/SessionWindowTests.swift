import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Event-time session windows: growth, merging, the exact-gap rule and firing.
@Suite struct SessionWindowTests {
    private let gap10 = SessionWindows(gap: .milliseconds(10))

    @Test func elementsWithinTheGapGrowOneSession() throws {
        let events = [Ev("a", 0, 1), Ev("a", 5, 2), Ev("a", 12, 4), Ev("b", 3, 100), Ev("a", 40, 8)]
        let (sink, _, _) = try runWindowJob(events, gap10, bound: 50)
        #expect(sink.firedSorted == [Fired("a", 0, 22, 7), Fired("a", 40, 50, 8), Fired("b", 3, 13, 100)])
    }

    @Test func elementExactlyGapAfterStartsANewSession() throws {
        let (sink, _, _) = try runWindowJob([Ev("a", 0), Ev("a", 10), Ev("a", 20)], gap10)
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 10, 20, 1), Fired("a", 20, 30, 1)])
    }

    @Test func elementOneMillisecondInsideTheGapJoins() throws {
        let (sink, _, _) = try runWindowJob([Ev("a", 0), Ev("a", 9), Ev("a", 18)], gap10)
        #expect(sink.firedSorted == [Fired("a", 0, 28, 3)])
    }

    @Test func touchingWindowsDoNotMergeEvenOutOfOrder() throws {
        // [0,10) and [20,30) exist; t=10 makes [10,20), which touches both but intersects neither.
        let (sink, _, _) = try runWindowJob([Ev("a", 0), Ev("a", 20), Ev("a", 10)], gap10, bound: 50)
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 10, 20, 1), Fired("a", 20, 30, 1)])
    }

    @Test func outOfOrderElementBridgesTwoSessions() throws {
        // [0,10) and [18,28) exist; t=9 makes [9,19), which intersects both: one session [0,28).
        let events = [Ev("a", 0, 1), Ev("a", 18, 10), Ev("a", 9, 100)]
        let (sink, _, _) = try runWindowJob(events, gap10, bound: 50)
        #expect(sink.firedSorted == [Fired("a", 0, 28, 111)])
    }

    @Test func bridgingElementMergesThreeSessions() throws {
        // [0,10), [12,22), [24,34); t=5 and t=17 are the bridges, arriving last.
        let events = [Ev("a", 0, 1), Ev("a", 12, 2), Ev("a", 24, 4), Ev("a", 17, 8), Ev("a", 5, 16)]
        let (sink, _, _) = try runWindowJob(events, gap10, bound: 50)
        #expect(sink.firedSorted == [Fired("a", 0, 34, 31)])
    }

    @Test func sessionsAreKeyed() throws {
        let events = [Ev("a", 0), Ev("b", 5), Ev("a", 8), Ev("b", 14), Ev("c", 9)]
        let (sink, _, _) = try runWindowJob(events, gap10, bound: 50)
        #expect(sink.firedSorted == [Fired("a", 0, 18, 2), Fired("b", 5, 24, 2), Fired("c", 9, 19, 1)])
    }

    @Test func fastAndGeneralPathsAgreeOnHandWorkedCases() throws {
        let cases: [[Ev]] = [
            [Ev("a", 0, 1), Ev("a", 18, 10), Ev("a", 9, 100)],
            [Ev("a", 0, 1), Ev("a", 12, 2), Ev("a", 24, 4), Ev("a", 17, 8), Ev("a", 5, 16)],
            [Ev("a", 0), Ev("a", 20), Ev("a", 10)],
            [Ev("a", 1), Ev("a", 25), Ev("a", 0), Ev("a", 31), Ev("a", -5)],
        ]
        for events in cases {
            for lateness in [0, 20] as [Int64] {
                let fast = try runSessionJob(events, gap: 10, bound: 0, lateness: lateness, generalPath: false)
                let general = try runSessionJob(events, gap: 10, bound: 0, lateness: lateness, generalPath: true)
                #expect(fast.fired == general.fired, "\(events) lateness \(lateness)")
                #expect(fast.late == general.late, "\(events) lateness \(lateness)")
            }
        }
    }

    /// Bug (session fast path, `WindowOperator+EventTimeSessions.swift`): once a session has
    /// fired, its slot's timer is re-armed to the cleanup time. A late element (within the
    /// allowed lateness) that extends the session's end past the current watermark leaves
    /// `timerAt` at that cleanup time, which is not the new `maxTimestamp`, so the grown
    /// session never fires again: its final result is lost. The general path (any other
    /// trigger) fires the grown session when the watermark passes its new end.
    @Test func lateElementThatExtendsAFiredSessionFiresTheGrownSession() throws {
        let events = [
            Ev("a", 0), Ev("a", 5),  // [0,15)
            Ev("z", 21),  // watermark 20: [0,15) fires with 2; kept until 44 (lateness 30)
            Ev("a", 14),  // [14,24) merges: [0,24), which ends after the watermark
            Ev("z", 30),  // watermark 29: [0,24) is complete
        ]
        let general = try runSessionJob(events, gap: 10, bound: 0, lateness: 30, generalPath: true)
        #expect(general.fired.filter { $0.key == "a" } == [Fired("a", 0, 15, 2), Fired("a", 0, 24, 3)])
        let fast = try runSessionJob(events, gap: 10, bound: 0, lateness: 30, generalPath: false)
        #expect(fast.fired.filter { $0.key == "a" } == [Fired("a", 0, 15, 2), Fired("a", 0, 24, 3)])
    }

    @Test func mergedSessionFiresOnceWhenTheWatermarkPassesItsEnd() throws {
        let feed = Feed<Ev>()
        let env = StreamEnvironment(name: "sessions")
        let sink = CollectSink<WindowResult<String, Int>>()
        env.source("events", FedSource(feed), watermarks: .boundedOutOfOrderness(.milliseconds(20)) { $0.t })
            .keyBy { $0.key }
            .window(gap10)
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build())
        try runner.runUntilIdle()

        feed.push([Ev("a", 0), Ev("a", 18)])  // watermark -3
        try runner.pump()
        feed.push([Ev("a", 9)])  // bridge → [0,28); watermark still -3
        try runner.pump()
        feed.push([Ev("z", 47)])  // watermark 26: [0,28) is not complete yet (max timestamp 27)
        try runner.pump()
        #expect(sink.fired.filter { $0.key == "a" }.isEmpty)
        feed.push([Ev("z", 48)])  // watermark 27
        try runner.pump()
        #expect(sink.fired.filter { $0.key == "a" } == [Fired("a", 0, 28, 3)])
        feed.push([Ev("z", 100)])
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired.filter { $0.key == "a" } == [Fired("a", 0, 28, 3)])
        #expect(runner.isFinished)
    }

    @Test func processingTimeSessions() throws {
        let feed = Feed<Ev>()
        let env = StreamEnvironment(name: "pt-sessions")
        let sink = CollectSink<WindowResult<String, Int>>()
        env.source("events", FedSource(feed), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .window(SessionWindows(gap: .milliseconds(100), domain: .processingTime))
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build(), clock: ManualClock(start: 1000))
        try runner.runUntilIdle()
        feed.push([Ev("a", 0)])
        try runner.pump()  // read at 1001 → [1001, 1101)
        try runner.advanceTime(by: .milliseconds(50))
        feed.push([Ev("a", 0)])
        try runner.pump()  // read at 1052 → [1052, 1152), merged [1001, 1152)
        try runner.advanceTime(by: .milliseconds(98))  // 1150
        #expect(sink.fired.isEmpty)
        try runner.advanceTime(by: .milliseconds(1))  // 1151 = max timestamp
        #expect(sink.fired == [Fired("a", 1001, 1152, 2)])
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired == [Fired("a", 1001, 1152, 2)])
    }
}
