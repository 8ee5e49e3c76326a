import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Windowed results must not depend on the parallelism or the exchange tuning.
@Suite struct ParallelismTests {
    /// 3000 events over 23 keys, timestamps out of order by at most `bound`.
    private func events(bound: Int64, jump: Int64 = 7, seed: UInt64 = 42) -> [Ev] {
        var rng = SplitMix(seed: seed)
        var maxSeen: Timestamp = 0
        var out: [Ev] = []
        for _ in 0..<3000 {
            let step = Int64(rng.next() % UInt64(bound + jump + 1)) - bound  // in [-bound, jump]
            let t = maxSeen + step
            maxSeen = max(maxSeen, t)
            out.append(Ev("k\(rng.next() % 23)", t, Int(rng.next() % 10)))
        }
        return out
    }

    private func results<A: WindowAssigner>(_ assigner: A, _ input: [Ev], bound: Int64, p: Int,
                                            options: ExecutionPlan.Options = ExecutionPlan.Options()) throws -> [Fired] {
        let (sink, _, runner) = try runWindowJob(input, assigner, bound: bound, parallelism: p, chunk: 64, options: options)
        #expect(runner.metric("late_records", "sum") == 0)
        #expect(sink.finishedCount == p)
        return sink.firedSorted
    }

    @Test func tumblingIsIndependentOfParallelism() throws {
        let input = events(bound: 50)
        let one = try results(TumblingWindows(.milliseconds(100)), input, bound: 50, p: 1)
        #expect(one.map(\.value).reduce(0, +) == input.map(\.v).reduce(0, +))
        for p in [2, 4] {
            #expect(try results(TumblingWindows(.milliseconds(100)), input, bound: 50, p: p) == one, "parallelism \(p)")
        }
    }

    @Test func slidingIsIndependentOfParallelism() throws {
        let input = events(bound: 30)
        let assigner = SlidingWindows(size: .milliseconds(60), slide: .milliseconds(20))
        let one = try results(assigner, input, bound: 30, p: 1)
        #expect(one.map(\.value).reduce(0, +) == 3 * input.map(\.v).reduce(0, +))
        for p in [2, 4] {
            #expect(try results(assigner, input, bound: 30, p: p) == one, "parallelism \(p)")
        }
    }

    @Test func sessionsAreIndependentOfParallelism() throws {
        let input = events(bound: 40, jump: 300)
        let assigner = SessionWindows(gap: .milliseconds(1500))
        let one = try results(assigner, input, bound: 40, p: 1)
        #expect(one.map(\.value).reduce(0, +) == input.map(\.v).reduce(0, +))
        #expect(one.count > 100)  // sessions do break up
        #expect(one.count < 2000)  // and do merge
        for p in [2, 4] {
            #expect(try results(assigner, input, bound: 40, p: p) == one, "parallelism \(p)")
        }
    }

    @Test func tinyBatchesAndChannelsGiveTheSameResults() throws {
        // Batches of 3 records and channels of one batch: backpressure on every step.
        var options = ExecutionPlan.Options()
        options.batchSize = 3
        options.channelCapacity = 1
        let input = events(bound: 20, seed: 9)
        let assigner = TumblingWindows(.milliseconds(50))
        let reference = try results(assigner, input, bound: 20, p: 1)
        for p in [1, 2, 4] {
            #expect(try results(assigner, input, bound: 20, p: p, options: options) == reference, "parallelism \(p)")
        }
    }

    @Test func fewerKeyGroupsThanDefault() throws {
        var options = ExecutionPlan.Options()
        options.maxParallelism = 4
        let input = events(bound: 10, seed: 3)
        let assigner = TumblingWindows(.milliseconds(100))
        let reference = try results(assigner, input, bound: 10, p: 1)
        for p in [2, 4] {
            #expect(try results(assigner, input, bound: 10, p: p, options: options) == reference, "parallelism \(p)")
        }
    }

    @Test func earlyFiringFinalResultsAreIndependentOfParallelism() throws {
        func finals(_ p: Int) throws -> [Fired] {
            let env = StreamEnvironment(name: "early-\(p)")
            let sink = CollectSink<WindowResult<String, Int>>()
            env.source("events", CollectionSource(events(bound: 25), chunk: 32), watermarks: .boundedOutOfOrderness(.milliseconds(25)) { $0.t })
                .keyBy { $0.key }
                .window(TumblingWindows(.milliseconds(200)))
                .trigger(EarlyFiringTrigger(every: .milliseconds(10)))
                .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
                .sink("out", sink)
            try EmbeddedRunner(graph: try env.build(), parallelism: p).runToCompletion()
            return sink.firedSorted.filter { $0.kind.isFinal }
        }
        let one = try finals(1)
        #expect(!one.isEmpty)
        #expect(try finals(2) == one)
        #expect(try finals(4) == one)
    }
}
