import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Event-time tumbling windows, end to end through the embedded runner.
@Suite struct TumblingWindowTests {
    @Test func sumsPerKeyAndWindow() throws {
        let events = [Ev("a", 1, 1), Ev("a", 9, 2), Ev("b", 5, 10), Ev("a", 10, 4), Ev("b", 19, 20), Ev("a", 25, 8)]
        let (sink, _, _) = try runWindowJob(events, TumblingWindows(.milliseconds(10)))
        #expect(sink.firedSorted == [
            Fired("a", 0, 10, 3), Fired("a", 10, 20, 4), Fired("a", 20, 30, 8),
            Fired("b", 0, 10, 10), Fired("b", 10, 20, 20),
        ])
    }

    @Test func resultsCarryTheWindowsMaxTimestamp() throws {
        let (sink, _, _) = try runWindowJob([Ev("a", 3), Ev("a", 14)], TumblingWindows(.milliseconds(10)))
        let stamps = sink.timestampedResults.map { ($0.0.window.start, $0.1) }.sorted { $0.0 < $1.0 }
        #expect(stamps.map(\.1) == [9, 19])
    }

    @Test func negativeTimestamps() throws {
        let events = [Ev("a", -21), Ev("a", -11), Ev("a", -10), Ev("a", -1), Ev("a", 0), Ev("a", 9)]
        let (sink, _, _) = try runWindowJob(events, TumblingWindows(.milliseconds(10)))
        #expect(sink.firedSorted == [
            Fired("a", -30, -20, 1), Fired("a", -20, -10, 1), Fired("a", -10, 0, 2), Fired("a", 0, 10, 2),
        ])
    }

    @Test func offsetShiftsBoundaries() throws {
        let events = [Ev("a", 0), Ev("a", 2), Ev("a", 3), Ev("a", 12), Ev("a", 13), Ev("a", -8)]
        let (sink, _, _) = try runWindowJob(events, TumblingWindows(.milliseconds(10), offset: .milliseconds(3)), bound: 30)
        #expect(sink.firedSorted == [
            Fired("a", -17, -7, 1), Fired("a", -7, 3, 2), Fired("a", 3, 13, 2), Fired("a", 13, 23, 1),
        ])
    }

    @Test func outOfOrderWithinTheBoundIsCounted() throws {
        // Disorder up to 5 ms; every element is on time.
        let events = [Ev("a", 8), Ev("a", 12), Ev("a", 7), Ev("a", 15), Ev("a", 10), Ev("a", 11), Ev("a", 21), Ev("a", 16)]
        let (sink, late, runner) = try runWindowJob(events, TumblingWindows(.milliseconds(10)), bound: 5, chunk: 1,
                                                    lateTag: OutputTag<Ev>("late"))
        #expect(sink.firedSorted == [Fired("a", 0, 10, 2), Fired("a", 10, 20, 5), Fired("a", 20, 30, 1)])
        #expect(late.results.isEmpty)
        #expect(runner.metric("late_records", "sum") == 0)
    }

    @Test func eachWindowFiresExactlyOnceOnTime() throws {
        let events = (0..<500).map { Ev("k\($0 % 3)", Int64($0)) }
        let (sink, _, runner) = try runWindowJob(events, TumblingWindows(.milliseconds(20)), chunk: 7)
        let fired = sink.fired
        #expect(fired.allSatisfy { $0.kind == .onTime })
        #expect(Set(fired.map { "\($0.key)\($0.start)" }).count == fired.count)
        #expect(fired.map(\.value).reduce(0, +) == 500)
        #expect(runner.metric("windows_fired", "sum") == fired.count)
        #expect(runner.metric("records_in", "sum") == 500)
    }

    @Test func reduceAndProcessWindowFunctions() throws {
        let events = [Ev("a", 1, 5), Ev("a", 2, 7), Ev("a", 3, 1), Ev("b", 4, 2), Ev("a", 11, 9)]
        let env = StreamEnvironment(name: "reduce-process")
        let maxSink = CollectSink<WindowResult<String, Ev>>()
        let listSink = CollectSink<String>()
        let keyed = env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
        keyed.window(TumblingWindows(.milliseconds(10)))
            .reduce("max") { $0.v >= $1.v ? $0 : $1 }
            .sink("max-out", maxSink)
        keyed.window(TumblingWindows(.milliseconds(10)))
            .process("list") { (key: String, window: TimeWindow, elements: [Ev], firing: FiringKind, out: (String) -> Void) in
                out("\(key)\(window):\(elements.map(\.v))/\(firing)")
            }
            .sink("list-out", listSink)
        try EmbeddedRunner(graph: try env.build()).runToCompletion()
        let maxima = maxSink.results.map { "\($0.key)\($0.window)=\($0.value.v)" }.sorted()
        #expect(maxima == ["a[0, 10)=7", "a[10, 20)=9", "b[0, 10)=2"])
        #expect(listSink.results.sorted() == ["a[0, 10):[5, 7, 1]/onTime", "a[10, 20):[9]/onTime", "b[0, 10):[2]/onTime"])
    }

    @Test func countAggregate() throws {
        let events = (0..<30).map { Ev("a", Int64($0), 100) }
        let env = StreamEnvironment(name: "count")
        let sink = CollectSink<WindowResult<String, Int>>()
        env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .window(TumblingWindows(.milliseconds(10)))
            .aggregate("count", CountAggregate<Ev>())
            .sink("out", sink)
        try EmbeddedRunner(graph: try env.build()).runToCompletion()
        #expect(sink.firedSorted == [Fired("a", 0, 10, 10), Fired("a", 10, 20, 10), Fired("a", 20, 30, 10)])
    }
}
