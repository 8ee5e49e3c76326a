/// Checkpointing of a job run by ``JobRunner``: where checkpoints go and how often.
public struct CheckpointSettings: Sendable {
    /// The checkpoint directory.
    public var directory: String
    /// Time between the start of one checkpoint and the trigger of the next.
    public var interval: Duration
    /// Complete checkpoints kept.
    public var retained: Int

    /// Creates settings (default: every 10 s, keeping 3).
    public init(directory: String, interval: Duration = .seconds(10), retained: Int = 3) {
        self.directory = directory
        self.interval = interval
        self.retained = retained
    }
}
