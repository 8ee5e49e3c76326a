import RunnelCore
import RunnelJSON

/// The most viewed posts of a sliding window: the `trending` topic's record.
public struct TrendingPosts: Sendable, Equatable {
    /// The window's start (ms).
    public var windowStart: Timestamp
    /// The window's end (ms, exclusive).
    public var windowEnd: Timestamp
    /// The posts, most viewed first.
    public var posts: [PostViewCount]

    /// Creates a record.
    public init(windowStart: Timestamp, windowEnd: Timestamp, posts: [PostViewCount]) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.posts = posts
    }

    /// Writes `{"type":"trending_posts","window_start":…,"window_end":…,"posts":[{"rank":1,"post_id":…,"views":N},…]}`.
    public func encode(into json: inout JSONWriter) {
        json.beginObject()
        json.key("type"); json.string("trending_posts")
        json.key("window_start"); json.timestamp(millis: windowStart)
        json.key("window_end"); json.timestamp(millis: windowEnd)
        json.key("posts")
        json.beginArray()
        for (rank, post) in posts.enumerated() {
            json.beginObject()
            json.key("rank"); json.int(rank + 1)
            json.key("post_id"); json.string(post.postId)
            json.key("views"); json.int(post.views)
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }

    /// The record as one JSON object's text.
    public var jsonText: String {
        var json = JSONWriter(capacity: 64 + posts.count * 48)
        encode(into: &json)
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
