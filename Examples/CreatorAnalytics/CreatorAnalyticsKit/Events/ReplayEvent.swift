/// What the replay job reads of an event: its id, kind and time, who acted, and for a
/// `post_viewed` event the post and its creator.
///
/// The replay job decodes lines into this rather than into a ``CreatorEvent``, as Flink
/// SQL's JSON format materializes only the columns a query uses. The line is checked in
/// full all the same (the same rules and reasons as ``CreatorEventDecoder/decode(_:)``);
/// only the fields no window reads are left undecoded. That spares per event:
/// - the heap box of a `CreatorEvent`, allocated on the reading thread and freed on
///   another after the `event_id` exchange;
/// - the `session_id` string (38 bytes, so on the heap) when the event has a `user_id`,
///   which then names the visitor.
///
/// A plain value: ids of up to 15 bytes are stored inline by `String`.
public struct ReplayEvent: Sendable, Hashable {
    /// The event id, as deduplication keys it.
    public var eventKey: EventIDKey
    /// What happened.
    public var name: CreatorEventName
    /// When it happened: milliseconds since the Unix epoch, UTC.
    public var timestamp: Int64
    /// Who acted: the `user_id`, or else the `session_id` (nil when neither is there).
    public var visitor: String?
    /// The viewed post, for `post_viewed` events (nil for other kinds).
    public var viewedPost: String?
    /// The viewed post's creator, for `post_viewed` events (nil for other kinds).
    public var viewedCreator: String?

    // No initializer of the fields is written here, so that the compiler's memberwise one
    // (internal) builds events: the written one stored each field into a stack copy of the
    // event and returned a copy of that (every id retained, then the original released:
    // about 170 instructions a decoded line, 2 % of the replay's).
}

extension ReplayEvent {
    /// The replay fields of a whole event.
    public init(_ event: CreatorEvent) {
        let isView = event.name == .postViewed
        self.init(eventKey: event.eventKey, name: event.name, timestamp: event.timestamp, visitor: event.visitor,
                  viewedPost: isView ? event.postId : nil, viewedCreator: isView ? event.creatorId : nil)
    }
}
