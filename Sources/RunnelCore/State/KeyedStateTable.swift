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
    /// One dictionary per owned key group, indexed by `group − firstKeyGroup`. Read through
    /// this; write through ``mutableGroup(_:)``, which copies a group a snapshot still reads.
    public private(set) var groups: [KeyGroupMap<Key, Entry>]
    /// Groups handed to a snapshot being written (``freeze()``): copied before their next write.
    private var frozen: [Bool]
    private var frozenCount = 0
    /// Per group, the map frozen for the last snapshot and replaced by a copy for writing:
    /// the live copy shares its entries with it until the snapshot lets go of it, and the
    /// next copy of the group reuses its storage (see ``KeyGroupMap/sharingCopy(reusing:)``).
    private var retired: [KeyGroupMap<Key, Entry>?]
    /// Groups whose live map shares entries with the retired map, and how many.
    private var sharing: [Bool]
    private var sharingCount = 0
    /// The first key group owned by the subtask.
    public let firstKeyGroup: Int
    /// The changes since the last checkpoint, for incremental checkpoints; nil when the key
    /// or value type has no raw encoding (see ``StateChangelog``).
    let changelog: StateChangelog<Key, Value>?

    init(name: String, keyGroups: Range<Int>) {
        self.name = name
        self.firstKeyGroup = keyGroups.lowerBound
        self.groups = keyGroups.map { _ in KeyGroupMap() }
        self.frozen = Array(repeating: false, count: keyGroups.count)
        self.retired = Array(repeating: nil, count: keyGroups.count)
        self.sharing = Array(repeating: false, count: keyGroups.count)
        self.changelog = StateChangelog(groups: keyGroups.count)
    }

    deinit {
        // A snapshot may still be reading a retired map: it keeps what it reads.
        for g in sharing.indices where sharing[g] { endSharing(g) }
    }

    /// The map of local group `g`, to be changed: if a snapshot still reads it, it is
    /// copied first (copy-on-write by key group), so the snapshot sees the state as it was.
    @inline(__always)
    func mutableGroup(_ g: Int) -> KeyGroupMap<Key, Entry> {
        if frozenCount > 0 && frozen[g] {
            thaw(g)
        } else if sharingCount > 0 && sharing[g] && isKnownUniquelyReferenced(&retired[g]) {
            // The snapshot has let go of the retired map: nothing to protect any more.
            endSharing(g)
        }
        return groups[g]
    }

    private func thaw(_ g: Int) {
        let frozenMap = groups[g]
        var spare = retired[g]
        retired[g] = nil
        // Reused only when nothing else holds it: the snapshot that read it is written.
        let reusable = spare != nil && isKnownUniquelyReferenced(&spare)
        groups[g] = frozenMap.sharingCopy(reusing: reusable ? spare : nil)
        retired[g] = frozenMap
        frozen[g] = false
        frozenCount -= 1
        if groups[g].isSharing {
            sharing[g] = true
            sharingCount += 1
        }
    }

    /// Ends the sharing of group `g`'s live map with the retired map; if a snapshot still
    /// reads the retired map, that map keeps references to what it reads.
    private func endSharing(_ g: Int) {
        let view = isKnownUniquelyReferenced(&retired[g]) ? nil : retired[g]
        groups[g].endSharing(view: view)
        sharing[g] = false
        sharingCount -= 1
    }

    /// Hands the current maps to a snapshot: they are not changed from now on (the next
    /// write to each copies it), so a background thread may read them. O(key groups).
    func freeze() -> [KeyGroupMap<Key, Entry>] {
        freeze(where: { _ in true })
    }

    /// Hands the maps of the local groups `include` selects to a snapshot (see ``freeze()``);
    /// the result holds every group's map, of which the snapshot reads only those.
    func freeze(where include: (Int) -> Bool) -> [KeyGroupMap<Key, Entry>] {
        for g in frozen.indices where !frozen[g] && include(g) {
            // A frozen map must not depend on another view (its copy will share with it).
            if sharing[g] { endSharing(g) }
            frozen[g] = true
            frozenCount += 1
        }
        return groups
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
        groups[keyGroup - firstKeyGroup][HashedKey(key)]?.value
    }

    /// Removes the entries of one local key group index whose refresh time is at or before `expiredAtOrBefore`.
    func sweep(localGroup: Int, expiredAtOrBefore limit: Timestamp) {
        guard groups[localGroup].contains(where: { $1.refreshedAt <= limit }) else { return }
        mutableGroup(localGroup).removeAll { $1.refreshedAt <= limit }
        if let changelog, changelog.isRecording { changelog.expire(localGroup, atOrBefore: limit) }
    }
}
