/// A checkpoint barrier: it flows with the records from the sources to the sinks; each
/// task snapshots its operators when the barrier has arrived on all its inputs (aligned),
/// so every snapshot reflects exactly the records before the barrier (Flink's asynchronous
/// barrier snapshotting, after Chandy and Lamport).
public struct CheckpointBarrier: Sendable, Hashable {
    /// The checkpoint's id.
    public var id: Int64
    /// Whether it is a savepoint (taken to stop the job cleanly) rather than a periodic checkpoint.
    public var isSavepoint: Bool
    /// The job's last completed checkpoint when this one was triggered (one checkpoint is in
    /// flight at a time, so the outcome of every earlier one is known): keyed state may
    /// write key groups as changes since that checkpoint, and only since that one.
    public var previousCompletedID: Int64?
    /// Whether keyed state may be written incrementally (see `StateChangelog`); savepoints
    /// are always written in full.
    public var incremental: Bool

    /// Creates a barrier.
    public init(id: Int64, isSavepoint: Bool = false, previousCompletedID: Int64? = nil, incremental: Bool = false) {
        self.id = id
        self.isSavepoint = isSavepoint
        self.previousCompletedID = previousCompletedID
        self.incremental = incremental
    }
}

/// One operator subtask's (or source reader's) part of a checkpoint.
public struct CheckpointPart: Sendable {
    /// The checkpoint.
    public var checkpointID: Int64
    /// The step name (the checkpoint key of the operator).
    public var step: String
    /// The subtask.
    public var subtask: Int
    /// The key groups the state covers (empty for non-keyed state).
    public var keyGroups: Range<Int>
    /// The encoded state (when ``deferred`` is nil).
    public var payload: [UInt8]
    /// Encodes the state later, on the checkpoint writer's thread (state frozen at the
    /// barrier with copy-on-write), so that the task does not stop for the encoding.
    public var deferred: (@Sendable () throws -> [UInt8])?
    /// A human-readable summary (e.g. a source position), for operators of the system.
    public var summary: String
    /// The number of state entries the part holds, when known: the writer encodes parts
    /// with fewer entries first, which lets go of their frozen state sooner (state written
    /// meanwhile — window contents, say — is copied on write while a snapshot holds it).
    public var stateEntries = 0
    /// Earlier checkpoints whose parts this one builds on (keyed state written as changes
    /// since them): they must be kept, and restored with it.
    public var dependsOn: [Int64] = []

    /// Creates a part.
    public init(checkpointID: Int64, step: String, subtask: Int, keyGroups: Range<Int> = 0..<0, payload: [UInt8] = [],
                summary: String = "", deferred: (@Sendable () throws -> [UInt8])? = nil) {
        self.checkpointID = checkpointID
        self.step = step
        self.subtask = subtask
        self.keyGroups = keyGroups
        self.payload = payload
        self.summary = summary
        self.deferred = deferred
    }

    /// The encoded state (running the deferred encoding if there is one).
    public func encoded() throws -> [UInt8] {
        try deferred?() ?? payload
    }
}

/// Where tasks hand their checkpoint parts (implemented by the runtime's checkpoint
/// coordinator). Called on the tasks' threads; implementations synchronize.
public protocol CheckpointAcknowledger: AnyObject, Sendable {
    /// Task `task` (subtask `subtask`) snapshotted its operators for `checkpointID`, which
    /// kept it from processing records for `pause`.
    func acknowledge(checkpointID: Int64, task: String, subtask: Int, parts: [CheckpointPart], pause: Duration)
    /// Task `task` could not snapshot its operators for `checkpointID`: the checkpoint is
    /// aborted (the job goes on; the previous checkpoint stays the latest).
    func decline(checkpointID: Int64, task: String, subtask: Int, error: any Error)
}
