import RunnelCore

/// The Nexmark stream as a Runnel source, made in process by ``NexmarkGenerator``: subtask
/// `i` of `p` makes events `i, i + p, i + 2p, …` up to ``count``, each stamped with its event
/// time, which increases along a subtask's events (so its watermark can follow them with no
/// delay). Checkpointable: a subtask records the number of its next event; a restored job
/// must run at the parallelism of the one that recorded it, with the same count and
/// configuration (which the position does not record).
public struct NexmarkSource: Source, Sendable {
    /// The generator.
    public let generator: NexmarkGenerator
    /// Events in all.
    public let count: Int64

    /// Creates the source of `count` events.
    public init(count: Int64, configuration: NexmarkConfiguration = NexmarkConfiguration()) {
        self.count = count
        generator = NexmarkGenerator(configuration: configuration)
    }

    /// Watermarks that follow each subtask's events exactly.
    public static var watermarks: WatermarkStrategy<NexmarkEvent> {
        .monotonousTimestamps { $0.dateTime }
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        Reader(source: self, subtask: subtask, parallelism: parallelism)
    }

    /// Makes one subtask's events.
    public final class Reader: SourceReader {
        let source: NexmarkSource
        let subtask: Int
        let parallelism: Int
        /// The number of the next event this subtask makes.
        public private(set) var next: Int64

        init(source: NexmarkSource, subtask: Int, parallelism: Int) {
            self.source = source
            self.subtask = subtask
            self.parallelism = parallelism
            next = Int64(subtask)
        }

        public func read(into output: SourceOutput<NexmarkEvent>, limit: Int) throws -> SourceReadStatus {
            var made = 0
            while made < limit && next < source.count {
                let event = source.generator.event(next)
                output.emit(event, timestamp: event.dateTime)
                next += Int64(parallelism)
                made += 1
            }
            return next >= source.count ? .finished : .more
        }

        /// `parallelism, subtask, next` as varints.
        public func checkpointPosition() throws -> (payload: [UInt8], summary: String) {
            var writer = BinaryWriter()
            writer.writeVarInt(Int64(parallelism))
            writer.writeVarInt(Int64(subtask))
            writer.writeVarInt(next)
            return (writer.bytes, "next event \(next)")
        }

        public func restore(from positions: [[UInt8]]) throws {
            guard positions.count == parallelism else {
                throw SourceRestoreError(reason: "the Nexmark source restores only at the parallelism it ran at (\(positions.count), now \(parallelism))")
            }
            var seen = Set<Int64>()
            for payload in positions {
                var reader = BinaryReader(payload)
                let p = try reader.readVarInt(), s = try reader.readVarInt(), n = try reader.readVarInt()
                guard p == Int64(parallelism), s >= 0, s < p, n >= 0, n % p == s, seen.insert(s).inserted else {
                    throw SourceRestoreError(reason: "bad Nexmark position (parallelism \(p), subtask \(s), next \(n))")
                }
                if s == Int64(subtask) { next = n }
            }
        }
    }
}
