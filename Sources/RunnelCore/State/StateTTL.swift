/// Time-to-live for keyed state entries.
///
/// An entry expires `ttl` after it was last written (or, with ``UpdateType/onReadAndWrite``,
/// last read). Expired entries are never returned; they are removed lazily on access and
/// by an incremental sweep that visits one key group each time the operator's time
/// advances, so memory stays bounded without a stop-the-world scan.
public struct StateTTL: Sendable, Hashable {
    /// Which clock measures the age of an entry.
    public enum TimeDomain: Sendable, Hashable {
        /// Wall-clock time of the task (Flink's only choice).
        case processingTime
        /// The operator's current watermark: deterministic under replay, which is what
        /// deduplication by event id needs.
        case eventTime
    }

    /// Which accesses refresh an entry's age.
    public enum UpdateType: Sendable, Hashable {
        /// Creation and every write refresh the entry.
        case onCreateAndWrite
        /// Reads refresh it too.
        case onReadAndWrite
    }

    /// How long an entry lives, in milliseconds.
    public let milliseconds: Int64
    /// The clock that ages entries.
    public let timeDomain: TimeDomain
    /// What refreshes an entry.
    public let updateType: UpdateType

    /// Creates a TTL configuration.
    public init(_ ttl: Duration, timeDomain: TimeDomain = .processingTime, updateType: UpdateType = .onCreateAndWrite) {
        precondition(ttl > .zero, "TTL must be positive")
        self.milliseconds = ttl.milliseconds
        self.timeDomain = timeDomain
        self.updateType = updateType
    }
}
