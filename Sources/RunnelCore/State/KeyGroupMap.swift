/// An open-addressing hash map from hashed keys to values: the storage of one key group of
/// one keyed state.
///
/// Written here rather than using `Dictionary` because keys arrive with their 64-bit stable
/// hash already computed (``HashedKey``): `Dictionary` would hash that hash again with
/// SipHash on every access, which was a measurable share of the per-element cost. Linear
/// probing over a power-of-two table at most 3/4 full; deletion shifts entries back so no
/// tombstones accumulate.
///
/// Thread safety: owned by one subtask.
public final class KeyGroupMap<Key: StreamKey, Value> {
    /// Stored hashes; 0 marks an empty slot (a real hash of 0 is stored as 1). Dense, so a
    /// probe sequence touches few cache lines.
    private var hashes: UnsafeMutablePointer<UInt64>
    /// Key and value of each occupied slot, side by side (one cache miss per hit).
    private var entries: UnsafeMutablePointer<(key: Key, value: Value)>
    private var capacity: Int
    /// The number of entries.
    public private(set) var count = 0

    /// Creates an empty map.
    public init() {
        capacity = 8
        hashes = .allocate(capacity: capacity)
        hashes.initialize(repeating: 0, count: capacity)
        entries = .allocate(capacity: capacity)
    }

    deinit {
        for i in 0..<capacity where hashes[i] != 0 { (entries + i).deinitialize(count: 1) }
        hashes.deallocate()
        entries.deallocate()
    }

    /// Whether the map is empty.
    public var isEmpty: Bool { count == 0 }

    @inline(__always)
    private static func stored(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

    /// The home slot of a stored hash. Taken from the high bits: every key of one key group
    /// has the same `hash % maxParallelism`, so the low bits would send them all to the
    /// same few slots.
    @inline(__always)
    private func home(_ stored: UInt64) -> Int {
        Int(truncatingIfNeeded: (stored &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - capacity.trailingZeroBitCount))
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ key: HashedKey<Key>) -> (index: Int, found: Bool) {
        let h = Self.stored(key.hash)
        let mask = capacity - 1
        var i = home(h)
        while true {
            let s = hashes[i]
            if s == 0 { return (i, false) }
            if s == h && entries[i].key == key.key { return (i, true) }
            i = (i + 1) & mask
        }
    }

    /// The value stored for `key`.
    public subscript(key: HashedKey<Key>) -> Value? {
        let (i, found) = probe(key)
        return found ? entries[i].value : nil
    }

    /// Stores `value` for `key`; returns the previous value.
    @discardableResult
    public func updateValue(_ value: Value, forKey key: HashedKey<Key>) -> Value? {
        var (i, found) = probe(key)
        if found {
            let old = entries[i].value
            entries[i].value = value
            return old
        }
        if (count + 1) * 4 > capacity * 3 {
            grow()
            i = probe(key).index
        }
        hashes[i] = Self.stored(key.hash)
        (entries + i).initialize(to: (key.key, value))
        count += 1
        return nil
    }

    /// Updates the value for `key` in place, inserting `initial()` first when absent.
    public func withValue<R>(forKey key: HashedKey<Key>, default initial: () -> Value, _ body: (inout Value) -> R) -> R {
        var (i, found) = probe(key)
        if !found {
            if (count + 1) * 4 > capacity * 3 {
                grow()
                i = probe(key).index
            }
            hashes[i] = Self.stored(key.hash)
            (entries + i).initialize(to: (key.key, initial()))
            count += 1
        }
        return body(&entries[i].value)
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public func removeValue(forKey key: HashedKey<Key>) -> Value? {
        let (i, found) = probe(key)
        guard found else { return nil }
        let old = (entries + i).move().value
        hashes[i] = 0
        count -= 1
        backShift(from: i)
        return old
    }

    /// Removes every entry for which `shouldRemove` is true.
    public func removeAll(where shouldRemove: (Key, Value) -> Bool) {
        // Collect first (removal moves entries), keeping each key's stored hash so that no
        // key is hashed again; a stored hash probes exactly like the hash it came from.
        var doomed: [HashedKey<Key>] = []
        for i in 0..<capacity where hashes[i] != 0 && shouldRemove(entries[i].key, entries[i].value) {
            doomed.append(HashedKey(entries[i].key, hash: hashes[i]))
        }
        for key in doomed { removeValue(forKey: key) }
    }

    /// Calls `body` for every entry, in no particular order.
    public func forEach(_ body: (Key, Value) -> Void) {
        for i in 0..<capacity where hashes[i] != 0 { body(entries[i].key, entries[i].value) }
    }

    /// Whether any entry satisfies `predicate`.
    public func contains(where predicate: (Key, Value) -> Bool) -> Bool {
        for i in 0..<capacity where hashes[i] != 0 && predicate(entries[i].key, entries[i].value) { return true }
        return false
    }

    /// Every key.
    public var allKeys: [Key] {
        var result: [Key] = []
        result.reserveCapacity(count)
        forEach { k, _ in result.append(k) }
        return result
    }

    /// Closes the gap at `hole` left by a deletion, so that probes never stop early.
    private func backShift(from hole: Int) {
        let mask = capacity - 1
        var hole = hole
        var i = (hole + 1) & mask
        while hashes[i] != 0 {
            let homeSlot = home(hashes[i])
            // Move entry i into the hole if its home slot is not in (hole, i] cyclically.
            let distanceToI = (i - homeSlot) & mask
            let distanceToHole = (hole - homeSlot) & mask
            if distanceToHole < distanceToI {
                hashes[hole] = hashes[i]
                (entries + hole).moveInitialize(from: entries + i, count: 1)
                hashes[i] = 0
                hole = i
            }
            i = (i + 1) & mask
        }
    }

    private func grow() {
        let oldCapacity = capacity, oldHashes = hashes, oldEntries = entries
        capacity *= 2
        hashes = .allocate(capacity: capacity)
        hashes.initialize(repeating: 0, count: capacity)
        entries = .allocate(capacity: capacity)
        let mask = capacity - 1
        for j in 0..<oldCapacity where oldHashes[j] != 0 {
            var i = home(oldHashes[j])
            while hashes[i] != 0 { i = (i + 1) & mask }
            hashes[i] = oldHashes[j]
            (entries + i).moveInitialize(from: oldEntries + j, count: 1)
        }
        oldHashes.deallocate()
        oldEntries.deallocate()
    }
}
