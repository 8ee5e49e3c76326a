/// A source of records, split across the subtasks of its step (Flink's `Source`).
///
/// The source value is shared by every subtask (hence `Sendable`); each subtask creates
/// its own reader, which is used on that subtask's thread only.
public protocol Source: Sendable {
    /// The records produced.
    associatedtype Output
    /// The per-subtask reader.
    associatedtype Reader: SourceReader where Reader.Output == Output

    /// Creates the reader of one subtask.
    func createReader(subtask: Int, parallelism: Int) throws -> Reader

    /// Creates the reader of one subtask of a running job, whose readers can coordinate
    /// through `shared` (one per step and run, see ``SharedStepState``): a file source
    /// hands out its blocks from a queue there, to whichever reader is ready first. The
    /// default calls ``createReader(subtask:parallelism:)``.
    func createReader(subtask: Int, parallelism: Int, shared: SharedStepState) throws -> Reader
}

extension Source {
    /// Default: readers that do not coordinate.
    public func createReader(subtask: Int, parallelism: Int, shared: SharedStepState) throws -> Reader {
        try createReader(subtask: subtask, parallelism: parallelism)
    }
}

/// What a reader reports after a read.
public enum SourceReadStatus: Sendable, Equatable {
    /// More records may be read at once.
    case more
    /// Nothing is available now; read again after this many milliseconds (or when woken).
    case waiting(retryAfterMilliseconds: Int64)
    /// The input is exhausted (bounded sources).
    case finished
}

/// Reads one split of a source.
public protocol SourceReader: AnyObject {
    /// The records produced.
    associatedtype Output

    /// Reads up to `limit` records into `output`.
    /// - Returns: whether more is available, nothing is for now, or the input is exhausted.
    func read(into output: SourceOutput<Output>, limit: Int) throws -> SourceReadStatus

    /// Called once when the job finishes or is cancelled; releases files and sockets.
    func close()

    /// The reader's position for a checkpoint: the bytes to replay from and a readable
    /// summary (e.g. `block 12, byte 48302211, line 94001`). The default throws: a reader
    /// that cannot replay cannot take part in exactly-once checkpoints.
    func checkpointPosition() throws -> (payload: [UInt8], summary: String)

    /// The reader's position for checkpoint `checkpointID` (0 for the parts a finished
    /// reader contributes to later checkpoints). The runtime calls it once per checkpoint
    /// on every running reader, with increasing ids; readers that coordinate (see
    /// ``Source/createReader(subtask:parallelism:shared:)``) may rely on that, so do not
    /// call it for anything else. The default calls ``checkpointPosition()``.
    func checkpointPosition(checkpointID: Int64) throws -> (payload: [UInt8], summary: String)

    /// Before the reader reads: takes over its share of what the readers of an earlier run
    /// recorded (``checkpointPosition(checkpointID:)`` of every subtask of that run, at its
    /// parallelism). The default throws.
    func restore(from positions: [[UInt8]]) throws
}

extension SourceReader {
    /// Default: nothing to release.
    public func close() {}

    /// Default: ``checkpointPosition()``.
    public func checkpointPosition(checkpointID: Int64) throws -> (payload: [UInt8], summary: String) {
        try checkpointPosition()
    }

    /// Default: the reader cannot replay.
    public func checkpointPosition() throws -> (payload: [UInt8], summary: String) {
        throw SourceNotCheckpointable(reader: String(reflecting: Self.self))
    }

    /// Default: the reader cannot replay.
    public func restore(from positions: [[UInt8]]) throws {
        throw SourceNotCheckpointable(reader: String(reflecting: Self.self))
    }
}

/// A source's state cannot be restored as asked.
public struct SourceRestoreError: Error, CustomStringConvertible {
    /// Why.
    public var reason: String
    /// Creates the error.
    public init(reason: String) { self.reason = reason }
    public var description: String { "cannot restore source: \(reason)" }
}

/// A source whose reader cannot record a replay position is in a job with checkpoints.
public struct SourceNotCheckpointable: Error, CustomStringConvertible {
    /// The reader's type.
    public var reader: String
    public var description: String { "source reader \(reader) cannot record a replay position for checkpoints" }
}

/// Where a reader emits records: it assigns event timestamps, feeds the split's watermark
/// generator and hands records to the chained operators.
///
/// Thread safety: owned by the source task.
public final class SourceOutput<Element> {
    private let emitter: Emitter<Element>
    private let timestampOf: (Element) -> Timestamp
    let generator: any WatermarkGenerator
    /// Records emitted by this split.
    public private(set) var emittedCount = 0

    init(emitter: Emitter<Element>, strategy: WatermarkStrategy<Element>) {
        self.emitter = emitter
        self.timestampOf = strategy.timestamp
        self.generator = strategy.makeGenerator()
    }

    /// Emits a record stamped by the watermark strategy's timestamp assigner.
    public func emit(_ value: consuming Element) {
        let ts = timestampOf(value)
        generator.onEvent(timestamp: ts)
        emittedCount &+= 1
        emitter.emit(consume value, timestamp: ts)
    }

    /// Emits a record with an explicit timestamp.
    public func emit(_ value: consuming Element, timestamp: Timestamp) {
        generator.onEvent(timestamp: timestamp)
        emittedCount &+= 1
        emitter.emit(consume value, timestamp: timestamp)
    }
}
