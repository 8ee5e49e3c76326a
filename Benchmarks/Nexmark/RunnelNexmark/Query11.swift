import RunnelCore
import RunnelOperators

/// Nexmark q11, user sessions: each bidder's sessions of bids (10 s of event time without
/// a bid ends one) and how many bids each holds. The session's end is its last bid + 10 s.
public enum Query11 {
    /// The bidder sessions of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<BidderWindow> {
        events
            .flatMap("q11-bids") { event, out in if case .bid(let bid) = event { out(bid) } }
            .keyBy { $0.bidder }
            .window(SessionWindows(gap: .seconds(10)))
            .aggregate("q11-sessions", CountAggregate<Bid>())
            .map("q11-records") { BidderWindow(bidder: $0.key, bids: Int64($0.value), start: $0.window.start, end: $0.window.end) }
    }
}
