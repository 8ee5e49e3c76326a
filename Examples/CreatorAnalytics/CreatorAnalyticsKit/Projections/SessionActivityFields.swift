/// What ``SessionAggregate`` reads of an event in a session: a ``SessionActivity`` (the
/// live job's projection of a whole event), or a ``ReplayEvent`` with a visitor (see
/// ``PostViewFields`` for why the replay job sends its events as they are).
public protocol SessionActivityFields {
    /// When it happened (milliseconds since the epoch).
    var timestamp: Int64 { get }
    /// Whether the event is a `post_viewed` event.
    var isPostView: Bool { get }
    /// The post viewed, for `post_viewed` events (nil for other events and views without a post).
    var viewedPost: String? { get }
    /// The event's referrer, if the event carries it.
    var referrer: String? { get }
}

extension SessionActivity: SessionActivityFields {}

extension ReplayEvent: SessionActivityFields {
    public var isPostView: Bool { name == .postViewed }
    /// Always nil: the replay job does not decode referrers.
    public var referrer: String? { nil }
}
