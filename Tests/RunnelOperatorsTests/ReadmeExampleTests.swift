import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

// The custom operator shown in the README, compiled and run, so the README cannot rot.

struct Click: Sendable { var user: String; var time: Int64 }

/// Emits a user's click count one minute (event time) after their first click.
final class ClicksPerMinute: KeyedProcessFunction {
    var count: ValueState<Int>!

    func open(_ context: KeyedRuntimeContext<String>) throws {
        count = context.state(ValueStateDescriptor<Int>("count"))
    }

    func processElement(_ click: Click, context: KeyedProcessContext<String, String>, out: Collector<String>) {
        if count.value == nil { context.registerEventTimeTimer(click.time + 60_000) }
        count.modify(default: 0) { $0 += 1 }
    }

    func onTimer(_ time: Int64, context: KeyedProcessContext<String, String>, out: Collector<String>) {
        out.collect("\(context.currentKey): \(count.value ?? 0) clicks")
        count.clear()
    }
}

@Suite struct ReadmeExampleTests {
    @Test func clicksPerMinute() throws {
        let clicks = [
            Click(user: "ana", time: 0), Click(user: "ana", time: 30_000), Click(user: "ana", time: 59_999),
            Click(user: "bo", time: 100_000),  // moves the watermark to 94 999: ana's timer (60 000) fires
            Click(user: "ana", time: 120_000), Click(user: "bo", time: 130_000),
        ]
        let env = StreamEnvironment(name: "clicks")
        let sink = CollectSink<String>()
        // One record per read, so the watermark advances after every click.
        env.source("clicks", CollectionSource(clicks, chunk: 1), watermarks: .boundedOutOfOrderness(.seconds(5)) { $0.time })
            .keyBy { $0.user }
            .process("clicks-per-minute", ClicksPerMinute())
            .sink("collect", sink)
        try EmbeddedRunner(graph: env.build(), parallelism: 1).runToCompletion()
        #expect(sink.results == ["ana: 3 clicks", "bo: 2 clicks", "ana: 1 clicks"])
    }
}
