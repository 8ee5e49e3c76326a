import RunnelCore

extension Bid: NexmarkResult {
    public var resultText: String { "\(auction)\t\(bidder)\t\(price)\t\(dateTime)\t\(extra)" }

    public var stableHash: UInt64 {
        var h = FieldHasher()
        h.add(auction)
        h.add(bidder)
        h.add(price)
        h.add(dateTime)
        h.add(extra)
        return h.value
    }
}

/// Nexmark q0, pass-through: every bid, unchanged — the cost of the source, the
/// exchange-free pipeline and the sink.
public enum Query0 {
    /// The bids of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<Bid> {
        events.flatMap("q0-bids") { event, out in if case .bid(let bid) = event { out(bid) } }
    }
}
