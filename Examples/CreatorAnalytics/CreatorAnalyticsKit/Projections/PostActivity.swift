/// What comment attribution (``CommentAttribution``) needs of an event about a post: who its
/// creator is, when an event names them, or that a comment was made. A projection, as
/// ``PostView`` is, so that the `post_id` exchange carries plain values rather than shared
/// event boxes.
public struct PostActivity: Sendable, Hashable {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        /// An event named the post's creator (`post_published`: its author; `post_viewed`:
        /// its `creator_id`).
        case creatorNamed(String)
        /// A comment was submitted on the post.
        case comment
    }

    /// The post.
    public var postId: String
    /// What happened.
    public var kind: Kind
    /// When (milliseconds since the epoch).
    public var timestamp: Int64

    /// Creates a record.
    public init(postId: String, kind: Kind, timestamp: Int64) {
        self.postId = postId
        self.kind = kind
        self.timestamp = timestamp
    }

    /// The record of `event`, or nil when it is not about a post or names nothing useful.
    public init?(_ event: CreatorEvent) {
        guard let postId = event.postId else { return nil }
        switch event.name {
        case .postPublished:
            guard let author = event.userId else { return nil }
            self.init(postId: postId, kind: .creatorNamed(author), timestamp: event.timestamp)
        case .postViewed:
            guard let creator = event.creatorId else { return nil }
            self.init(postId: postId, kind: .creatorNamed(creator), timestamp: event.timestamp)
        case .commentSubmitted:
            self.init(postId: postId, kind: .comment, timestamp: event.timestamp)
        default:
            return nil
        }
    }
}
