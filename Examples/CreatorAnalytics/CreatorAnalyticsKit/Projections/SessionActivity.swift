/// What the session windows need of an event (see ``PostView`` for why the job sends
/// projections rather than events across its exchanges).
public struct SessionActivity: Sendable, Hashable {
    /// Whose session: the user, or else the session id.
    public var visitor: String
    /// When it happened (milliseconds since the epoch).
    public var timestamp: Int64
    /// The post viewed, for `post_viewed` events (nil for other events and views without a post).
    public var viewedPost: String?
    /// Whether the event is a `post_viewed` event.
    public var isPostView: Bool
    /// The event's referrer, if the decoder kept it (the live job's does).
    public var referrer: String?

    /// Creates an activity record.
    public init(visitor: String, timestamp: Int64, isPostView: Bool, viewedPost: String?, referrer: String? = nil) {
        self.referrer = referrer
        self.visitor = visitor
        self.timestamp = timestamp
        self.isPostView = isPostView
        self.viewedPost = viewedPost
    }

    /// The activity of `event`, or nil when it has neither a user nor a session.
    public init?(_ event: CreatorEvent) {
        guard let visitor = event.visitor else { return nil }
        let isView = event.name == .postViewed
        self.init(visitor: visitor, timestamp: event.timestamp, isPostView: isView, viewedPost: isView ? event.postId : nil,
                  referrer: event.referrer)
    }

    /// The activity of a replay event (which carries no referrer), or nil when it has no visitor.
    public init?(_ event: ReplayEvent) {
        guard let visitor = event.visitor else { return nil }
        let isView = event.name == .postViewed
        self.init(visitor: visitor, timestamp: event.timestamp, isPostView: isView, viewedPost: event.viewedPost)
    }
}
