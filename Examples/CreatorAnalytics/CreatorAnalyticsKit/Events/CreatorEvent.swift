/// One validated event from the creator platform's NDJSON stream.
///
/// Field presence follows the event kind (see `CreatorEventDecoder` for the
/// required fields of each); optional identifiers are nil when absent or
/// `null` on the wire. Identifiers arrive as JSON strings or integers and are
/// normalized to strings so that downstream keys have one type.
///
/// A value type whose fields live in one copy-on-write box: events are copied into
/// every batch that crosses threads and out of it again, and a copy then costs one
/// reference count instead of one per string field.
public struct CreatorEvent: Sendable, Hashable {
    private final class Storage: @unchecked Sendable {
        // @unchecked: mutated only through `CreatorEvent`'s setters, which copy the box first
        // unless it is uniquely referenced (so a shared box is never mutated).
        var eventKey: EventIDKey
        var name: CreatorEventName
        var timestamp: Int64
        var userId: String?
        var sessionId: String?
        var postId: String?
        var creatorId: String?
        var subscriberId: String?
        var commentId: String?
        var amount: Double?
        var currency: String?
        var paidSubscription: Bool?
        var creatorRole: Bool?
        var device: DeviceClass?
        var referrer: String?

        init(eventKey: EventIDKey, name: CreatorEventName, timestamp: Int64, userId: String?, sessionId: String?,
             postId: String?, creatorId: String?, subscriberId: String?, commentId: String?, amount: Double?, currency: String?,
             paidSubscription: Bool?, creatorRole: Bool?, device: DeviceClass?, referrer: String?) {
            self.eventKey = eventKey
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
            self.paidSubscription = paidSubscription
            self.creatorRole = creatorRole
            self.device = device
            self.referrer = referrer
        }

        func copy() -> Storage {
            Storage(eventKey: eventKey, name: name, timestamp: timestamp, userId: userId, sessionId: sessionId, postId: postId,
                    creatorId: creatorId, subscriberId: subscriberId, commentId: commentId, amount: amount, currency: currency,
                    paidSubscription: paidSubscription, creatorRole: creatorRole, device: device, referrer: referrer)
        }
    }

    private var storage: Storage

    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    /// Producer-assigned unique id of the event (non-empty); used for deduplication.
    public var eventId: String { get { storage.eventKey.text } set { unique().eventKey = EventIDKey(newValue) } }
    /// The event id as the job keys it (no string for UUID ids).
    public var eventKey: EventIDKey { get { storage.eventKey } set { unique().eventKey = newValue } }
    /// What happened.
    public var name: CreatorEventName { get { storage.name } set { unique().name = newValue } }
    /// When it happened: milliseconds since the Unix epoch, UTC.
    public var timestamp: Int64 { get { storage.timestamp } set { unique().timestamp = newValue } }
    /// The acting user, if any.
    public var userId: String? { get { storage.userId } set { unique().userId = newValue } }
    /// The user's session, if reported.
    public var sessionId: String? { get { storage.sessionId } set { unique().sessionId = newValue } }
    /// The post involved, if any.
    public var postId: String? { get { storage.postId } set { unique().postId = newValue } }
    /// The creator involved (the post's author, the subscribed-to creator, or the payee).
    public var creatorId: String? { get { storage.creatorId } set { unique().creatorId = newValue } }
    /// The subscribing user, for `creatorSubscribed`.
    public var subscriberId: String? { get { storage.subscriberId } set { unique().subscriberId = newValue } }
    /// The new comment, for `commentSubmitted`.
    public var commentId: String? { get { storage.commentId } set { unique().commentId = newValue } }
    /// The amount paid, for `paymentSucceeded`, in units of `currency`.
    public var amount: Double? { get { storage.amount } set { unique().amount = newValue } }
    /// The ISO 4217-style currency code of `amount`, as sent.
    public var currency: String? { get { storage.currency } set { unique().currency = newValue } }
    /// For `creatorSubscribed`: whether the subscription is paid (`subscription_type` `paid`)
    /// or free (`free`); nil when absent or another value.
    public var paidSubscription: Bool? { get { storage.paidSubscription } set { unique().paidSubscription = newValue } }
    /// For `userRegistered`: whether the user signed up as a creator (`role` `creator`) or a
    /// reader (`reader`); nil when absent or another value.
    public var creatorRole: Bool? { get { storage.creatorRole } set { unique().creatorRole = newValue } }
    /// The device dimension (``DeviceClass``): from `device_type`, else derived from `platform`.
    public var device: DeviceClass? { get { storage.device } set { unique().device = newValue } }

