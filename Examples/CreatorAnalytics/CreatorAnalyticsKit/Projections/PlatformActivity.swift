/// What the platform-wide counters need of an event.
///
/// Every event feeds the platform counters, so all of them cross one exchange to the
/// single subtask that owns the platform key; a small value (a kind, an id, an amount)
/// crosses instead of the event (see ``PostView`` for why a projection is cheaper).
public struct PlatformActivity: Sendable, Hashable {
    /// What happened.
    public var kind: CreatorEventName
    /// The acting user (logged in), counted among the minute's active users.
    public var userId: String?
    /// The visitor's session key — the user, or else the session (as the session windows
    /// key them) — counted among the minute's active sessions.
    public var sessionKey: String?
    /// The amount paid, for payments.
    public var amount: Double?
    /// The currency of `amount`.
    public var currency: String?
    /// For registrations: signed up as a creator; for subscriptions: paid.
    public var flag: Bool
    /// The device dimension.
    public var device: DeviceClass?

    /// Creates an activity record.
    public init(kind: CreatorEventName, userId: String?, sessionKey: String?, amount: Double?, currency: String?, flag: Bool = false,
                device: DeviceClass? = nil) {
        self.flag = flag
        self.device = device
        self.kind = kind
        self.userId = userId
        self.sessionKey = sessionKey
        self.amount = amount
        self.currency = currency
    }

    /// The activity of `event`.
    public init(_ event: CreatorEvent) {
        self.init(kind: event.name, userId: event.name == .creatorSubscribed ? event.subscriberId ?? event.userId : event.userId,
                  sessionKey: event.visitor,
                  amount: event.name == .paymentSucceeded ? event.amount : nil, currency: event.currency,
                  flag: event.name == .userRegistered ? event.creatorRole == true : event.paidSubscription == true,
                  device: event.device)
    }
}
