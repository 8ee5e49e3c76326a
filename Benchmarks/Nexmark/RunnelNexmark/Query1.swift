import RunnelCore

/// A bid with its price converted to euros (q1).
public struct EuroBid: Sendable, Hashable, NexmarkResult {
    public var auction: Int64
    public var bidder: Int64
    /// The price in thousandths of a euro cent: dollars × 0.908, exactly.
    public var priceMilliEuroCents: Int64
    public var dateTime: Int64
    public var extra: String

    /// Creates a record.
    public init(auction: Int64, bidder: Int64, priceMilliEuroCents: Int64, dateTime: Int64, extra: String) {
        self.auction = auction
        self.bidder = bidder
        self.priceMilliEuroCents = priceMilliEuroCents
        self.dateTime = dateTime
        self.extra = extra
    }

    public var resultText: String { "\(auction)\t\(bidder)\t\(priceMilliEuroCents)\t\(dateTime)\t\(extra)" }

    public var stableHash: UInt64 {
        var h = FieldHasher()
        h.add(auction)
        h.add(bidder)
        h.add(priceMilliEuroCents)
        h.add(dateTime)
        h.add(extra)
        return h.value
    }
}

/// Nexmark q1, currency conversion: every bid with its price in euros (× 0.908).
public enum Query1 {
    /// The converted bids of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<EuroBid> {
        events.flatMap("q1-euros") { event, out in
            guard case .bid(let bid) = event else { return }
            out(EuroBid(auction: bid.auction, bidder: bid.bidder, priceMilliEuroCents: bid.price * 908, dateTime: bid.dateTime, extra: bid.extra))
        }
    }
}
