import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Splits even and odd values, reporting the watermark it saw with each element.
private final class SplitParity: ProcessFunction {
    static let odd = OutputTag<Ev>("odd")
    func processElement(_ value: Ev, context: ProcessContext, out: Collector<String>) {
        if value.v % 2 == 0 {
            out.collect("\(value.v)@wm\(context.currentWatermark == Watermark.initial ? "-" : String(context.currentWatermark))")
        } else {
            context.output(Self.odd, value)
        }
    }
}

/// Sends elements with a negative value to a side output, the rest on.
private final class KeyedRouter: KeyedProcessFunction {
    typealias Key = String
    static let negative = OutputTag<Ev>("negative")
    func processElement(_ value: Ev, context: KeyedProcessContext<String, Ev>, out: Collector<Ev>) {
        if value.v < 0 { context.output(Self.negative, value) } else { out.collect(value) }
    }
}

/// The graph API and the plumbing of a whole job: stateless steps, side outputs, metrics,
/// chaining and the embedded runner.
@Suite struct StreamGraphTests {
    @Test func statelessStepsAndStepNames() throws {
        let env = StreamEnvironment(name: "stateless")
        let sink = CollectSink<Int>()
        env.source("numbers", CollectionSource((1...10).map { Ev("k", Timestamp($0), $0) }), watermarks: .monotonousTimestamps { $0.t })
            .filter("evens") { $0.v % 2 == 0 }
            .map("square") { $0.v * $0.v }
            .flatMap("twice") { v, emit in emit(v); emit(-v) }
            .sink("out", sink)
        let graph = try env.build()
        #expect(graph.name == "stateless")
        #expect(graph.stepNames == ["numbers", "evens", "square", "twice", "out"])
        let runner = try EmbeddedRunner(graph: graph)
        try runner.runToCompletion()
        #expect(sink.results == [4, -4, 16, -16, 36, -36, 64, -64, 100, -100])
        #expect(sink.timestampedResults.map(\.1) == [2, 2, 4, 4, 6, 6, 8, 8, 10, 10])
        #expect(runner.metric("records_in", "evens") == 10)
        #expect(runner.metric("records_out", "evens") == 5)
        #expect(runner.metric("records_out", "twice") == 10)
        #expect(runner.metric("records_in", "out") == 10)
        // Forward steps are chained into the source's task.
        #expect(runner.plan.tasks.count == 1)
    }

    @Test func processFunctionSideOutputAndWatermark() throws {
        let env = StreamEnvironment(name: "process")
        let evens = CollectSink<String>()
        let odds = CollectSink<Ev>()
        let split = env.source("numbers", CollectionSource((1...6).map { Ev("k", Timestamp($0 * 10), $0) }, chunk: 2),
                               watermarks: .monotonousTimestamps { $0.t })
            .process("split", SplitParity())
        split.sink("evens", evens)
        split.sideOutput(SplitParity.odd).sink("odds", odds)
        try EmbeddedRunner(graph: try env.build()).runToCompletion()
        // Reads of two elements; the watermark follows each read.
        #expect(evens.results == ["2@wm-", "4@wm19", "6@wm39"])
        #expect(odds.results.map(\.v) == [1, 3, 5])
        #expect(odds.timestampedResults.map(\.1) == [10, 30, 50])
    }

    @Test func keyedSideOutputAndDroppedSideOutputs() throws {
        let events = [Ev("a", 1, 1), Ev("b", 2, -2), Ev("a", 3, -3), Ev("c", 4, 4)]
        // Consumed side output.
        do {
            let env = StreamEnvironment(name: "keyed-side")
            let main = CollectSink<Ev>()
            let negative = CollectSink<Ev>()
            let routed = env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
                .keyBy { $0.key }
                .process("route", KeyedRouter())
            routed.sink("main", main)
            routed.sideOutput(KeyedRouter.negative).sink("negative", negative)
            let runner = try EmbeddedRunner(graph: try env.build(), parallelism: 2)
            try runner.runToCompletion()
            #expect(Set(main.results) == [Ev("a", 1, 1), Ev("c", 4, 4)])
            #expect(Set(negative.results) == [Ev("b", 2, -2), Ev("a", 3, -3)])
            #expect(runner.metric("side_output_dropped", "route") == 0)
        }
        // Unconsumed side output: dropped and counted.
        do {
            let env = StreamEnvironment(name: "keyed-side-dropped")
            let main = CollectSink<Ev>()
            env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
                .keyBy { $0.key }
                .process("route", KeyedRouter())
                .sink("main", main)
            let runner = try EmbeddedRunner(graph: try env.build())
            try runner.runToCompletion()
            #expect(main.results.count == 2)
            #expect(runner.metric("side_output_dropped", "route") == 2)
        }
    }

