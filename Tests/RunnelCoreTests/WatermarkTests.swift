import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Watermark generation, the minimum over inputs, idleness and the end-of-input flush.
@Suite struct WatermarkTests {
    // MARK: Generator

    @Test func boundedOutOfOrdernessGenerator() {
        let g = BoundedOutOfOrdernessGenerator(boundMilliseconds: 5)
        #expect(g.currentWatermark == Watermark.initial)
        g.onEvent(timestamp: 100)
        #expect(g.currentWatermark == 94)  // 100 − 5 − 1: an element at 95 is still on time
        g.onEvent(timestamp: 90)
        #expect(g.currentWatermark == 94)  // never goes back
        g.onEvent(timestamp: 107)
        #expect(g.currentWatermark == 101)
        let m = BoundedOutOfOrdernessGenerator(boundMilliseconds: 0)
        m.onEvent(timestamp: -20)
        #expect(m.currentWatermark == -21)
    }

    /// Bug (minor): `maxTimestamp &- bound &- 1` wraps around for timestamps within `bound`
    /// of `Int64.min`, producing a watermark near `Int64.max` (every window fires, all
    /// later data is late). The subtraction should saturate.
    @Test func generatorDoesNotWrapAroundNearTheMinimum() {
        let g = BoundedOutOfOrdernessGenerator(boundMilliseconds: 10)
        g.onEvent(timestamp: .min + 3)
        #expect(g.currentWatermark < .min + 3)
    }

    @Test func strategiesMakeFreshGeneratorsAndCarryIdleness() {
        let s = WatermarkStrategy<Ev>.boundedOutOfOrderness(.milliseconds(7)) { $0.t }
        #expect(s.idleTimeoutMilliseconds == nil)
        #expect(s.timestamp(Ev("a", 42)) == 42)
        let g1 = s.makeGenerator(), g2 = s.makeGenerator()
        g1.onEvent(timestamp: 100)
        #expect(g1.currentWatermark == 92)
        #expect(g2.currentWatermark == Watermark.initial)
        let idle = s.withIdleness(.seconds(2))
        #expect(idle.idleTimeoutMilliseconds == 2000)
        let g3 = idle.makeGenerator()
        g3.onEvent(timestamp: 100)
        #expect(g3.currentWatermark == 92)
        let mono = WatermarkStrategy<Ev>.monotonousTimestamps { $0.t }.makeGenerator()
        mono.onEvent(timestamp: 100)
        #expect(mono.currentWatermark == 99)
    }

    // MARK: Lateness at the bound

