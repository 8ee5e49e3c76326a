import RunnelCore

/// A bidder's bids in one window: a session (q11) or 10 s of processing time (q12).
public struct BidderWindow: Sendable, Hashable, NexmarkResult {
    public var bidder: Int64
    public var bids: Int64
    public var start: Int64
    public var end: Int64

    /// Creates a record.
    public init(bidder: Int64, bids: Int64, start: Int64, end: Int64) {
        self.bidder = bidder
        self.bids = bids
        self.start = start
        self.end = end
    }

    public var resultText: String { "\(bidder)\t\(bids)\t\(start)\t\(end)" }

    public var stableHash: UInt64 {
        var h = FieldHasher()
        h.add(bidder)
        h.add(bids)
        h.add(start)
        h.add(end)
        return h.value
    }
}
