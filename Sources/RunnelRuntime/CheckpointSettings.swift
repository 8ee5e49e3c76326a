/// Checkpointing of a job run by ``JobRunner``: where checkpoints go and how often.
public struct CheckpointSettings: Sendable {
    /// The checkpoint directory.
    public var directory: String
    /// Time between the start of one checkpoint and the trigger of the next.
    public var interval: Duration
    /// Complete checkpoints kept.
    public var retained: Int
    /// The nice value of the thread that encodes and writes checkpoints. 0 (the default)
    /// keeps checkpoints on time. A positive value lets the task threads go first on a
    /// saturated machine — less throughput lost, but checkpoints then come less often than
    /// `interval` asks, and on a host busy with other work they may be starved (measured on
    /// 10 M events at p = 2: at nice 10, 13–17 % less throughput with a checkpoint every
    /// 2–3 s; at 0, about 25 % with one every second; docs/CHECKPOINTS.md).
    public var writerNiceness: Int32
    /// Whether keyed state with small entries may be written as the changes since the
    /// previous checkpoint (incremental checkpoints; see `StateChangelog` in RunnelCore)
    /// rather than in full every time; savepoints are always full. Off by default:
    /// incremental checkpoints are smaller (a third, on the replay job), but logging every
    /// change costs the tasks more than the full snapshot costs the writer when the state
    /// turns over within seconds, as the replay job's deduplication ids do (measured:
    /// docs/CHECKPOINTS.md). They pay off for large state that changes slowly.
    public var incremental: Bool

    /// Creates settings (default: every 10 s, keeping 3, writer at normal priority, full).
    public init(directory: String, interval: Duration = .seconds(10), retained: Int = 3, writerNiceness: Int32 = 0,
                incremental: Bool = false) {
        self.directory = directory
        self.interval = interval
        self.retained = retained
        self.writerNiceness = writerNiceness
        self.incremental = incremental
    }
}