    @Test func elementExactlyBoundBehindIsOnTime() throws {
        // B = 5. After t=14 the watermark is 8; t=9 (the last ms of [0,10)) is 5 behind: on time.
        let (sink, late, runner) = try runWindowJob([Ev("a", 14), Ev("a", 9)], TumblingWindows(.milliseconds(10)),
                                                    bound: 5, chunk: 1, lateTag: OutputTag<Ev>("late"))
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 10, 20, 1)])
        #expect(late.results.isEmpty)
        #expect(runner.metric("late_records", "sum") == 0)
    }

    @Test func elementBoundPlusOneBehindIsLate() throws {
        // After t=15 the watermark is 9 = max timestamp of [0,10): t=9 (6 behind) is late.
        let (sink, late, runner) = try runWindowJob([Ev("a", 15), Ev("a", 9)], TumblingWindows(.milliseconds(10)),
                                                    bound: 5, chunk: 1, lateTag: OutputTag<Ev>("late"))
        #expect(sink.firedSorted == [Fired("a", 10, 20, 1)])
        #expect(late.results == [Ev("a", 9)])
        #expect(runner.metric("late_records", "sum") == 1)
    }

    @Test func watermarkFollowsEachReadNotEachRecord() throws {
        // With the whole input in one read, the watermark comes after all of it: nothing is late.
        let (sink, late, _) = try runWindowJob([Ev("a", 15), Ev("a", 9)], TumblingWindows(.milliseconds(10)),
                                               bound: 5, chunk: 1024, lateTag: OutputTag<Ev>("late"))
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("a", 10, 20, 1)])
        #expect(late.results.isEmpty)
    }

    // MARK: Minimum over inputs

    private func unionJob(idleness: Duration? = nil, waitingAfterBatch: Bool = false, retry: Int64 = 1, start: Timestamp = 0)
    throws -> UnionWindowJob.Parts {
        try UnionWindowJob.make(idleness: idleness, waitingAfterBatch: waitingAfterBatch, retry: retry, start: start)
    }

    @Test func laggingInputHoldsBackWindowFiring() throws {
        let (a, b, runner, sink) = try unionJob()
        try runner.runUntilIdle()
        a.push([Ev("a", 1), Ev("a", 50), Ev("a", 100)])  // A's watermark 99
        b.push([Ev("b", 5)])  // B's watermark 4
        try runner.pump()
        #expect(sink.fired.isEmpty)
        b.push([Ev("b", 25)])  // B: 24 → [0,10) and [10,20) are complete
        try runner.pump()
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("b", 0, 10, 1)])
        b.push([Ev("b", 200)])  // B: 199 → now A (99) is the minimum
        try runner.pump()
        #expect(sink.firedSorted == [
            Fired("a", 0, 10, 1), Fired("a", 50, 60, 1), Fired("b", 0, 10, 1), Fired("b", 20, 30, 1),
        ])
        a.finish()
        try runner.pump()  // A ends: it no longer holds anything back
        #expect(sink.fired.contains(Fired("a", 100, 110, 1)))
        #expect(!sink.fired.contains { $0.key == "b" && $0.start == 200 })
        b.finish()
        try runner.pump()  // (not runToCompletion: see unionForwardsTheEndOfInput)
        #expect(sink.fired.contains(Fired("b", 200, 210, 1)))
        #expect(sink.fired.count == 6)
    }

    @Test func unionOfCollectionSourcesIsCompleteAndOnTime() throws {
        // Two sources at very different event times; processing order interleaves their reads.
        let env = StreamEnvironment(name: "union-collections")
        let sink = CollectSink<WindowResult<String, Int>>()
        let slow = (0..<200).map { Ev("s", Int64($0)) }
        let fast = (0..<200).map { Ev("f", 100_000 + Int64($0) * 1000) }
        let s1 = env.source("slow", CollectionSource(slow, chunk: 3), watermarks: .monotonousTimestamps { $0.t })
        let s2 = env.source("fast", CollectionSource(fast, chunk: 50), watermarks: .monotonousTimestamps { $0.t })
        s1.union("union", s2)
            .keyBy { $0.key }
            .window(TumblingWindows(.milliseconds(10)))
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build())
        try runner.runUntilIdle()  // (not runToCompletion: see unionForwardsTheEndOfInput)
        #expect(runner.metric("late_records", "sum") == 0)
        #expect(sink.fired.filter { $0.key == "s" }.map(\.value).reduce(0, +) == 200)
        #expect(sink.fired.filter { $0.key == "s" }.count == 20)
        #expect(sink.fired.filter { $0.key == "f" }.count == 200)
    }

    /// Bug: `DataStream.union` counts one end of input per input edge, but when its inputs
    /// come from other tasks (the usual case: two sources) its input gate delivers the end
    /// once, after all inputs ended. The union never forwards the end, and the job never finishes.
    @Test func unionForwardsTheEndOfInput() throws {
        let env = StreamEnvironment(name: "union-end")
        let sink = CollectSink<Ev>()
        let s1 = env.source("one", CollectionSource([Ev("a", 1), Ev("a", 2)]), watermarks: .monotonousTimestamps { $0.t })
        let s2 = env.source("two", CollectionSource([Ev("b", 3)]), watermarks: .monotonousTimestamps { $0.t })
        s1.union("union", s2).sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build())
        try runner.runUntilIdle()
        #expect(sink.results.count == 3)
        #expect(runner.isFinished)
        #expect(sink.finishedCount == 1)
    }

    @Test func unionOfChainedInputsForwardsTheEndOnce() throws {
        // Both inputs of the union come from the same task: they are chained into it.
        let env = StreamEnvironment(name: "union-chained")
        let sink = CollectSink<Ev>()
        let s = env.source("one", CollectionSource([Ev("a", 1), Ev("b", 2), Ev("a", 3)]), watermarks: .monotonousTimestamps { $0.t })
        s.filter("as") { $0.key == "a" }.union("union", s.filter("bs") { $0.key == "b" }).sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build())
        try runner.runToCompletion()
        #expect(sink.results.sorted { $0.t < $1.t } == [Ev("a", 1), Ev("b", 2), Ev("a", 3)])
        #expect(sink.finishedCount == 1)
    }

    // MARK: Idleness

    @Test func idleInputStopsHoldingBackTheWatermark() throws {
        let (a, b, runner, sink) = try unionJob(idleness: .seconds(1), start: 10_000)
        try runner.runUntilIdle()
        a.push([Ev("a", 5)])  // A: watermark 4, then silence
        b.push([Ev("b", 100)])
        try runner.pump()  // t = 10_001
        var t: Timestamp = 100
        func feedB(_ ms: Int64) throws {
            t += 1
            b.push([Ev("b", t)])
            try runner.pump(ms)
        }
        try feedB(500)  // t = 10_501: A has been silent 500 ms
        try feedB(498)  // t = 10_999: 998 ms
        #expect(sink.fired.isEmpty)
        try feedB(2)  // t = 11_001: 1000 ms → A is idle, B alone drives the watermark
        #expect(sink.fired.contains(Fired("a", 0, 10, 1)))
        #expect(!sink.fired.contains { $0.key == "b" && $0.start == 100 })

        // A becomes active again; its new data is on time relative to B.
        a.push([Ev("a", 150)])
        try feedB(1)
        b.push([Ev("b", 300)])
        try runner.pump()
        // A is active again and holds the watermark at 149: [150,160) stays open.
        #expect(!sink.fired.contains(Fired("a", 150, 160, 1)))
        #expect(sink.fired.contains(Fired("b", 100, 110, 5)))
        a.push([Ev("a", 400)])
        try runner.pump()
        #expect(sink.fired.contains(Fired("a", 150, 160, 1)))
        a.finishAll()
        b.finishAll()
        try runner.pump()
        #expect(sink.fired.contains(Fired("b", 300, 310, 1)))
        #expect(runner.metric("late_records", "sum") == 0)
    }

    @Test func idleInputsNeverAdvanceTheWatermarkPastAnActivePromise() throws {
        let (a, b, runner, sink) = try unionJob(idleness: .milliseconds(100), start: 10_000)
        try runner.runUntilIdle()
        a.push([Ev("a", 5)])
        b.push([Ev("b", 50)])
        try runner.pump()
        try runner.advanceTime(by: .seconds(5))
        // Both are idle now. Whichever went idle first, the watermark cannot exceed 49 (B's
        // own promise): B's window [50,60) must not have fired.
        #expect(!sink.fired.contains { $0.key == "b" })
        a.finishAll()
        b.finishAll()
        try runner.pump()
        #expect(sink.firedSorted == [Fired("a", 0, 10, 1), Fired("b", 50, 60, 1)])
    }

    @Test func idleSplitOfOneSourceLetsTheOtherSplitDrive() throws {
        // One source with two splits (parallelism 2): split 1 stops producing.
        let feed = Feed<Ev>(splits: 2)
        let env = StreamEnvironment(name: "idle-split")
        let sink = CollectSink<WindowResult<String, Int>>()
        env.source("events", FedSource(feed), watermarks: WatermarkStrategy<Ev>.monotonousTimestamps { $0.t }.withIdleness(.milliseconds(200)))
            .keyBy { $0.key }
            .window(TumblingWindows(.milliseconds(10)))
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build(), parallelism: 2, clock: ManualClock(start: 1_000))
        try runner.runUntilIdle()
        feed.push([Ev("x", 3)], split: 1)
        feed.push([Ev("y", 1), Ev("y", 30)], split: 0)
        try runner.pump()
        #expect(sink.fired.isEmpty)  // split 1 holds the watermark at 2
        for i in 0..<5 {
            feed.push([Ev("y", 31 + Timestamp(i))], split: 0)
            try runner.pump(50)
        }
        // Split 1 has been silent for 250 ms: idle. Split 0 (watermark 34) drives.
        #expect(sink.firedSorted == [Fired("x", 0, 10, 1), Fired("y", 0, 10, 1)])
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired.map(\.value).reduce(0, +) == 8)
    }

    /// Bug: `StreamTask` uses `lastRecordTime == 0` as "no record seen yet", so a split whose
    /// last records were read at processing time 0 is only declared idle a whole timeout later.
    @Test func idlenessCountsFromRecordsReadAtProcessingTimeZero() throws {
        let (a, b, runner, sink) = try unionJob(idleness: .seconds(1), start: 0)
        a.push([Ev("a", 5)])
        b.push([Ev("b", 100)])
        try runner.runUntilIdle()  // both read at t = 0
        var t: Timestamp = 100
        for _ in 0..<10 {
            t += 1
            b.push([Ev("b", t)])
            try runner.pump(100)  // B keeps producing; A is silent
        }
        // t = 1000: A has been silent for 1000 ms and should be idle.
        #expect(runner.clock.currentTime == 1000)
        #expect(sink.fired.contains(Fired("a", 0, 10, 1)), "A was not declared idle after the timeout")
    }

    /// Bug: a reader that emits records and then reports `.waiting` (a poll-style reader)
    /// is never marked active, so `StreamTask` declares its split idle although it keeps
    /// producing; the other input then drives the watermark and the split's records are late.
    @Test func splitThatProducesOnEveryPollIsNotIdle() throws {
        let (a, b, runner, sink) = try unionJob(idleness: .milliseconds(500), waitingAfterBatch: true, retry: 100, start: 10_000)
        try runner.runUntilIdle()
        for i in 0..<30 {
            a.push([Ev("a", Timestamp(i))])  // A: one record per poll, every 100 ms
            b.push([Ev("b", 10_000 + Timestamp(i))])  // B is far ahead in event time
            try runner.pump(100)
        }
        a.finishAll()
        b.finishAll()
        try runner.pump(100)
        #expect(runner.metric("late_records", "sum") == 0)
        #expect(sink.fired.filter { $0.key == "a" }.map(\.value).reduce(0, +) == 30)
    }

    // MARK: End of input

    @Test func endOfInputFiresEveryEventTimeWindow() throws {
        // The last elements leave windows open at the last regular watermark; the end flushes them.
        let events = [Ev("a", 1), Ev("a", 1_000_000), Ev("b", 999_999)]
        let (sink, _, _) = try runWindowJob(events, TumblingWindows(.seconds(1)), bound: 10_000)
        #expect(sink.firedSorted == [
            Fired("a", 0, 1000, 1), Fired("a", 1_000_000, 1_001_000, 1), Fired("b", 999_000, 1_000_000, 1),
        ])
        let (sessions, _, _) = try runWindowJob(events, SessionWindows(gap: .seconds(36_000)), bound: 10_000_000)
        #expect(sessions.firedSorted == [Fired("a", 1, 1_000_000 + 36_000_000, 2), Fired("b", 999_999, 999_999 + 36_000_000, 1)])
    }
}
