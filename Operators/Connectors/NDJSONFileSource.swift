import RunnelCore
import RunnelJSON

/// A bounded source over an NDJSON file, read in parallel (Flink's `FileSource`).
///
/// The file is cut into blocks (``NDJSONStripeReader/defaultBlockSize``). In a running job
/// the subtasks take them in file order from one queue, each the next block when it is done
/// with one (as Flink's file source assigns splits on request; see ``NDJSONBlockQueue``), so
/// that parallel readers advance through the file, and through event time, together, and a
/// reader on a busier thread reads fewer blocks instead of holding up the end. Readers made
/// outside a job (``createReader(subtask:parallelism:)``) take the blocks round-robin
/// instead (see ``NDJSONStripeReader``). The readers of a job read the file through one
/// shared mapping (``NDJSONFileMapping``) and decode lines in place, without a copy or a
/// per-line allocation, with exact line numbers. The file is read as it is when the readers
/// are made (lines appended later are not read) and must not shrink while it is read (a
/// truncated mapped page ends the process with `SIGBUS`). A checkpoint records, for each
/// reader, its ``Reader/position`` (block, byte offset and line number of the next line)
/// and the blocks it has yet to read (with a shared queue: its share of the blocks not yet
/// handed out), to replay from.
public struct NDJSONFileSource<Decoder: LineDecoder>: Source, Sendable {
    /// The file.
    public let path: String
    /// Makes one decoder per subtask.
    public let makeDecoder: @Sendable () -> Decoder
    /// Bytes per read.
    public let chunkSize: Int
    /// Bytes per block (the unit the readers take, or are dealt, and checkpoint).
    public let blockSize: Int64
    /// Lines per second over all subtasks, for demos and tests; nil for as fast as possible.
    public let linesPerSecond: Double?

    /// Creates the source.
    public init(path: String, chunkSize: Int = NDJSONFileReader.defaultChunkSize,
                blockSize: Int64 = NDJSONStripeReader.defaultBlockSize, linesPerSecond: Double? = nil,
                decoder: @escaping @Sendable () -> Decoder) {
        precondition(linesPerSecond.map { $0 > 0 } ?? true, "the rate must be positive")
        self.path = path
        self.makeDecoder = decoder
        self.chunkSize = chunkSize
        self.blockSize = blockSize
        self.linesPerSecond = linesPerSecond
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        let stripe = try NDJSONStripeReader(path: path, stripe: subtask, of: parallelism, blockSize: blockSize, chunkSize: chunkSize,
                                            mapping: Self.mapping(of: path, readers: 1))
        return Reader(file: stripe, decoder: makeDecoder(), linesPerSecond: linesPerSecond.map { $0 / Double(parallelism) })
    }

    /// The reader of one subtask of a running job: with more than one, the readers share a
    /// queue of the file's blocks. (One reader reads the file as one range.)
    public func createReader(subtask: Int, parallelism: Int, shared: SharedStepState) throws -> Reader {
        guard parallelism > 1 else { return try createReader(subtask: subtask, parallelism: parallelism) }
        let (path, blockSize) = (self.path, self.blockSize)
        let queue = try shared.value { try NDJSONBlockQueue(path: path, blockSize: blockSize, readers: parallelism) }
        let mapping = shared.value { SharedMapping(Self.mapping(of: path, readers: parallelism)) }.mapping
        let file = try NDJSONStripeReader(path: path, reader: subtask, of: parallelism, blockSize: blockSize,
                                          chunkSize: chunkSize, queue: queue, mapping: mapping)
        return Reader(file: file, decoder: makeDecoder(), linesPerSecond: linesPerSecond.map { $0 / Double(parallelism) })
    }

    /// A mapping of the file for `readers` readers, or nil when it cannot be mapped (the
    /// readers then read it with `pread`; if it cannot be opened either, they say so): not a
    /// regular file, or one whose size reads as 0 (empty, or generated on reading, as under
    /// `/proc`).
    static func mapping(of path: String, readers: Int) -> NDJSONFileMapping? {
        guard let mapping = try? NDJSONFileMapping(path: path, readers: readers), mapping.size > 0 else { return nil }
        return mapping
    }

    /// The readers' shared mapping, kept in the step's shared state (which keeps objects,
    /// not optionals).
    private final class SharedMapping: Sendable {
        let mapping: NDJSONFileMapping?
        init(_ mapping: NDJSONFileMapping?) { self.mapping = mapping }
    }

    /// Reads and decodes one split.
    public final class Reader: SourceReader {
        private(set) var file: NDJSONStripeReader
        let decoder: Decoder
        /// Lines read so far (including those the decoder skipped or rejected).
        public private(set) var linesRead = 0

        /// This subtask's share of the rate limit.
        let linesPerSecond: Double?
        private var rateStart: ContinuousClock.Instant?
        private var linesSinceRateStart = 0

        init(file: NDJSONStripeReader, decoder: Decoder, linesPerSecond: Double? = nil) {
            self.file = file
            self.decoder = decoder
            self.linesPerSecond = linesPerSecond
        }

