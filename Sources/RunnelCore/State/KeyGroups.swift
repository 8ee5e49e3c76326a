/// Maps keys to key groups and key groups to subtasks.
///
/// Keyed state is partitioned into `maxParallelism` key groups (Flink's scheme). A key's
/// group never changes; a job with parallelism `p` gives subtask `i` the contiguous range
/// of groups `[i·m/p, (i+1)·m/p)`. Snapshots are written per key group, so a job can be
/// restored with another parallelism by handing out the groups anew.
public struct KeyGroupAssignment: Sendable, Hashable {
    /// The number of key groups (the largest parallelism a job can ever be rescaled to).
    public let maxParallelism: Int
    /// The number of subtasks the key groups are spread over.
    public let parallelism: Int
    /// `log2(maxParallelism)` when it is a power of two (the default 128), else nil. Every
    /// record crossing a keyed exchange, and every keyed state access, maps a hash to its key
    /// group and the group to its subtask: with a power of two those are a mask and a shift
    /// instead of two 64-bit divisions (tens of cycles each, several times per record).
    @usableFromInline
    let shift: Int?

    /// Flink's default: 128 key groups.
    public static let defaultMaxParallelism = 128

    /// Creates an assignment; `parallelism` must be in `1...maxParallelism`, and
    /// `maxParallelism` at most 32 768.
    public init(maxParallelism: Int = KeyGroupAssignment.defaultMaxParallelism, parallelism: Int) {
        precondition(maxParallelism > 0 && parallelism > 0 && parallelism <= maxParallelism,
                     "parallelism must be between 1 and maxParallelism")
        // Flink's limit too; it keeps `group * parallelism` far from overflowing.
        precondition(maxParallelism <= 1 << 15, "maxParallelism is at most 32768")
        self.maxParallelism = maxParallelism
        self.parallelism = parallelism
        self.shift = maxParallelism.nonzeroBitCount == 1 ? maxParallelism.trailingZeroBitCount : nil
    }

    /// The key group of a key.
    /// - Complexity: O(1) beyond hashing the key.
    public func keyGroup<K: StreamKey>(of key: K) -> Int {
        keyGroup(forHash: key.stableHash)
    }

    /// The key group of a precomputed stable hash.
    @inlinable
    public func keyGroup(forHash hash: UInt64) -> Int {
        if shift != nil { return Int(truncatingIfNeeded: hash & UInt64(maxParallelism &- 1)) }
        return Int(hash % UInt64(maxParallelism))
    }

    /// The subtask that owns a key group.
    @inlinable
    public func subtask(ofKeyGroup group: Int) -> Int {
        if let shift { return (group &* parallelism) >> shift }
        return group * parallelism / maxParallelism
    }

    /// The key groups owned by a subtask.
    public func keyGroups(ofSubtask subtask: Int) -> Range<Int> {
        let start = (subtask * maxParallelism + parallelism - 1) / parallelism
        let end = ((subtask + 1) * maxParallelism + parallelism - 1) / parallelism
        return start..<end
    }
}
