/// One validated event from the creator platform's NDJSON stream.
///
/// Field presence follows the event kind (see `CreatorEventDecoder` for the
/// required fields of each); optional identifiers are nil when absent or
/// `null` on the wire. Identifiers arrive as JSON strings or integers and are
/// normalized to strings so that downstream keys have one type.
public struct CreatorEvent: Sendable, Hashable {
    /// Producer-assigned unique id of the event (non-empty); used for deduplication.
    public var eventId: String
    /// What happened.
    public var name: CreatorEventName
    /// When it happened: milliseconds since the Unix epoch, UTC.
    public var timestamp: Int64
    /// The acting user, if any.
    public var userId: String?
    /// The user's session, if reported.
    public var sessionId: String?
    /// The post involved, if any.
    public var postId: String?
    /// The creator involved (the post's author, the subscribed-to creator, or the payee).
    public var creatorId: String?
    /// The subscribing user, for `creatorSubscribed`.
    public var subscriberId: String?
    /// The new comment, for `commentSubmitted`.
    public var commentId: String?
    /// The amount paid, for `paymentSucceeded`, in units of `currency`.
    public var amount: Double?
    /// The ISO 4217-style currency code of `amount`, as sent.
    public var currency: String?

    /// Creates an event; all optional fields default to nil.
    public init(eventId: String, name: CreatorEventName, timestamp: Int64,
                userId: String? = nil, sessionId: String? = nil, postId: String? = nil,
                creatorId: String? = nil, subscriberId: String? = nil, commentId: String? = nil,
                amount: Double? = nil, currency: String? = nil) {
        self.eventId = eventId
        self.name = name
        self.timestamp = timestamp
        self.userId = userId
        self.sessionId = sessionId
        self.postId = postId
        self.creatorId = creatorId
        self.subscriberId = subscriberId
        self.commentId = commentId
        self.amount = amount
        self.currency = currency
    }
}