    @Test func oneStreamFeedsSeveralConsumers() throws {
        let env = StreamEnvironment(name: "fan-out")
        let a = CollectSink<Ev>(), b = CollectSink<WindowResult<String, Int>>()
        let source = env.source("events", CollectionSource((0..<20).map { Ev("k\($0 % 2)", Timestamp($0)) }),
                                watermarks: .monotonousTimestamps { $0.t })
        source.sink("raw", a)
        source.keyBy { $0.key }.window(TumblingWindows(.milliseconds(10))).aggregate("count", CountAggregate<Ev>()).sink("counts", b)
        try EmbeddedRunner(graph: try env.build(), parallelism: 2).runToCompletion()
        #expect(a.results.count == 20)
        #expect(b.firedSorted == [Fired("k0", 0, 10, 5), Fired("k0", 10, 20, 5), Fired("k1", 0, 10, 5), Fired("k1", 10, 20, 5)])
    }

    @Test func windowResultsFlowIntoAnotherWindow() throws {
        // Per-key counts per 10 ms, then the total per 20 ms across keys: the first window's
        // results carry their max timestamp and the watermark, so the second one is exact.
        let env = StreamEnvironment(name: "two-stage")
        let sink = CollectSink<WindowResult<String, Int>>()
        let events = (0..<100).map { Ev("k\($0 % 3)", Timestamp($0)) }
        env.source("events", CollectionSource(events, chunk: 9), watermarks: .boundedOutOfOrderness(.milliseconds(5)) { $0.t })
            .keyBy { $0.key }
            .window(TumblingWindows(.milliseconds(10)))
            .aggregate("per-key", CountAggregate<Ev>())
            .keyBy { _ in "all" }
            .window(TumblingWindows(.milliseconds(20)))
            .aggregate("total", SumAggregate<WindowResult<String, Int>, Int> { $0.value })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build(), parallelism: 3)
        try runner.runToCompletion()
        let expected: [Fired] = (0..<5).map { (i: Int) -> Fired in
            let start = Timestamp(i) * 20
            return Fired("all", start, start + 20, 20)
        }
        #expect(sink.firedSorted == expected)
        #expect(runner.metric("late_records", "total") == 0)
    }

    @Test func runnerReportsAStalledJob() throws {
        let feed = Feed<Ev>(retryMilliseconds: 400)
        let env = StreamEnvironment(name: "stalled")
        env.source("events", FedSource(feed), watermarks: .monotonousTimestamps { $0.t }).sink("out", CollectSink<Ev>())
        let runner = try EmbeddedRunner(graph: try env.build())
        #expect(throws: EmbeddedRunnerError.self) { try runner.runToCompletion(maxTimeAdvance: .seconds(2)) }
        #expect(!runner.isFinished)
    }

    @Test func manualClockRunsCallbacksInTimeOrder() {
        let clock = ManualClock(start: 100)
        var log: [String] = []
        clock.schedule(at: 300) { log.append("300@\($0)") }
        clock.schedule(at: 200) { log.append("200@\($0)") }
        clock.schedule(at: 200) { log.append("200b@\($0)") }
        clock.schedule(at: 50) { log.append("50@\($0)") }  // already due: runs at the next advance
        #expect(clock.pendingCallbacks == 4)
        clock.advance(by: .milliseconds(150))
        #expect(log == ["50@100", "200@200", "200b@200"])
        #expect(clock.currentTime == 250)
        clock.advance(to: 1000)
        #expect(log.last == "300@300")
        #expect(clock.pendingCallbacks == 0)
    }
}
