import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

struct Click: Sendable, Hashable {
    var user: String
    var time: Timestamp
}

@Suite struct TumblingWindowSmokeTests {
    @Test(arguments: [1, 2, 3])
    func countsPerKeyAndWindow(parallelism: Int) throws {
        let clicks = (0..<1000).map { i in Click(user: "u\(i % 7)", time: Int64(i) * 100) }
        let env = StreamEnvironment(name: "smoke")
        let sink = CollectSink<WindowResult<String, Int>>()
        env.source("clicks", CollectionSource(clicks), watermarks: .boundedOutOfOrderness(.seconds(1)) { $0.time })
            .keyBy { $0.user }
            .window(TumblingWindows(.seconds(10)))
            .aggregate("count", CountAggregate<Click>())
            .sink("collect", sink)
        let runner = try EmbeddedRunner(graph: try env.build(), parallelism: parallelism)
        try runner.runToCompletion()
        var expected: [String: Int] = [:]
        for c in clicks { expected["\(c.user)@\(c.time / 10_000)", default: 0] += 1 }
        var actual: [String: Int] = [:]
        for r in sink.results {
            #expect(r.firing == .onTime)
            actual["\(r.key)@\(r.window.start / 10_000)", default: 0] += r.value
        }
        #expect(actual == expected)
        #expect(sink.finishedCount == parallelism)
    }
}
