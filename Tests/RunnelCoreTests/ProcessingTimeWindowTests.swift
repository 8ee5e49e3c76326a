import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Processing-time windows driven by the embedded runner's manual clock.
@Suite struct ProcessingTimeWindowTests {
    private func job(_ feed: Feed<Ev>, start: Timestamp = 0, assigner: some WindowAssigner)
    throws -> (EmbeddedRunner, CollectSink<WindowResult<String, Int>>) {
        let env = StreamEnvironment(name: "pt")
        let sink = CollectSink<WindowResult<String, Int>>()
        env.source("events", FedSource(feed), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .window(assigner)
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build(), clock: ManualClock(start: start))
        try runner.runUntilIdle()
        return (runner, sink)
    }

    @Test func tumblingWindowsFireAsTheClockPassesTheirEnd() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, assigner: TumblingWindows(.seconds(1), domain: .processingTime))
        // Event timestamps are irrelevant: they are far in the past and out of order.
        feed.push([Ev("a", 50_000), Ev("a", 3), Ev("b", -7)])
        try runner.pump()  // processed at t=1 → window [0, 1000)
        try runner.advanceTime(by: .milliseconds(500))
        feed.push([Ev("a", 1, 10)])
        try runner.pump()  // t=502
        try runner.advanceTime(by: .milliseconds(496))  // t=998
        #expect(sink.fired.isEmpty)
        try runner.advanceTime(by: .milliseconds(1))  // t=999 = max timestamp
        #expect(sink.firedSorted == [Fired("a", 0, 1000, 12), Fired("b", 0, 1000, 1)])

        feed.push([Ev("a", 0, 100)])
        try runner.pump()  // t=1000 → window [1000, 2000)
        try runner.advanceTime(by: .milliseconds(998))  // t=1998
        #expect(sink.fired.count == 2)
        try runner.advanceTime(by: .milliseconds(1))
        #expect(sink.fired.last == Fired("a", 1000, 2000, 100))
        #expect(sink.fired.count == 3)
        #expect(sink.fired.allSatisfy { $0.kind == .onTime })
    }

    @Test func clockJumpOverSeveralWindowsFiresEachOnce() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, assigner: TumblingWindows(.milliseconds(100), domain: .processingTime))
        feed.push([Ev("a", 0)])
        try runner.pump()  // t=1 → [0,100)
        try runner.advanceTime(by: .milliseconds(149))
        feed.push([Ev("a", 0)])
        try runner.pump()  // t=151 → [100,200)
        try runner.advanceTime(by: .seconds(10))
        #expect(sink.fired == [Fired("a", 0, 100, 1), Fired("a", 100, 200, 1)])
    }

    @Test func endOfBoundedInputFlushesProcessingTimeWindows() throws {
        let env = StreamEnvironment(name: "pt-flush")
        let sink = CollectSink<WindowResult<String, Int>>()
        let events = (0..<10).map { Ev("k\($0 % 2)", Int64($0)) }
        env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .window(TumblingWindows(.seconds(3600), domain: .processingTime))
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let clock = ManualClock(start: 5000)
        let runner = try EmbeddedRunner(graph: try env.build(), clock: clock)
        try runner.runToCompletion()
        #expect(clock.currentTime == 5000)  // no time had to pass
        #expect(sink.firedSorted == [Fired("k0", 0, 3_600_000, 5), Fired("k1", 0, 3_600_000, 5)])
        #expect(sink.finishedCount == 1)
    }

    @Test func endOfInputFlushesProcessingTimeWindowsAtEveryParallelism() throws {
        for p in [1, 2, 4] {
            let env = StreamEnvironment(name: "pt-flush-\(p)")
            let sink = CollectSink<WindowResult<String, Int>>()
            let events = (0..<400).map { Ev("k\($0 % 13)", Int64($0)) }
            env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
                .keyBy { $0.key }
                .window(SlidingWindows(size: .seconds(120), slide: .seconds(60), domain: .processingTime))
                .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
                .sink("out", sink)
            try EmbeddedRunner(graph: try env.build(), parallelism: p).runToCompletion()
            // Processed at t=0: the windows [-60000, 60000) and [0, 120000).
            #expect(sink.fired.count == 26, "parallelism \(p)")
            #expect(sink.fired.map(\.value).reduce(0, +) == 800, "parallelism \(p)")
        }
    }
}
