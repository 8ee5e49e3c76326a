import RunnelCore
import RunnelOperators

/// Nexmark q12, processing-time windows: each bidder's bids per 10 s of processing time.
/// The results depend on the machine's speed (their checksum is not comparable between runs).
public enum Query12 {
    /// The per-bidder processing-time counts of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<BidderWindow> {
        events
            .flatMap("q12-bids") { event, out in if case .bid(let bid) = event { out(bid) } }
            .keyBy { $0.bidder }
            .window(TumblingWindows(.seconds(10), domain: .processingTime))
            .aggregate("q12-windows", CountAggregate<Bid>())
            .map("q12-records") { BidderWindow(bidder: $0.key, bids: Int64($0.value), start: $0.window.start, end: $0.window.end) }
    }
}
