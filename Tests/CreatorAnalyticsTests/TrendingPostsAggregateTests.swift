import CreatorAnalyticsKit
import RunnelCore
import Testing

/// The ten most viewed posts of a window.
@Suite struct TrendingPostsAggregateTests {
    static func counts(_ n: Int, seed: UInt64) -> [PostViewCount] {
        var state = seed
        return (0..<n).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return PostViewCount(postId: "p-\(i)", views: Int(state >> 58))  // 0…63: many ties
        }
    }

    /// The reference ranking: sort everything.
    static func ranking(_ counts: [PostViewCount], limit: Int) -> [PostViewCount] {
        Array(counts.sorted { $0.views != $1.views ? $0.views > $1.views : $0.postId < $1.postId }.prefix(limit))
    }

    @Test("keeps the top posts by views, ties by post id, whatever the order they come in", arguments: [1, 2, 3])
    func ranking(seed: UInt64) {
        let aggregate = TrendingPostsAggregate(limit: 10)
        let counts = Self.counts(500, seed: seed)
        var forward = aggregate.createAccumulator(), backward = aggregate.createAccumulator()
        for c in counts { aggregate.add(c, to: &forward) }
        for c in counts.reversed() { aggregate.add(c, to: &backward) }
        #expect(forward.posts == Self.ranking(counts, limit: 10))
        #expect(backward == forward)
        var few = aggregate.createAccumulator()
        for c in counts.prefix(3) { aggregate.add(c, to: &few) }
        #expect(few.posts == Self.ranking(Array(counts.prefix(3)), limit: 10))
    }

    @Test("partial rankings merge to the ranking of all; a ranking survives a checkpoint")
    func mergeAndRoundTrip() throws {
        let aggregate = TrendingPostsAggregate(limit: 10)
        let counts = Self.counts(300, seed: 7)
        var a = aggregate.createAccumulator(), b = aggregate.createAccumulator()
        for (i, c) in counts.enumerated() {
            if i % 3 == 0 { aggregate.add(c, to: &a) } else { aggregate.add(c, to: &b) }
        }
        aggregate.merge(b, into: &a)
        #expect(a.posts == Self.ranking(counts, limit: 10))
        var writer = BinaryWriter()
        a.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try TrendingPostsAggregate.Accumulator(from: &reader) == a)
        let record = TrendingPosts(windowStart: 0, windowEnd: 600_000, posts: Array(a.posts.prefix(2)))
        #expect(record.jsonText.hasPrefix(#"{"type":"trending_posts","window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:10:00.000Z","posts":[{"rank":1,"post_id":"#))
    }
}
