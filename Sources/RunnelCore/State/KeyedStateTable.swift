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
    /// One map per owned key group, indexed by `group − firstKeyGroup`. Read through
    /// this; write through ``mutableGroup(_:)``, which copies a group a snapshot still reads.
    public var groups: [KeyGroupMap<Key, Entry>] { storage.maps }
    /// The groups' maps, frozen for snapshots copy-on-write.
    private let storage: CopyOnWriteMaps<Key, Entry>

    /// The map of local group `g`, to be read.
    @inline(__always)
    func group(_ g: Int) -> KeyGroupMap<Key, Entry> { storage.map(g) }
    /// The first key group owned by the subtask.
    public let firstKeyGroup: Int
    /// The changes since the last checkpoint, for incremental checkpoints; nil when the key
    /// or value type has no raw encoding (see ``StateChangelog``).
    let changelog: StateChangelog<Key, Value>?

    /// How the groups' maps lay out their entries.
    public let layout: KeyGroupMapLayout

    init(name: String, keyGroups: Range<Int>, layout: KeyGroupMapLayout = .indexed) {
        self.name = name
        self.firstKeyGroup = keyGroups.lowerBound
        self.layout = layout
        self.storage = CopyOnWriteMaps(count: keyGroups.count, layout: layout)
        self.changelog = StateChangelog(groups: keyGroups.count)
    }

    /// The map of local group `g`, to be changed: if a snapshot still reads it, it is
    /// copied first (copy-on-write), so the snapshot sees the state as it was.
    @inline(__always)
    func mutableGroup(_ g: Int) -> KeyGroupMap<Key, Entry> {
        storage.mutable(g)
    }

    /// Calls `body` with the map of local group `g`, to be read; for per-record paths (no
    /// reference-count pair, see ``CopyOnWriteMaps/withMap(_:_:)``).
    @inline(__always)
    func withGroup<R>(_ g: Int, _ body: (KeyGroupMap<Key, Entry>) -> R) -> R {
        storage.withMap(g, body)
    }

    /// Starts loading where the entry of a key with this hash would be in local group `g`.
    @inline(__always)
    func prefetch(localGroup g: Int, keyHash: UInt64) {
        storage.withMap(g) { $0.prefetch(keyHash: keyHash) }
    }

    /// Calls `body` with the map of local group `g`, to be changed (copied first if a
    /// snapshot reads it); for per-record paths.
    @inline(__always)
    func withMutableGroup<R>(_ g: Int, _ body: (KeyGroupMap<Key, Entry>) -> R) -> R {
        storage.withMutable(g, body)
    }

    /// Hands the maps of the local groups `include` selects to a snapshot: they are not
    /// changed from now on (the next write to each copies it), so a background thread may
    /// read them. Returns every group's map, of which the snapshot reads only those.
    func freeze(where include: (Int) -> Bool) -> [KeyGroupMap<Key, Entry>] {
        storage.freeze(where: include)
    }

    /// Records a put of `entry` for `key` in local group `g` when changes are being logged.
    @inline(__always)
    func logPut(_ g: Int, _ key: HashedKey<Key>, _ entry: Entry) {
        if let changelog, changelog.isRecording { changelog.put(g, key.key, stamp: entry.refreshedAt, entry.value) }
    }

    /// Records a removal of `key` from local group `g` when changes are being logged.
    @inline(__always)
    func logRemove(_ g: Int, _ key: HashedKey<Key>) {
        if let changelog, changelog.isRecording { changelog.remove(g, key.key) }
    }

    /// The number of entries over all key groups.
    /// - Complexity: O(key groups).
    public var count: Int { groups.reduce(0) { $0 + $1.count } }

    /// Every key with an entry (expired or not), for inspection.
    public var keys: [Key] { groups.flatMap(\.allKeys) }

    /// The value stored for `key`, ignoring TTL (for inspection and snapshots).
    public func value(forKey key: Key, keyGroup: Int) -> Value? {
        group(keyGroup - firstKeyGroup)[HashedKey(key)]?.value
    }

    /// Removes the entries of one local key group index whose refresh time is at or before `expiredAtOrBefore`.
    func sweep(localGroup: Int, expiredAtOrBefore limit: Timestamp) {
        // Counted on the current map first: nothing to remove leaves a frozen map frozen.
        let expired = group(localGroup).count(where: { $1.refreshedAt <= limit })
        guard expired > 0 else { return }
        mutableGroup(localGroup).removeAll(expected: expired) { $1.refreshedAt <= limit }
        if let changelog, changelog.isRecording { changelog.expire(localGroup, atOrBefore: limit) }
    }
}
