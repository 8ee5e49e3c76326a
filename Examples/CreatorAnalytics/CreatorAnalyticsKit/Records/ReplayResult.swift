import RunnelCore
import RunnelJSON

/// A result line of `creator-analytics replay`.
public enum ReplayResult: Sendable, Hashable {
    /// Views of one post in one 1-minute window.
    case postViews(PostViews)
    /// One closed user session.
    case session(SessionSummary)

    /// Writes the record as one JSON object.
    public func encode(into json: inout JSONWriter) {
        switch self {
        case .postViews(let v): v.encode(into: &json)
        case .session(let s): s.encode(into: &json)
        }
    }
}

/// Views of one post in one tumbling window.
public struct PostViews: Sendable, Hashable {
    /// The window's start (ms).
    public var windowStart: Timestamp
    /// The window's end (ms, exclusive).
    public var windowEnd: Timestamp
    /// The post.
    public var postId: String
    /// The post's creator (empty when no view named one).
    public var creatorId: String
    /// Views in the window.
    public var views: Int
    /// Distinct viewers in the window.
    public var uniqueViewers: Int

    /// Creates a record.
    public init(windowStart: Timestamp, windowEnd: Timestamp, postId: String, creatorId: String, views: Int, uniqueViewers: Int) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.postId = postId
        self.creatorId = creatorId
        self.views = views
        self.uniqueViewers = uniqueViewers
    }

    /// Writes `{"type":"post_views",…}`.
    public func encode(into json: inout JSONWriter) {
        json.beginObject()
        json.key("type"); json.string("post_views")
        json.key("window_start"); json.timestamp(millis: windowStart)
        json.key("window_end"); json.timestamp(millis: windowEnd)
        json.key("post_id"); json.string(postId)
        json.key("creator_id"); json.string(creatorId)
        json.key("views"); json.int(views)
        json.key("unique_viewers"); json.int(uniqueViewers)
        json.endObject()
    }
}

/// One closed session of one user (or anonymous session).
public struct SessionSummary: Sendable, Hashable {
    /// The user id, or the session id for anonymous sessions.
    public var sessionKey: String
    /// Time of the first event (ms).
    public var start: Timestamp
    /// Time of the last event (ms).
    public var end: Timestamp
    /// Events in the session.
    public var events: Int
    /// Post views in the session.
    public var postViews: Int
    /// Distinct posts viewed.
    public var distinctPosts: Int

    /// Creates a record.
    public init(sessionKey: String, start: Timestamp, end: Timestamp, events: Int, postViews: Int, distinctPosts: Int) {
        self.sessionKey = sessionKey
        self.start = start
        self.end = end
        self.events = events
        self.postViews = postViews
        self.distinctPosts = distinctPosts
    }

    /// The session's length in seconds.
    public var durationSeconds: Double { Double(end - start) / 1000 }

    /// The referrer of the session's first event, in the live job (nil: none, or not kept).
    public var entryReferrer: String?

    /// Writes `{"type":"session",…}` (replay's contract).
    public func encode(into json: inout JSONWriter) {
        encode(into: &json, live: false)
    }

    /// Writes the record; `live` adds what the live job reports besides replay's fields:
    /// `bounce` (one post view and nothing else) and `entry_referrer` (null when none).
    public func encode(into json: inout JSONWriter, live: Bool) {
        json.beginObject()
        json.key("type"); json.string("session")
        json.key("session_key"); json.string(sessionKey)
        json.key("session_start"); json.timestamp(millis: start)
        json.key("session_end"); json.timestamp(millis: end)
        json.key("duration_s"); json.decimal(end - start, fractionDigits: 3)
        json.key("events"); json.int(events)
        json.key("post_views"); json.int(postViews)
        json.key("distinct_posts"); json.int(distinctPosts)
        if live {
            json.key("bounce"); json.bool(events == 1 && postViews == 1)
            json.key("entry_referrer")
            if let entryReferrer { json.string(entryReferrer) } else { json.null() }
        }
        json.endObject()
    }
}
