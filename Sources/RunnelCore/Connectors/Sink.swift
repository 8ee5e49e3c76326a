/// A destination of records (Flink's `Sink`); each subtask creates its own writer.
public protocol Sink: Sendable {
    /// The records consumed.
    associatedtype Input
    /// The per-subtask writer.
    associatedtype Writer: SinkWriter where Writer.Input == Input

    /// Creates the writer of one subtask.
    func createWriter(subtask: Int, parallelism: Int) throws -> Writer
}

/// Writes the records of one sink subtask.
public protocol SinkWriter: AnyObject {
    /// The records consumed.
    associatedtype Input

    /// Writes one record.
    func write(_ value: Input, timestamp: Timestamp) throws
    /// The input has ended: flush everything durably.
    func finish() throws
    /// The job stops without finishing its input (cancelled, or failed elsewhere): release
    /// resources; a writer may keep what it has written so far. Not called after `finish`.
    func close()

    /// The writer's part of a checkpoint (e.g. its pending transaction), or nil when it keeps
    /// nothing. Called on the writer's task when the checkpoint barrier reaches it.
    func snapshot(checkpointID: Int64) throws -> [UInt8]?

    /// The writer's part of a checkpoint, taken when the barrier reaches it, with work that
    /// may finish later on the checkpoint writer's thread (e.g. `fsync` of the file the
    /// checkpoint covers), so that the task does not wait for the disk. The default wraps
    /// ``snapshot(checkpointID:)``.
    func prepareCheckpoint(checkpointID: Int64) throws -> SinkCheckpointPart?

    /// The writer's part of checkpoints taken after it finished (e.g. the output of its
    /// last records, still awaiting commit), or nil.
    func finishedState() throws -> [UInt8]?

    /// Checkpoint `checkpointID` is complete on disk: make visible what it covers.
    func checkpointComplete(_ checkpointID: Int64) throws

    /// Called before the first record: when the job is restored, with the parts every writer
    /// of this step wrote into the checkpoint (at the parallelism of that run); on a fresh
    /// start with none (a transactional sink then discards what a crashed run left).
    func restore(from parts: [[UInt8]]) throws
}

extension SinkWriter {
    /// Default: nothing to release.
    public func close() {}

    /// Default: nothing to checkpoint.
    public func snapshot(checkpointID: Int64) throws -> [UInt8]? { nil }

    /// Default: ``snapshot(checkpointID:)``, with nothing left for later.
    public func prepareCheckpoint(checkpointID: Int64) throws -> SinkCheckpointPart? {
        try snapshot(checkpointID: checkpointID).map { SinkCheckpointPart(payload: $0) }
    }

    /// Default: nothing awaits commit.
    public func finishedState() throws -> [UInt8]? { nil }

    /// Default: nothing to commit.
    public func checkpointComplete(_ checkpointID: Int64) throws {}

    /// Default: nothing to restore.
    public func restore(from parts: [[UInt8]]) throws {}
}

/// A sink writer's part of a checkpoint (see ``SinkWriter/prepareCheckpoint(checkpointID:)``).
public struct SinkCheckpointPart: Sendable {
    /// What the writer restores from.
    public var payload: [UInt8]
    /// Runs on the checkpoint writer's thread before the checkpoint is written; throwing
    /// aborts the checkpoint. Nil when everything was done at the barrier.
    public var makeDurable: (@Sendable () throws -> Void)?

    /// Creates a part.
    public init(payload: [UInt8], makeDurable: (@Sendable () throws -> Void)? = nil) {
        self.payload = payload
        self.makeDurable = makeDurable
    }
}
