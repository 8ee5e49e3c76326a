/// An item put up for auction (Nexmark's `Auction`).
public struct Auction: Sendable, Hashable {
    /// The auction's id (from ``NexmarkConfiguration/firstAuctionId`` on).
    public var id: Int64
    /// The item's name.
    public var itemName: String
    /// The item's description.
    public var description: String
    /// The opening bid, in cents.
    public var initialBid: Int64
    /// The reserve price, in cents.
    public var reserve: Int64
    /// Event time (milliseconds since the epoch).
    public var dateTime: Int64
    /// When the auction ends (milliseconds since the epoch).
    public var expires: Int64
    /// The seller (a person's id).
    public var seller: Int64
    /// The item's category.
    public var category: Int64
    /// Padding up to the configured average size.
    public var extra: String

    /// Creates a record.
    public init(id: Int64, itemName: String, description: String, initialBid: Int64, reserve: Int64, dateTime: Int64, expires: Int64, seller: Int64, category: Int64, extra: String) {
        self.id = id
        self.itemName = itemName
        self.description = description
        self.initialBid = initialBid
        self.reserve = reserve
        self.dateTime = dateTime
        self.expires = expires
        self.seller = seller
        self.category = category
        self.extra = extra
    }
}
