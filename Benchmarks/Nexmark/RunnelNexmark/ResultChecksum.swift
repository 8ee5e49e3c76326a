import RunnelCore
import RunnelOperators
import Synchronization

/// A query result that can be folded into an order-independent checksum.
public protocol NexmarkResult: Sendable {
    /// A hash of the result's fields, the same in every process and run.
    var stableHash: UInt64 { get }
    /// The result's fields as text, separated by tabs (integers in decimal, times in epoch
    /// milliseconds), to compare with another engine's results.
    var resultText: String { get }
}

/// Combines hashes of fields (a multiply-and-mix over 64-bit words).
public struct FieldHasher {
    private var state: UInt64 = 0x243F_6A88_85A3_08D3

    /// A new hasher.
    public init() {}

    /// Adds an integer.
    public mutating func add(_ value: Int64) {
        state = StableHash.mix(state &* 0x100_0000_01B3 ^ UInt64(bitPattern: value))
    }

    /// Adds a string (by its UTF-8 bytes).
    public mutating func add(_ value: String) { add(Int64(bitPattern: value.stableHash)) }

    /// The hash.
    public var value: UInt64 { state }
}

/// A sink that drops results after folding them into a count and an order-independent
/// checksum (the wrapping sum of their hashes): Nexmark's blackhole sink, with a way to
/// check that two runs, or two systems, produced the same results.
public final class ChecksumSink<Element: NexmarkResult>: Sink, Sendable {
    private let totals = Mutex((count: 0, checksum: UInt64(0)))
    private let keepResults: Bool
    private let kept = Mutex<[Element]>([])
    /// Where each result's ``NexmarkResult/resultText`` goes, a line each, if anywhere.
    let output: SharedFileOutput?

    /// Creates the sink; `keepResults` also keeps every result (for tests); with
    /// `resultsPath`, each result is also written to that file as a line of text.
    public init(keepResults: Bool = false, resultsPath: String? = nil) throws {
        self.keepResults = keepResults
        output = try resultsPath.map { try SharedFileOutput(path: $0) }
    }

    /// Results received.
    public var count: Int { totals.withLock { $0.count } }
    /// The wrapping sum of their hashes.
    public var checksum: UInt64 { totals.withLock { $0.checksum } }
    /// The results, when kept.
    public var results: [Element] { kept.withLock { $0 } }

    public func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(sink: self) }

    fileprivate func add(count: Int, checksum: UInt64, results: [Element]) {
        totals.withLock {
            $0.count += count
            $0.checksum &+= checksum
        }
        if keepResults { kept.withLock { $0.append(contentsOf: results) } }
    }

    /// One subtask's share: counts locally, adds to the sink's totals at the end.
    public final class Writer: SinkWriter {
        let sink: ChecksumSink
        private var count = 0
        private var checksum: UInt64 = 0
        private var results: [Element] = []
        private var text: [UInt8] = []

        init(sink: ChecksumSink) { self.sink = sink }

        public func write(_ value: Element, timestamp: Timestamp) throws {
            count += 1
            checksum &+= value.stableHash
            if sink.keepResults { results.append(value) }
            if let output = sink.output {
                text.append(contentsOf: value.resultText.utf8)
                text.append(UInt8(ascii: "\n"))
                if text.count >= 1 << 20 {
                    try output.append(text)
                    text.removeAll(keepingCapacity: true)
                }
            }
        }

        public func finish() throws {
            if let output = sink.output, !text.isEmpty {
                try output.append(text)
                text.removeAll()
            }
            try sink.output?.sync()
            flush()
        }
        public func close() { flush() }

        private func flush() {
            sink.add(count: count, checksum: checksum, results: results)
            count = 0
            checksum = 0
            results = []
        }
    }
}
