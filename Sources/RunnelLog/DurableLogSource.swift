import RunnelCore
import RunnelJSON
import RunnelOperators

/// A source reading a ``DurableLog``: unbounded, replayable, for exactly-once jobs over what
/// a collector accepted (Flink's Kafka source, for the local log).
///
/// Partition `n` is read by subtask `n mod parallelism`. A reader takes one frame from each
/// of its partitions in turn, so that partitions filled side by side are read side by side
/// and event time advances evenly. Each line of a frame is decoded by a ``LineDecoder``
/// (offset: the frame's; line number: the line's place in the frame). A checkpoint records
/// each partition's offset; a restored job reads on from there, at any parallelism. On a
/// fresh start the readers begin at the oldest offset the log holds.
///
/// The readers finish once the log is closed (``DurableLog/close()``) and they have read
/// everything in it; until then they wait for more.
public struct DurableLogSource<Decoder: LineDecoder>: Source, Sendable {
    /// The log read.
    public let log: DurableLog
    /// Makes one decoder per subtask.
    public let makeDecoder: @Sendable () -> Decoder
    /// How long a reader that has read everything waits before looking again.
    public let pollMilliseconds: Int64

    /// Creates the source.
    public init(log: DurableLog, pollMilliseconds: Int64 = 2, decoder: @escaping @Sendable () -> Decoder) {
        self.log = log
        self.makeDecoder = decoder
        self.pollMilliseconds = pollMilliseconds
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        let partitions = (0..<log.partitionCount).filter { $0 % parallelism == subtask }
        return Reader(log: log, partitions: partitions, decoder: makeDecoder(), pollMilliseconds: pollMilliseconds)
    }

    /// Reads one subtask's partitions.
    public final class Reader: SourceReader {
        let log: DurableLog
        private var cursors: [LogPartitionCursor]
        private var nextCursor = 0
        let decoder: Decoder
        let pollMilliseconds: Int64
        private let buffer = PaddedBuffer(capacity: 1 << 16)
        /// Frames and lines read so far.
        public private(set) var framesRead = 0
        public private(set) var linesRead = 0

        init(log: DurableLog, partitions: [Int], decoder: Decoder, pollMilliseconds: Int64) {
            self.log = log
            self.decoder = decoder
            self.pollMilliseconds = pollMilliseconds
            cursors = partitions.map { LogPartitionCursor(log: log, partition: $0, offset: log.startOffset(of: $0)) }
            noteStart()
        }

        /// The partitions read and the offset of each one's next frame.
        public var positions: [(partition: Int, offset: Int64)] { cursors.map { ($0.partition, $0.offset) } }

        public func read(into output: SourceOutput<Decoder.Output>, limit: Int) throws -> SourceReadStatus {
            guard !cursors.isEmpty else { return log.isClosed ? .finished : .waiting(retryAfterMilliseconds: 100) }
            var emitted = 0
            var progressed = true
            while emitted < limit && progressed {
                progressed = false
                for _ in 0..<cursors.count where emitted < limit {
                    let cursor = cursors[nextCursor]
                    nextCursor = (nextCursor + 1) % cursors.count
                    let frameOffset = cursor.offset
                    guard try cursor.next(into: buffer) != nil else { continue }
                    progressed = true
                    framesRead += 1
                    emitted += emitLines(frameOffset: frameOffset, into: output)
                }
            }
            if emitted > 0 { return .more }
            if log.isClosed && !cursors.contains(where: \.hasFrame) { return .finished }
            return .waiting(retryAfterMilliseconds: pollMilliseconds)
        }

        /// Decodes and emits the lines of the frame in ``buffer``; returns how many there were.
        private func emitLines(frameOffset: Int64, into output: SourceOutput<Decoder.Output>) -> Int {
            var number: Int64 = 0
            LineSplitter.forEachLine(in: buffer.bytes) { bytes in
                number += 1
                if let record = decoder.decode(NDJSONLine(bytes: bytes, offset: frameOffset, lineNumber: number)) { output.emit(consume record) }
            }
            linesRead += Int(number)
            return Int(number)
        }

        /// Each partition's offset: `count, (partition, offset)…` as varints.
        public func checkpointPosition() throws -> (payload: [UInt8], summary: String) {
            var writer = BinaryWriter()
            writer.writeVarUInt(UInt64(cursors.count))
            for cursor in cursors {
                writer.writeVarUInt(UInt64(cursor.partition))
                writer.writeVarInt(cursor.offset)
                log.protectForCheckpoint(cursor.offset, partition: cursor.partition)
            }
            return (writer.bytes, cursors.map { "partition \($0.partition) at \($0.offset)" }.joined(separator: ", "))
        }

        /// Takes this reader's partitions' offsets from what the readers of an earlier run
        /// recorded (at any parallelism); a partition none recorded is read from its start.
        public func restore(from positions: [[UInt8]]) throws {
            var offsets: [Int: Int64] = [:]
            for payload in positions {
                var reader = BinaryReader(payload)
                for _ in 0..<(try reader.readCount()) {
                    let partition = Int(try reader.readVarUInt())
                    let offset = try reader.readVarInt()
                    guard partition < log.partitionCount, offset >= 0 else {
                        throw SourceRestoreError(reason: "the checkpoint names offset \(offset) of partition \(partition); the log has \(log.partitionCount) partitions")
                    }
                    offsets[partition] = offset
                }
            }
            cursors = try cursors.map { cursor in
                let p = cursor.partition
                let offset = offsets[p] ?? log.startOffset(of: p)
                let end = log.durableEnd(of: p), start = log.startOffset(of: p)
                guard offset <= end else {
                    throw SourceRestoreError(reason: "the checkpoint read partition \(p) up to offset \(offset), but the log at \(log.configuration.directory) holds \(end) bytes of it: not the log this job read, or it lost data")
                }
                guard offset >= start else {
                    throw SourceRestoreError(reason: "the checkpoint needs partition \(p) from offset \(offset), but the log keeps it only from \(start) (retention deleted the rest)")
                }
                return LogPartitionCursor(log: log, partition: p, offset: offset)
            }
            noteStart()
        }

        /// Tells the log where reading starts, and keeps that offset from retention until
        /// checkpoints have moved on: after a crash before the next checkpoint, the job
        /// restarts from it again.
        private func noteStart() {
            for cursor in cursors {
                log.noteReadPosition(cursor.offset, partition: cursor.partition)
                log.protectForCheckpoint(cursor.offset, partition: cursor.partition)
            }
        }
    }
}
