import Foundation

/// Posts event lines to a collector in batches at a target rate (`creator-analytics load`):
/// a batch the collector refuses with 503 (its queue is full) is sent again after
/// `Retry-After`, as well-behaved clients do, and so is a batch that got no answer (the
/// collector is down or restarting: the connection failed or closed), with a growing pause,
/// for up to ``giveUpAfter`` seconds without an answer. The collector's deduplication drops
/// whatever of such a batch had arrived. The collector's counts are added up.
public final class EventLoader {
    /// Where the load stands.
    public struct Progress: Sendable {
        /// Lines posted and taken by the collector (accepted or rejected as invalid).
        public var sent = 0
        /// Events the collector accepted.
        public var accepted = 0
        /// Lines it rejected as invalid (they are in its dead-letter file).
        public var rejected = 0
        /// Batches sent again after a 503.
        public var retries = 0
        /// Batches sent again because the collector did not answer.
        public var resends = 0
        /// Seconds since the first batch.
        public var seconds = 0.0
        /// Events per second so far.
        public var rate: Double { seconds > 0 ? Double(sent) / seconds : 0 }
    }

    /// The collector refused a batch for another reason than load.
    public struct LoadError: Error, CustomStringConvertible {
        public var description: String
    }

    private let client: CollectorClient
    private let rate: Double
    private let batchSize: Int
    private let report: (Progress) -> Void
    /// Seconds without any answer from the collector before the load gives up.
    public let giveUpAfter: Double
    private var batch: [UInt8] = []
    private var inBatch = 0
    private var started: Date?
    /// The counts so far.
    public private(set) var progress = Progress()

    /// A loader posting through `client`, `batchSize` lines at a time, at `rate` lines per
    /// second (0: as fast as the collector takes them); `report` runs after every batch.
    public init(client: CollectorClient, rate: Double, batchSize: Int = 500, giveUpAfter: Double = 60,
                report: @escaping (Progress) -> Void = { _ in }) {
        precondition(batchSize > 0 && rate >= 0 && giveUpAfter >= 0)
        self.giveUpAfter = giveUpAfter
        self.client = client
        self.rate = rate
        self.batchSize = batchSize
        self.report = report
    }

    /// Adds one line (without newline); posts a full batch.
    public func add(_ line: some Collection<UInt8>) throws {
        batch.append(contentsOf: line)
        batch.append(0x0A)
        inBatch += 1
        if inBatch == batchSize { try flush() }
    }

    /// Posts what is left; returns the totals.
    @discardableResult
    public func finish() throws -> Progress {
        try flush()
        return progress
    }

    private func flush() throws {
        guard inBatch > 0 else { return }
        let start = started ?? Date()
        started = start
        if rate > 0 {
            // Pace: this batch may go once the previous ones have had their share of time.
            let due = Double(progress.sent) / rate - Date().timeIntervalSince(start)
            if due > 0 { Thread.sleep(forTimeInterval: due) }
        }
        var unanswered: Date?
        var pause = 0.05
        while true {
            let response: CollectorClient.Response
            do {
                response = try client.post(batch)
            } catch let error as CollectorClient.ClientError where error.isConnectionFailure {
                let since = unanswered ?? Date()
                unanswered = since
                guard Date().timeIntervalSince(since) < giveUpAfter else { throw error }
                progress.resends += 1
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 2)
                continue
            }
            unanswered = nil
            if response.status == 202 {
                let counts = (try? JSONSerialization.jsonObject(with: Data(response.body.utf8))) as? [String: Any]
                progress.accepted += counts?["accepted"] as? Int ?? 0
                progress.rejected += counts?["rejected"] as? Int ?? 0
                break
            }
            guard response.status == 503 else {
                throw LoadError(description: "the collector answered \(response.status): \(response.body.prefix(300))")
            }
            progress.retries += 1
            Thread.sleep(forTimeInterval: Double(response.headers["retry-after"] ?? "1").map { min(max($0, 0.05), 10) } ?? 1)
        }
        progress.sent += inBatch
        progress.seconds = Date().timeIntervalSince(start)
        batch.removeAll(keepingCapacity: true)
        inBatch = 0
        report(progress)
    }
}
