/// The state a job starts from when it is restored from a checkpoint: every part of the
/// checkpoint, by step. Each operator subtask gets all parts of its step (written by the
/// subtasks of the earlier run, at whatever parallelism) and takes what it owns: keyed
/// operators the key groups of their subtask, sources the position of their split.
public struct RestoredState: Sendable {
    /// The checkpoint's id.
    public var checkpointID: Int64
    /// The parallelism of the run that wrote it.
    public var parallelism: Int
    /// Parts by step name.
    public var parts: [String: [CheckpointPart]]
    /// Parts of the earlier checkpoints this one builds on (incremental keyed state), by
    /// checkpoint id, then by step name.
    public var earlierParts: [Int64: [String: [CheckpointPart]]]

    /// Creates restored state.
    public init(checkpointID: Int64, parallelism: Int, parts: [String: [CheckpointPart]],
                earlierParts: [Int64: [String: [CheckpointPart]]] = [:]) {
        self.checkpointID = checkpointID
        self.parallelism = parallelism
        self.parts = parts
        self.earlierParts = earlierParts
    }
}

/// One step's parts of a restored checkpoint (see ``OperatorSetup/restored``).
public struct RestoredStepState: Sendable {
    /// The checkpoint's id.
    public var checkpointID: Int64
    /// The parallelism of the run that wrote it.
    public var parallelism: Int
    /// The step's parts, from every subtask of that run.
    public var parts: [CheckpointPart]
    /// The step's parts of the earlier checkpoints this one builds on, by checkpoint id.
    public var earlierParts: [Int64: [CheckpointPart]] = [:]
}
