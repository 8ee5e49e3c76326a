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

    /// Flink's default: 128 key groups.
    public static let defaultMaxParallelism = 128

    /// Creates an assignment; `parallelism` must be in `1...maxParallelism`.
    public init(maxParallelism: Int = KeyGroupAssignment.defaultMaxParallelism, parallelism: Int) {
        precondition(maxParallelism > 0 && parallelism > 0 && parallelism <= maxParallelism,
                     "parallelism must be between 1 and maxParallelism")
        self.maxParallelism = maxParallelism
        self.parallelism = parallelism
    }

    /// The key group of a key.
    /// - Complexity: O(1) beyond hashing the key.
    public func keyGroup<K: StreamKey>(of key: K) -> Int {
        keyGroup(forHash: key.stableHash)
    }

    /// The key group of a precomputed stable hash.
    public func keyGroup(forHash hash: UInt64) -> Int {
        Int(hash % UInt64(maxParallelism))
    }

    /// The subtask that owns a key group.
    public func subtask(ofKeyGroup group: Int) -> Int {
        group * parallelism / maxParallelism
    }

    /// The key groups owned by a subtask.
    public func keyGroups(ofSubtask subtask: Int) -> Range<Int> {
        let start = (subtask * maxParallelism + parallelism - 1) / parallelism
        let end = ((subtask + 1) * maxParallelism + parallelism - 1) / parallelism
        return start..<end
    }
}
