/// What the post-view windows need of a `post_viewed` event.
///
/// The live job projects events to this before the `post_id` exchange rather than sending
/// the whole event: an event is one shared, reference-counted box, and when two threads
/// retain and release the same box its reference count's cache line travels between the
/// cores on every step. A projection is a plain value (ids of up to 15 bytes are stored
/// inline by `String`), owned by the thread that receives it. (The replay job's
/// ``ReplayEvent`` is a plain value already and crosses as it is; see ``PostViewFields``.)
public struct PostView: Sendable, Hashable {
    /// The post viewed.
    public var postId: String
    /// The post's creator, if reported.
    public var creatorId: String?
    /// Who viewed it: the user, or else the session (nil when neither is known).
    public var viewer: String?

    /// Creates a view record.
    public init(postId: String, creatorId: String?, viewer: String?) {
        self.postId = postId
        self.creatorId = creatorId
        self.viewer = viewer
    }

    /// The view record of `event`, or nil unless it is a `post_viewed` event with a post.
    public init?(_ event: CreatorEvent) {
        guard event.name == .postViewed, let postId = event.postId else { return nil }
        self.init(postId: postId, creatorId: event.creatorId, viewer: event.visitor)
    }

    /// The view record of a replay event, or nil unless it is a `post_viewed` event with a post.
    public init?(_ event: ReplayEvent) {
        guard event.name == .postViewed, let postId = event.viewedPost else { return nil }
        self.init(postId: postId, creatorId: event.viewedCreator, viewer: event.visitor)
    }
}
