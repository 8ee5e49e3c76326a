import RunnelCore
import RunnelOperators
import RunnelRuntime
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

private struct Reading: Sendable, Hashable {
    var sensor: Int
    var time: Timestamp
    var value: Int
}

/// A sink that is deliberately slow, to provoke backpressure.
private final class SlowSink: Sink, Sendable {
    let count = Atomic<Int>(0)
    func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(sink: self) }
    final class Writer: SinkWriter {
        let sink: SlowSink
        var n = 0
        init(sink: SlowSink) { self.sink = sink }
        func write(_ value: Reading, timestamp: Timestamp) throws {
            n += 1
            if n % 256 == 0 { usleep(1000) }
            sink.count.add(1, ordering: .relaxed)
        }
        func finish() throws {}
    }
}

@Suite(.timeLimit(.minutes(2))) struct JobRunnerTests {
    private func readings(_ n: Int) -> [Reading] {
        // Out of order within 2 s: every 10th reading is 1.5 s late.
        (0..<n).map { i in
            let t = Int64(i) * 10 - (i % 10 == 0 ? 1500 : 0)
            return Reading(sensor: i % 13, time: t, value: i % 100)
        }
    }

    private func windowedSums(_ input: [Reading], parallelism: Int) throws -> [WindowResult<Int, Int>] {
        let env = StreamEnvironment(name: "sums")
        let sink = CollectSink<WindowResult<Int, Int>>()
        env.source("readings", CollectionSource(input), watermarks: .boundedOutOfOrderness(.seconds(2)) { $0.time })
            .keyBy { $0.sensor }
            .window(TumblingWindows(.seconds(5)))
            .aggregate("sum", SumAggregate<Reading, Int> { $0.value })
            .sink("collect", sink)
        try JobRunner(graph: env.build(), options: .init(parallelism: parallelism)).run()
        return sink.results
    }

    @Test func resultsDoNotDependOnParallelism() throws {
        let input = readings(50_000)
        let key: (WindowResult<Int, Int>) -> String = { "\($0.key)/\($0.window.start)/\($0.value)" }
        let one = try windowedSums(input, parallelism: 1).map(key).sorted()
        let two = try windowedSums(input, parallelism: 2).map(key).sorted()
        let four = try windowedSums(input, parallelism: 4).map(key).sorted()
        #expect(!one.isEmpty)
        #expect(one == two)
        #expect(one == four)
        // And they are right: compare with a direct computation.
        var expected: [String: Int] = [:]
        for r in input { expected["\(r.sensor)/\(windowStartOf(r.time))", default: 0] += r.value }
        #expect(one == expected.map { "\($0.key)/\($0.value)" }.sorted())
    }

    private func windowStartOf(_ t: Timestamp) -> Timestamp {
        let r = t % 5000
        return t - (r < 0 ? r + 5000 : r)
    }

    @Test func slowSinkBoundsQueuesAndLosesNothing() throws {
        let n = 200_000
        let env = StreamEnvironment(name: "backpressure")
        let sink = SlowSink()
        env.source("gen", GeneratorSource(count: n) { i in Reading(sensor: i % 97, time: Int64(i), value: 1) },
                   watermarks: .monotonousTimestamps { $0.time })
            .keyBy { $0.sensor }
            .process("identity", Identity())
            .sink("slow", sink)
        var options = JobRunner.Options(parallelism: 2)
        options.plan.batchSize = 256  // ~780 batches in all: far more than the queues may hold
        let runner = JobRunner(graph: try env.build(), options: options)
        try runner.run()
        #expect(sink.count.load(ordering: .relaxed) == n)
        let queued = runner.metrics.gaugeValues()[MetricsRegistry.Name(operatorName: "identity", metric: "max_input_queue_batches")] ?? []
        let capacity = options.plan.channelCapacity
        // Without backpressure the queue would hold up to n / batchSize ≈ 780 batches.
        #expect(!queued.isEmpty)
        #expect(queued.allSatisfy { $0 <= Int64(capacity * 2 + 24) }, "queues: \(queued)")
    }

    @Test func sinkFailureFailsTheJob() throws {
        struct Boom: Error {}
        final class FailingSink: Sink, Sendable {
            func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer() }
            final class Writer: SinkWriter {
                func write(_ value: Reading, timestamp: Timestamp) throws { throw Boom() }
                func finish() throws {}
            }
        }
        let env = StreamEnvironment(name: "fails")
        env.source("r", CollectionSource(readings(100)), watermarks: .monotonousTimestamps { $0.time })
            .sink("boom", FailingSink())
        #expect(throws: Boom.self) { try JobRunner(graph: env.build(), options: .init(parallelism: 2)).run() }
    }
}

private final class Identity: KeyedProcessFunction {
    typealias Key = Int
    func processElement(_ value: Reading, context: KeyedProcessContext<Int, Reading>, out: Collector<Reading>) {
        out.collect(value)
    }
}

@Suite struct JobRunnerAllocatorTests {
    @Test func allocatorStatisticsReachTheJobMetrics() throws {
        let env = StreamEnvironment(name: "alloc")
        let sink = CollectSink<Int>()
        env.source("n", CollectionSource(Array(0..<1000)), watermarks: .monotonousTimestamps { Int64($0) })
            .map("double") { $0 * 2 }
            .sink("collect", sink)
        let runner = JobRunner(graph: try env.build(), options: .init(parallelism: 1))
        let result = try runner.run()
        #expect(sink.results.count == 1000)
        // jemalloc is linked into every binary that uses the runtime, test binaries included.
        let stats = try #require(result.allocator)
        #expect(stats.allocatedBytes > 0)
        let gauges = runner.metrics.gaugeValues()
        let allocated = gauges[MetricsRegistry.Name(operatorName: "runtime", metric: "allocator_allocated_bytes")] ?? []
        #expect(allocated.first.map { $0 > 0 } ?? false)
    }
}
