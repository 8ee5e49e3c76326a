/// A fixed set of ``KeyGroupMap``s (the key groups of a keyed state, the partitions of a
/// timer queue) that a snapshot can freeze in O(maps) while the owner goes on writing.
///
/// A frozen map is not written again: the first write to it after the freeze replaces it
/// with a copy that shares its entries (``KeyGroupMap/sharingCopy(reusing:)``, per-entry
/// copy-on-write), and the frozen map is kept as the *retired* map of its slot. Once the
/// snapshot lets go of the retired map (detected on the next write), the copy stops
/// protecting the entries the snapshot read; the next copy of the slot reuses the retired
/// map's storage, whose pages are already mapped.
///
/// Thread safety: owned by one subtask; the frozen maps handed out may be read on another
/// thread until that reader releases them.
final class CopyOnWriteMaps<Key: StreamKey, Value> {
    /// The current maps. Read through this; write through ``mutable(_:)``.
    private(set) var maps: [KeyGroupMap<Key, Value>]
    /// The same maps, unmanaged, for the per-record paths (``withMap(_:_:)``,
    /// ``withMutable(_:_:)``): a class reference read from an array is retained around its
    /// use, an atomic increment and decrement per state access. `maps` keeps them alive.
    private var unmanaged: [Unmanaged<KeyGroupMap<Key, Value>>]
    /// Maps handed to a snapshot: copied before their next write.
    private var frozen: [Bool]
    private var frozenCount = 0
    /// Per slot, the map frozen for the last snapshot and replaced by a copy.
    private var retired: [KeyGroupMap<Key, Value>?]
    /// Slots whose map shares entries with the retired map, and how many.
    private var sharing: [Bool]
    private var sharingCount = 0

    /// `count` empty maps laid out as `layout`.
    init(count: Int, layout: KeyGroupMapLayout = .indexed) {
        maps = (0..<count).map { _ in KeyGroupMap(layout: layout) }
        unmanaged = maps.map { .passUnretained($0) }
        frozen = Array(repeating: false, count: count)
        retired = Array(repeating: nil, count: count)
        sharing = Array(repeating: false, count: count)
    }

    deinit {
        // A snapshot may still be reading a retired map: it keeps what it reads.
        for i in sharing.indices where sharing[i] { endSharing(i) }
    }

    /// Map `i`, to be read.
    @inline(__always)
    func map(_ i: Int) -> KeyGroupMap<Key, Value> { maps[i] }

    /// Map `i`, to be changed: if a snapshot still reads it, it is replaced by a copy first.
    @inline(__always)
    func mutable(_ i: Int) -> KeyGroupMap<Key, Value> {
        prepareForWrite(i)
        return maps[i]
    }

    /// Calls `body` with map `i`, to be read, without a reference-count pair. `body` must not
    /// freeze or replace the maps.
    @inline(__always)
    func withMap<R>(_ i: Int, _ body: (KeyGroupMap<Key, Value>) throws -> R) rethrows -> R {
        try unmanaged[i]._withUnsafeGuaranteedRef(body)
    }

    /// Calls `body` with map `i`, to be changed (see ``mutable(_:)``), without a
    /// reference-count pair. `body` must not freeze or replace the maps.
    @inline(__always)
    func withMutable<R>(_ i: Int, _ body: (KeyGroupMap<Key, Value>) throws -> R) rethrows -> R {
        prepareForWrite(i)
        return try unmanaged[i]._withUnsafeGuaranteedRef(body)
    }

    /// Replaces map `i` by a copy if a snapshot still reads it.
    @inline(__always)
    private func prepareForWrite(_ i: Int) {
        if frozenCount > 0 && frozen[i] {
            thaw(i)
        } else if sharingCount > 0 && sharing[i] && isKnownUniquelyReferenced(&retired[i]) {
            // The snapshot has let go of the retired map: nothing to protect any more.
            endSharing(i)
        }
    }

    /// Whether map `i` is frozen for a snapshot (its next write copies it).
    func isFrozen(_ i: Int) -> Bool { frozen[i] }

    /// Hands the maps `include` selects to a snapshot: they are not changed from now on,
    /// so another thread may read them. Returns every map (the snapshot reads the selected ones).
    func freeze(where include: (Int) -> Bool = { _ in true }) -> [KeyGroupMap<Key, Value>] {
        for i in frozen.indices where !frozen[i] && include(i) {
            // A frozen map must not depend on another view (its copy will share with it).
            if sharing[i] { endSharing(i) }
            frozen[i] = true
            frozenCount += 1
        }
        return maps
    }

    private func thaw(_ i: Int) {
        let frozenMap = maps[i]
        var spare = retired[i]
        retired[i] = nil
        // Reused only when nothing else holds it: the snapshot that read it is written.
        let reusable = spare != nil && isKnownUniquelyReferenced(&spare)
        maps[i] = frozenMap.sharingCopy(reusing: reusable ? spare : nil)
        unmanaged[i] = .passUnretained(maps[i])
        retired[i] = frozenMap
        frozen[i] = false
        frozenCount -= 1
        if maps[i].isSharing {
            sharing[i] = true
            sharingCount += 1
        }
    }

    /// Ends the sharing of map `i` with its retired map; if a snapshot still reads the
    /// retired map, that map keeps references to what it reads.
    private func endSharing(_ i: Int) {
        let view = isKnownUniquelyReferenced(&retired[i]) ? nil : retired[i]
        maps[i].endSharing(view: view)
        sharing[i] = false
        sharingCount -= 1
    }
}