        /// How many lines the rate limit allows now (a token bucket refilled continuously),
        /// and when to come back when it allows none.
        private func allowance(upTo limit: Int) -> (lines: Int, retryMilliseconds: Int64) {
            guard let rate = linesPerSecond else { return (limit, 0) }
            let now = ContinuousClock.now
            let start = rateStart ?? now
            rateStart = start
            let elapsed = start.duration(to: now)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let allowed = Int(seconds * rate) + 1 - linesSinceRateStart
            if allowed > 0 { return (min(limit, allowed), 0) }
            return (0, max(1, Int64((Double(1 - allowed) / rate * 1000).rounded(.up))))
        }

        /// Where the next unread line starts.
        public var position: NDJSONStripeReader.Position { file.position }

        /// What is left to read (``NDJSONStripeReader/remainingWork``): the current block from
        /// the next unread line, then the reader's later blocks (or its share of the shared
        /// queue). For inspection: a checkpoint calls ``checkpointPosition(checkpointID:)``.
        public func checkpointPosition() throws -> (payload: [UInt8], summary: String) {
            encode(file.remainingWork)
        }

        /// What is left to read, for checkpoint `checkpointID`: as ``checkpointPosition()``,
        /// and a reader that shares a queue reports the checkpoint to it (see
        /// ``NDJSONStripeReader/checkpointWork(checkpointID:)``).
        public func checkpointPosition(checkpointID: Int64) throws -> (payload: [UInt8], summary: String) {
            encode(file.checkpointWork(checkpointID: checkpointID))
        }

        /// A checkpoint's record of `work` (with a summary of where it starts).
        private func encode(_ work: [NDJSONStripeReader.WorkItem]) -> (payload: [UInt8], summary: String) {
            var writer = BinaryWriter()
            writer.writeVarUInt(UInt64(work.count))
            for item in work {
                writer.write(item.block)
                if let resume = item.resume {
                    writer.writeByte(1)
                    writer.writeVarInt(resume.offset)
                    writer.writeVarInt(resume.lineNumber)
                } else {
                    writer.writeByte(0)
                }
            }
            guard let first = work.first else { return (writer.bytes, "finished") }
            guard let at = first.resume else { return (writer.bytes, "\(work.count) blocks from block \(first.block)") }
            return (writer.bytes, "block \(first.block), byte \(at.offset), line \(at.lineNumber), \(work.count - 1) blocks after")
        }

        /// Takes over the work the readers of an earlier run left (at any parallelism):
        /// readers that share a queue restore it once with all of it, and each then takes
        /// blocks as in a fresh run; a reader on its own takes block `b` if
        /// `b mod stripes` is its stripe.
        public func restore(from positions: [[UInt8]]) throws {
            var states: [[NDJSONStripeReader.WorkItem]] = []
            for payload in positions {
                var reader = BinaryReader(payload)
                var items: [NDJSONStripeReader.WorkItem] = []
                for _ in 0..<(try reader.readCount()) {
                    let block: Int = try reader.read()
                    guard block >= 0 else { throw SourceRestoreError(reason: "negative block \(block)") }
                    switch try reader.readByte() {
                    case 0: items.append(.init(block: block))
                    case 1:
                        let offset = try reader.readVarInt()
                        let line = try reader.readVarInt()
                        guard offset >= 0, line >= 1 else { throw SourceRestoreError(reason: "bad position \(offset), line \(line)") }
                        items.append(.init(block: block, resume: NDJSONPosition(offset: offset, lineNumber: line)))
                    case let tag: throw SourceRestoreError(reason: "bad work item tag \(tag)")
                    }
                }
                states.append(items)
            }
            if let queue = file.blockQueue {
                // Readers that share a queue restore it once, with everything every reader
                // recorded; each then takes blocks from it as in a fresh run.
                queue.restore(states.flatMap { $0 })
                return
            }
            let mine = NDJSONStripeReader.work(forStripe: file.stripe, of: file.stripes, from: states)
            file = try NDJSONStripeReader(path: file.path, stripe: file.stripe, of: file.stripes, blockSize: file.blockSize,
                                          chunkSize: file.chunkSize, work: mine, mapping: file.mapping)
        }

        public func read(into output: SourceOutput<Decoder.Output>, limit: Int) throws -> SourceReadStatus {
            let (allowed, retry) = allowance(upTo: limit)
            if allowed == 0 { return file.isFinished ? .finished : .waiting(retryAfterMilliseconds: retry) }
            if linesPerSecond != nil { return try readLines(into: output, limit: allowed, rateLimited: true) }
            return try readLines(into: output, limit: limit, rateLimited: false)
        }

        private func readLines(into output: SourceOutput<Decoder.Output>, limit: Int, rateLimited: Bool) throws -> SourceReadStatus {
            let decoder = self.decoder
            let n = try file.readLines(upTo: limit) { line in
                if let record = decoder.decode(line) { output.emit(consume record) }
            }
            linesRead += n
            if rateLimited { linesSinceRateStart += n }
            if file.isWaiting { return .waiting(retryAfterMilliseconds: 1) }
            return n < limit || file.isFinished ? .finished : .more
        }
    }
}
