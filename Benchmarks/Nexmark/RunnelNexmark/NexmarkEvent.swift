/// One event of the Nexmark stream: a new person, a new auction or a bid, in the
/// proportions of ``NexmarkConfiguration`` (1 : 3 : 46 by default).
public enum NexmarkEvent: Sendable, Hashable {
    case person(Person)
    case auction(Auction)
    case bid(Bid)

    /// The event's time (milliseconds since the epoch).
    public var dateTime: Int64 {
        switch self {
        case .person(let p): p.dateTime
        case .auction(let a): a.dateTime
        case .bid(let b): b.dateTime
        }
    }

    /// The bid, if the event is one.
    public var bid: Bid? {
        if case .bid(let b) = self { return b }
        return nil
    }
}
