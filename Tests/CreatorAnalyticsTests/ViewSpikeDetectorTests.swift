import CreatorAnalyticsKit
import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// The custom keyed operator example: a post's minute of views against its trailing hour.
@Suite struct ViewSpikeDetectorTests {
    struct TimedView: Sendable { var view: PostView; var time: Int64 }

    static let minute: Int64 = 60_000

    /// `perMinute` views of `post` in each of `minutes` minutes from minute `from`.
    static func views(_ post: String, perMinute: Int, minutes: Range<Int64>, creator: String? = "c-1") -> [TimedView] {
        minutes.flatMap { m in
            (0..<perMinute).map { i in
                TimedView(view: PostView(postId: post, creatorId: creator, viewer: "u-\(i)"), time: m * minute + Int64(i) * 100)
            }
        }
    }

    static func run(_ input: [TimedView], parallelism: Int) throws -> [ViewSpike] {
        let env = StreamEnvironment(name: "spikes")
        let sink = CollectSink<ViewSpike>()
        env.source("views", CollectionSource(input.sorted { $0.time < $1.time }, chunk: 50),
                   watermarks: .boundedOutOfOrderness(.seconds(1)) { $0.time })
            .map("view") { $0.view }
            .keyBy { $0.postId }
            .process("view-spikes", ViewSpikeDetector())
            .sink("collect", sink)
        try EmbeddedRunner(graph: env.build(), parallelism: parallelism).runToCompletion()
        return sink.results.sorted { ($0.minuteStart, $0.postId) < ($1.minuteStart, $1.postId) }
    }

    @Test("a minute of more than 5× the trailing hourly average, and at least 20 views, is a spike; steady traffic, small bursts and late views are not", arguments: [1, 2])
    func spikes(parallelism: Int) throws {
        var input = Self.views("p-steady", perMinute: 3, minutes: 0..<90)                 // never
        input += Self.views("p-1", perMinute: 1, minutes: 0..<60)                         // average 1/min
        input += Self.views("p-1", perMinute: 30, minutes: 60..<61)                       // 30 > 5 × 1: spike
        input += Self.views("p-2", perMinute: 2, minutes: 0..<60)
        input += Self.views("p-2", perMinute: 9, minutes: 60..<61)                        // > 5 × 2 but under 20: none
        input += Self.views("p-new", perMinute: 25, minutes: 70..<71, creator: "c-9")     // no history: spike
        input += Self.views("p-3", perMinute: 4, minutes: 0..<60)
        input += Self.views("p-3", perMinute: 20, minutes: 60..<61)                       // 20 = 5 × 4, not above: none
        let spikes = try Self.run(input, parallelism: parallelism)
        #expect(spikes == [
            ViewSpike(postId: "p-1", creatorId: "c-1", minuteStart: 60 * Self.minute, views: 30, trailingAverage: 1),
            ViewSpike(postId: "p-new", creatorId: "c-9", minuteStart: 70 * Self.minute, views: 25, trailingAverage: 0),
        ])
        #expect(spikes[0].jsonText == #"{"type":"view_spike","post_id":"p-1","creator_id":"c-1","minute_start":"1970-01-01T01:00:00.000Z","views":30,"trailing_average":1.00}"#)
    }

    @Test("only the hour before a minute counts: views from two hours earlier are forgotten")
    func trailingHourOnly() throws {
        // Busy from nothing: minute k has 50 views against 50·k/60 a minute before it, a
        // spike while k < 12, so each of these ten minutes.
        var input = Self.views("p-1", perMinute: 50, minutes: 0..<10)
        input += Self.views("p-1", perMinute: 25, minutes: 130..<131)    // quiet for two hours, then a burst
        let spikes = try Self.run(input, parallelism: 1)
        #expect(spikes.map(\.minuteStart) == (0..<10).map { $0 * Self.minute } + [130 * Self.minute])
        #expect(spikes[9].trailingAverage == 7.5)
        #expect(spikes.last?.trailingAverage == 0, "the busy minutes of two hours before are forgotten")
    }
}
