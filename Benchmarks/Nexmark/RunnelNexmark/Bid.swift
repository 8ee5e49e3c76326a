/// A bid on an auction (Nexmark's `Bid`).
public struct Bid: Sendable, Hashable {
    /// The auction bid on.
    public var auction: Int64
    /// The bidder (a person's id).
    public var bidder: Int64
    /// The price, in cents.
    public var price: Int64
    /// Event time (milliseconds since the epoch).
    public var dateTime: Int64
    /// Padding up to the configured average size.
    public var extra: String

    /// Creates a record.
    public init(auction: Int64, bidder: Int64, price: Int64, dateTime: Int64, extra: String) {
        self.auction = auction
        self.bidder = bidder
        self.price = price
        self.dateTime = dateTime
        self.extra = extra
    }
}
