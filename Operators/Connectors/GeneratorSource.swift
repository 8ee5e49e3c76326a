import RunnelCore
#if canImport(Glibc)
import Glibc
#endif

/// A rate-limited source that makes records with a function, for demos and load tests.
///
/// Subtask `i` of `p` makes the records with indices `i, i + p, i + 2p, …`; the rate is
/// the total over all subtasks. With a `count` the source is bounded.
public struct GeneratorSource<Element>: Source, Sendable {
    /// Makes the record with a global index (deterministic generators give reproducible runs).
    public let make: @Sendable (Int) -> Element
    /// Records per second over all subtasks, or `nil` for as fast as possible.
    public let recordsPerSecond: Double?
    /// Total records, or `nil` for an unbounded source.
    public let count: Int?
    /// Milliseconds since the epoch (injectable for tests).
    public let clock: @Sendable () -> Int64

    /// Creates a generator.
    public init(count: Int? = nil, recordsPerSecond: Double? = nil,
                clock: @escaping @Sendable () -> Int64 = GeneratorSource.wallClockMilliseconds,
                make: @escaping @Sendable (Int) -> Element) {
        precondition(recordsPerSecond.map { $0 > 0 } ?? true, "rate must be positive")
        self.make = make
        self.recordsPerSecond = recordsPerSecond
        self.count = count
        self.clock = clock
    }

    /// The wall clock in milliseconds since the epoch.
    public static func wallClockMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        Reader(source: self, subtask: subtask, parallelism: parallelism)
    }

    /// Makes one subtask's share.
    public final class Reader: SourceReader {
        let source: GeneratorSource
        let parallelism: Int
        var nextIndex: Int
        var emitted = 0
        var startedAt: Int64?

        init(source: GeneratorSource, subtask: Int, parallelism: Int) {
            self.source = source
            self.parallelism = parallelism
            self.nextIndex = subtask
        }

        public func read(into output: SourceOutput<Element>, limit: Int) throws -> SourceReadStatus {
            var allowed = limit
            if let rate = source.recordsPerSecond {
                let now = source.clock()
                let start = startedAt ?? now
                startedAt = start
                let due = Int(Double(now - start + 1) * rate / 1000.0 / Double(parallelism)) + 1
                allowed = min(limit, due - emitted)
                if allowed <= 0 {
                    let perRecord = 1000.0 * Double(parallelism) / rate
                    return .waiting(retryAfterMilliseconds: max(1, Int64(perRecord)))
                }
            }
            for _ in 0..<allowed {
                if let count = source.count, nextIndex >= count { return .finished }
                output.emit(source.make(nextIndex))
                nextIndex += parallelism
                emitted += 1
            }
            if let count = source.count, nextIndex >= count { return .finished }
            return .more
        }
    }
}
