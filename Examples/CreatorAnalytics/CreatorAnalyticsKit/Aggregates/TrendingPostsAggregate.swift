import RunnelCore

/// A post's views in one sliding window: what the trending ranking ranks.
public struct PostViewCount: Sendable, Hashable {
    /// The post.
    public var postId: String
    /// Its views in the window.
    public var views: Int

    /// Creates one.
    public init(postId: String, views: Int) {
        self.postId = postId
        self.views = views
    }
}

/// The `limit` posts with the most views (ties: the smaller post id first, so the ranking
/// does not depend on arrival order). Each post's count arrives once per window (a final
/// window result), so keeping only the best `limit` is exact.
public struct TrendingPostsAggregate: AggregateFunction, Sendable {
    /// How many posts the ranking keeps.
    public let limit: Int

    /// Creates the aggregate keeping the top `limit` posts.
    public init(limit: Int = 10) {
        precondition(limit > 0, "a ranking keeps at least one post")
        self.limit = limit
    }

    /// The ranking so far, best first.
    public struct Accumulator: Sendable, Equatable {
        /// The posts, best first.
        public var posts: [PostViewCount] = []
    }

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ count: PostViewCount, to acc: inout Accumulator) {
        // Ranked before: more views, or as many and a smaller id.
        func ahead(_ a: PostViewCount, _ b: PostViewCount) -> Bool { a.views != b.views ? a.views > b.views : a.postId < b.postId }
        if acc.posts.count == limit, let last = acc.posts.last, !ahead(count, last) { return }
        let index = acc.posts.firstIndex { ahead(count, $0) } ?? acc.posts.endIndex
        acc.posts.insert(count, at: index)
        if acc.posts.count > limit { acc.posts.removeLast() }
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        for post in other.posts { add(post, to: &acc) }
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

extension TrendingPostsAggregate.Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(posts.count))
        for post in posts {
            writer.writeString(post.postId)
            writer.write(post.views)
        }
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        for _ in 0..<(try reader.readCount()) {
            posts.append(PostViewCount(postId: try reader.read(), views: try reader.read()))
        }
    }
}
