/// What a creator's per-minute metrics count of an event.
public struct CreatorActivity: Sendable, Hashable {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        case view
        case comment
        case subscription(paid: Bool)
        case payment(amount: Double, currency: String)
    }

    /// The creator it counts for.
    public var creatorId: String
    /// What it is.
    public var kind: Kind

    /// Creates one.
    public init(creatorId: String, kind: Kind) {
        self.creatorId = creatorId
        self.kind = kind
    }

    /// The activity of a view, subscription or payment that names its creator; nil for
    /// other events (a comment names only its post: see ``CommentAttribution``).
    public init?(_ event: CreatorEvent) {
        guard let creator = event.creatorId else { return nil }
        switch event.name {
        case .postViewed:
            self.init(creatorId: creator, kind: .view)
        case .creatorSubscribed:
            self.init(creatorId: creator, kind: .subscription(paid: event.paidSubscription ?? false))
        case .paymentSucceeded:
            guard let amount = event.amount, let currency = event.currency else { return nil }
            self.init(creatorId: creator, kind: .payment(amount: amount, currency: currency))
        default:
            return nil
        }
    }
}