    /// The referring URL (`referrer`), when the decoder keeps it (the live job does, for
    /// sessions' entry referrers; replay does not); nil when absent or empty.
    public var referrer: String? { get { storage.referrer } set { unique().referrer = newValue } }

    /// Who acted, as sessions and distinct viewers count them: the user, or else (anonymous
    /// traffic) the session; nil when the event names neither.
    public var visitor: String? { userId ?? sessionId }

    /// Creates an event; all optional fields default to nil.
    public init(eventId: String, name: CreatorEventName, timestamp: Int64,
                userId: String? = nil, sessionId: String? = nil, postId: String? = nil,
                creatorId: String? = nil, subscriberId: String? = nil, commentId: String? = nil,
                amount: Double? = nil, currency: String? = nil, paidSubscription: Bool? = nil, creatorRole: Bool? = nil,
                device: DeviceClass? = nil, referrer: String? = nil) {
        self.init(eventKey: EventIDKey(eventId), name: name, timestamp: timestamp, userId: userId, sessionId: sessionId,
                  postId: postId, creatorId: creatorId, subscriberId: subscriberId, commentId: commentId,
                  amount: amount, currency: currency, paidSubscription: paidSubscription, creatorRole: creatorRole, device: device,
                  referrer: referrer)
    }

    /// Creates an event from an already parsed id.
    public init(eventKey: EventIDKey, name: CreatorEventName, timestamp: Int64,
                userId: String? = nil, sessionId: String? = nil, postId: String? = nil,
                creatorId: String? = nil, subscriberId: String? = nil, commentId: String? = nil,
                amount: Double? = nil, currency: String? = nil, paidSubscription: Bool? = nil, creatorRole: Bool? = nil,
                device: DeviceClass? = nil, referrer: String? = nil) {
        storage = Storage(eventKey: eventKey, name: name, timestamp: timestamp, userId: userId, sessionId: sessionId,
                          postId: postId, creatorId: creatorId, subscriberId: subscriberId, commentId: commentId,
                          amount: amount, currency: currency, paidSubscription: paidSubscription, creatorRole: creatorRole,
                          device: device, referrer: referrer)
    }

    public static func == (a: CreatorEvent, b: CreatorEvent) -> Bool {
        if a.storage === b.storage { return true }
        return a.eventKey == b.eventKey && a.name == b.name && a.timestamp == b.timestamp && a.userId == b.userId
            && a.sessionId == b.sessionId && a.postId == b.postId && a.creatorId == b.creatorId
            && a.subscriberId == b.subscriberId && a.commentId == b.commentId && a.amount == b.amount
            && a.currency == b.currency && a.paidSubscription == b.paidSubscription && a.creatorRole == b.creatorRole && a.device == b.device
            && a.referrer == b.referrer
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(eventKey)
        hasher.combine(name)
        hasher.combine(timestamp)
        hasher.combine(userId)
        hasher.combine(sessionId)
        hasher.combine(postId)
        hasher.combine(creatorId)
        hasher.combine(subscriberId)
        hasher.combine(commentId)
        hasher.combine(amount)
        hasher.combine(currency)
        hasher.combine(paidSubscription)
        hasher.combine(creatorRole)
        hasher.combine(referrer)
        hasher.combine(device)
    }
}
