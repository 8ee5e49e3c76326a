import RunnelCore

/// The Nexmark queries Runnel runs, each built on the generated stream and ending in a
/// ``ChecksumSink``.
public enum NexmarkQuery: String, CaseIterable, Sendable {
    case q0, q1, q5, q7, q8, q11, q12

    /// What the query computes.
    public var summary: String {
        switch self {
        case .q0: "pass-through of every bid"
        case .q1: "currency conversion of every bid"
        case .q5: "hot items: most-bid auctions per 10 s sliding window every 2 s"
        case .q7: "highest bid per 10 s tumbling window"
        case .q8: "new users: persons who sell in the 10 s window they registered in"
        case .q11: "user sessions: bids per bidder session (10 s gap)"
        case .q12: "bids per bidder per 10 s of processing time"
        }
    }

    /// Whether the results depend only on the events (q12's depend on processing time).
    public var isDeterministic: Bool { self != .q12 }

    /// A job running the query over `source` (the generator, or a file of events), and a
    /// way to read its results' count and checksum once it has run; with `resultsPath`, the
    /// results are also written there as text, a line each.
    public func plan<S: Source>(source: S, resultsPath: String? = nil) throws
        -> (graph: JobGraph, totals: @Sendable () -> (count: Int, checksum: UInt64)) where S.Output == NexmarkEvent {
        let env = StreamEnvironment(name: "nexmark-\(rawValue)")
        let events = env.source("nexmark", source, watermarks: NexmarkSource.watermarks)
        func finish<R: NexmarkResult>(_ results: DataStream<R>) throws -> (graph: JobGraph, totals: @Sendable () -> (count: Int, checksum: UInt64)) {
            let sink = try ChecksumSink<R>(resultsPath: resultsPath)
            results.sink("blackhole", sink)
            return (try env.build(), { (sink.count, sink.checksum) })
        }
        switch self {
        case .q0: return try finish(Query0.build(events))
        case .q1: return try finish(Query1.build(events))
        case .q5: return try finish(Query5.build(events))
        case .q7: return try finish(Query7.build(events))
        case .q8: return try finish(Query8.build(events))
        case .q11: return try finish(Query11.build(events))
        case .q12: return try finish(Query12.build(events))
        }
    }
}
