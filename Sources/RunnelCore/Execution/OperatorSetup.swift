/// Everything an operator subtask is given when the job is instantiated: who it is, its
/// key groups, its clock, its metrics and its side outputs.
public struct OperatorSetup {
    /// The step's name (unique in the job; keys its metrics and, later, its checkpoint state).
    public let name: String
    /// This subtask's index in `0..<parallelism`.
    public let subtask: Int
    /// The step's parallelism.
    public let parallelism: Int
    /// How keys map to key groups and subtasks.
    public let assignment: KeyGroupAssignment
    /// The task's processing-time clock and timers.
    public let processingTime: any ProcessingTimeService
    /// Where the subtask registers its counters.
    public let metrics: MetricsRegistry
    /// The side outputs consumed downstream of this step.
    public let sideOutputs: SideOutputs
    /// Fails the task (and so the job) with an error raised outside a throwing call,
    /// e.g. by a sink writer inside an element handler.
    public let reportFailure: (any Error) -> Void
    /// How many times the step's input handler will be told the end of input: once per
    /// input chained into the task, plus once for the task's input gate if it has one.
    public let endOfInputCount: Int
    /// Registers work to run when the task is torn down (after the job ends or is cancelled).
    public let onClose: (@escaping () -> Void) -> Void
    /// Registers an action that snapshots the operator's state when a checkpoint barrier
    /// has reached its task (on all inputs); the action returns the operator's part, or nil
    /// when it has no state. Errors abort the checkpoint, not the job.
    public let onCheckpoint: (@escaping (CheckpointBarrier) throws -> CheckpointPart?) -> Void
    /// Registers the part this operator contributes to checkpoints taken after its task
    /// finished (a finished task takes no barriers): a source's final position, a sink's
    /// files awaiting commit. Operators whose state no longer matters once their input
    /// ended register nothing.
    public let onFinishedCheckpoint: (@escaping () throws -> CheckpointPart?) -> Void
    /// Registers an action run (on the operator's task) once a checkpoint is complete on
    /// disk: transactional sinks commit what that checkpoint covers.
    public let onCheckpointComplete: (@escaping (Int64) throws -> Void) -> Void
    /// When the job is restored from a checkpoint: this step's parts in it (from every
    /// subtask of the earlier run). Nil on a fresh start.
    public let restored: RestoredStepState?
    /// What the step's subtasks share in this run (one object for all of them).
    public let shared: SharedStepState

    /// The key groups this subtask owns.
    public var keyGroups: Range<Int> { assignment.keyGroups(ofSubtask: subtask) }

    /// A new counter for this subtask.
    public func counter(_ metric: String) -> Counter { metrics.counter(metric, operator: name) }
}

/// Context for `open`: subtask identity, metrics, and the declaration of keyed state.
public final class KeyedRuntimeContext<Key: StreamKey> {
    /// The operator's setup.
    public let setup: OperatorSetup
    /// The keyed state backend of the subtask.
    public let stateBackend: KeyedStateBackend<Key>

    init(setup: OperatorSetup, stateBackend: KeyedStateBackend<Key>) {
        self.setup = setup
        self.stateBackend = stateBackend
    }

    /// The value state declared by `descriptor`, scoped to the current key (a handle for the
    /// operator's lifetime: keep it in the function, do not use it after the operator).
    public func state<V>(_ descriptor: ValueStateDescriptor<V>) -> ValueState<V> { stateBackend.valueState(descriptor) }
    /// The list state declared by `descriptor`.
    public func state<E>(_ descriptor: ListStateDescriptor<E>) -> ListState<E> { stateBackend.listState(descriptor) }
    /// The map state declared by `descriptor`.
    public func state<K, V>(_ descriptor: MapStateDescriptor<K, V>) -> MapState<K, V> { stateBackend.mapState(descriptor) }
    /// The reducing state declared by `descriptor`.
    public func state<V>(_ descriptor: ReducingStateDescriptor<V>) -> ReducingState<V> { stateBackend.reducingState(descriptor) }
    /// The aggregating state declared by `descriptor`.
    public func state<F: AggregateFunction>(_ descriptor: AggregatingStateDescriptor<F>) -> AggregatingState<F.Input, F.Result> {
        stateBackend.aggregatingState(descriptor)
    }
    /// A new counter for this subtask.
    public func counter(_ metric: String) -> Counter { setup.counter(metric) }
}
