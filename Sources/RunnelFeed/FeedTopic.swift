import RunnelAuth

/// A topic of the live feed.
public enum FeedTopic: Hashable, Sendable, CustomStringConvertible {
    /// Every `post_views` result (platform-wide).
    case postViews
    /// Every `session` result (platform-wide).
    case sessions
    /// Platform counters.
    case platform
    /// The most viewed posts of the last ten minutes, every minute (public popularity:
    /// creators may subscribe too).
    case trending
    /// The `post_views` results of one creator's posts.
    case creator(String)

    /// Reads a topic name; nil for an unknown one.
    public init?(_ name: String) {
        switch name {
        case "post_views": self = .postViews
        case "sessions": self = .sessions
        case "platform": self = .platform
        case "trending": self = .trending
        default:
            guard name.hasPrefix("creator:"), name.count > "creator:".count else { return nil }
            self = .creator(String(name.dropFirst("creator:".count)))
        }
    }

    /// The topic's name on the wire.
    public var description: String {
        switch self {
        case .postViews: return "post_views"
        case .sessions: return "sessions"
        case .platform: return "platform"
        case .trending: return "trending"
        case .creator(let id): return "creator:" + id
        }
    }

    /// Whether the holder of `token` may subscribe: a creator to their own creator topic and
    /// to `trending`; an admin to everything.
    public func isAllowed(for token: AccessToken) -> Bool {
        switch (token.role, self) {
        case (.admin, _): return true
        case (.creator, .creator(let id)): return id == token.subject
        case (.creator, .trending): return true
        case (.creator, _): return false
        }
    }
}
