/// One keyed state's entries, partitioned by the key groups a subtask owns.
///
/// Entries carry the time of their last refresh so that TTL can be enforced; without TTL
/// that field is simply never read.
///
/// Thread safety: owned by one subtask; used only on its thread.
public final class KeyedStateTable<Key: StreamKey, Value> {
    /// A stored value and the time it was last refreshed (for TTL).
    public struct Entry {
        /// The value.
        public var value: Value
        /// When the value was last refreshed, in the TTL's time domain.
        public var refreshedAt: Timestamp

        /// Updates the value in place, first resetting it to `initial` when it expired,
        /// and stamps the entry.
        mutating func update<R>(stamp: Timestamp, expiredBefore limit: Timestamp?, initial: () -> Value,
                                _ body: (inout Value) -> R) -> R {
            if let limit, refreshedAt <= limit {
                value = initial()
                refreshedAt = stamp
            } else {
                refreshedAt = max(refreshedAt, stamp)
            }
            return body(&value)
        }
    }

    /// The state's name within its operator.
    public let name: String
    /// One dictionary per owned key group, indexed by `group − firstKeyGroup`.
    public let groups: [KeyGroupMap<Key, Entry>]
    /// The first key group owned by the subtask.
    public let firstKeyGroup: Int

    init(name: String, keyGroups: Range<Int>) {
        self.name = name
        self.firstKeyGroup = keyGroups.lowerBound
        self.groups = keyGroups.map { _ in KeyGroupMap() }
    }

    /// The number of entries over all key groups.
    /// - Complexity: O(key groups).
    public var count: Int { groups.reduce(0) { $0 + $1.count } }

    /// Every key with an entry (expired or not), for inspection.
    public var keys: [Key] { groups.flatMap(\.allKeys) }

    /// The value stored for `key`, ignoring TTL (for inspection and snapshots).
    public func value(forKey key: Key, keyGroup: Int) -> Value? {
        groups[keyGroup - firstKeyGroup][HashedKey(key)]?.value
    }

    /// Removes the entries of one local key group index whose refresh time is at or before `expiredAtOrBefore`.
    func sweep(localGroup: Int, expiredAtOrBefore limit: Timestamp) {
        let map = groups[localGroup]
        guard map.contains(where: { $1.refreshedAt <= limit }) else { return }
        map.removeAll { $1.refreshedAt <= limit }
    }
}
