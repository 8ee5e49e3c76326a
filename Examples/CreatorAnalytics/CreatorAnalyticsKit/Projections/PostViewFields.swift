/// What ``PostViewsAggregate`` reads of a view of a post: a ``PostView`` (the live job's
/// projection of a whole event), or a ``ReplayEvent`` that is a `post_viewed` event.
///
/// The replay job sends its replay events across the `post_id` exchange as they are: a
/// replay event is a plain value already, and making a projection of it copied (retained)
/// its strings once more per record.
public protocol PostViewFields {
    /// Who viewed the post: the user, or else the session (nil when neither is known).
    var visitor: String? { get }
    /// The post's creator, if reported.
    var viewedCreator: String? { get }
}

extension PostView: PostViewFields {
    public var visitor: String? { viewer }
    public var viewedCreator: String? { creatorId }
}

extension ReplayEvent: PostViewFields {}
