import RunnelCore
#if canImport(Glibc)
import Glibc
#endif

/// A rate-limited source that makes records with a function, for demos and load tests.
///
/// Subtask `i` of `p` makes the records with indices `i, i + p, i + 2p, …`; the rate is
/// the total over all subtasks. With a `count` the source is bounded.
///
/// Checkpointable when `make` is deterministic: a subtask records the index of its next
/// record, and a restored job, which must run at the parallelism of the one that recorded
/// it (with the same `make` and `count`, which the position does not record), goes on from
/// there.
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
        let subtask: Int
        let parallelism: Int
        /// The index of the next record this subtask makes.
        public private(set) var nextIndex: Int
        var emitted = 0
        var startedAt: Int64?

        init(source: GeneratorSource, subtask: Int, parallelism: Int) {
            self.source = source
            self.subtask = subtask
            self.parallelism = parallelism
            self.nextIndex = subtask
        }

        /// `parallelism, subtask, next index` as varints.
        public func checkpointPosition() throws -> (payload: [UInt8], summary: String) {
            var writer = BinaryWriter()
            writer.writeVarInt(Int64(parallelism))
            writer.writeVarInt(Int64(subtask))
            writer.writeVarInt(Int64(nextIndex))
            return (writer.bytes, "next record \(nextIndex)")
        }

        /// Takes this subtask's next index from the positions of a run at the same
        /// parallelism (each subtask's exactly once).
        public func restore(from positions: [[UInt8]]) throws {
            guard positions.count == parallelism else {
                throw SourceRestoreError(reason: "a generator source restores only at the parallelism it ran at (\(positions.count), now \(parallelism))")
            }
            var seen = Set<Int64>()
            for payload in positions {
                var reader = BinaryReader(payload)
                let p = try reader.readVarInt(), s = try reader.readVarInt(), n = try reader.readVarInt()
                guard p == Int64(parallelism), s >= 0, s < p, n >= 0, n % p == s, seen.insert(s).inserted else {
                    throw SourceRestoreError(reason: "bad generator position (parallelism \(p), subtask \(s), next \(n))")
                }
                if s == Int64(subtask) { nextIndex = Int(n) }
            }
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
