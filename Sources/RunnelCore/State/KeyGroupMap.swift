/// An open-addressing hash map from hashed keys to values: the storage of one key group of
/// one keyed state.
///
/// Written here rather than using `Dictionary` because keys arrive with their 64-bit stable
/// hash already computed (``HashedKey``): `Dictionary` would hash that hash again with
/// SipHash on every access, which was a measurable share of the per-element cost. Linear
/// probing over a power-of-two table at most 3/4 full; deletion shifts entries back so no
/// tombstones accumulate. Each slot holds the stored hash, the key and the value side by
/// side, so a lookup in a large map (deduplication state of a million ids) costs one cache
/// miss rather than one for a hash array and another for the entry.
///
/// Thread safety: owned by one subtask.
public final class KeyGroupMap<Key: StreamKey, Value> {
    /// One slot. `hash` comes first (offset 0, as Swift lays out stored properties in
    /// declaration order): 0 marks an empty slot whose key and value are uninitialized,
    /// so it is read and written through raw memory. A real hash of 0 is stored as 1.
    private struct Slot {
        var hash: UInt64
        var key: Key
        var value: Value
    }

    private var slots: UnsafeMutablePointer<Slot>
    private var capacity: Int
    /// Destroys the entries of a slot table. Set by the initializers, which callers
    /// specialize for the map's types; `deinit` of a generic class is not specialized, and
    /// destroying a million entries through value witnesses showed in checkpoint profiles
    /// (frozen maps are released after each checkpoint).
    private let destroyEntries: (UnsafeMutablePointer<Slot>, Int) -> Void
    /// The number of entries.
    public private(set) var count = 0

    /// Creates an empty map.
    public init() {
        assert(MemoryLayout<Slot>.offset(of: \Slot.hash) == 0)
        capacity = 8
        slots = Self.allocateEmpty(capacity)
        destroyEntries = Self.destroyEntries
    }

    deinit {
        destroyEntries(slots, capacity)
        slots.deallocate()
    }

    private static func destroyEntries(_ slots: UnsafeMutablePointer<Slot>, _ capacity: Int) {
        guard !_isPOD(Slot.self) else { return }
        for i in 0..<capacity where UnsafeRawPointer(slots + i).load(as: UInt64.self) != 0 {
            (slots + i).deinitialize(count: 1)
        }
    }

    private static func allocateEmpty(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        for i in 0..<capacity { UnsafeMutableRawPointer(slots + i).storeBytes(of: 0, as: UInt64.self) }
        return slots
    }

    @inline(__always)
    private func hash(at i: Int) -> UInt64 {
        UnsafeRawPointer(slots + i).load(as: UInt64.self)
    }

    @inline(__always)
    private func markEmpty(_ i: Int) {
        UnsafeMutableRawPointer(slots + i).storeBytes(of: 0, as: UInt64.self)
    }

    /// A copy of the map (the entries copied, not shared).
    public func copy() -> KeyGroupMap {
        let other = KeyGroupMap(capacity: capacity)
        for i in 0..<capacity where hash(at: i) != 0 { (other.slots + i).initialize(to: slots[i]) }
        other.count = count
        return other
    }

    /// A copy of the map written into `spare`'s storage when `spare` has the same capacity
    /// (its own entries are destroyed first), else into new storage.
    ///
    /// Copy-on-write after a checkpoint copies every key group the task writes; into new
    /// storage that means page faults on every page of a state that may be hundreds of
    /// megabytes, every checkpoint. The map frozen for the previous checkpoint, once its
    /// snapshot is written, has the right size and pages already mapped.
    /// - Precondition: Nothing else reads or writes `spare`.
    public func copy(reusing spare: KeyGroupMap?) -> KeyGroupMap {
        guard let spare, spare !== self, spare.capacity == capacity else { return copy() }
        spare.destroyEntries(spare.slots, capacity)
        for i in 0..<capacity {
            if hash(at: i) != 0 {
                (spare.slots + i).initialize(to: slots[i])
            } else {
                spare.markEmpty(i)
            }
        }
        spare.count = count
        return spare
    }

    private init(capacity: Int) {
        self.capacity = capacity
        slots = Self.allocateEmpty(capacity)
        destroyEntries = Self.destroyEntries
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
            let s = hash(at: i)
            if s == 0 { return (i, false) }
            if s == h && slots[i].key == key.key { return (i, true) }
            i = (i + 1) & mask
        }
    }

    /// The value stored for `key`.
    public subscript(key: HashedKey<Key>) -> Value? {
        let (i, found) = probe(key)
        return found ? slots[i].value : nil
    }

    /// Stores `value` for `key`; returns the previous value.
    @discardableResult
    public func updateValue(_ value: Value, forKey key: HashedKey<Key>) -> Value? {
        var (i, found) = probe(key)
        if found {
            let old = slots[i].value
            slots[i].value = value
            return old
        }
        if (count + 1) * 4 > capacity * 3 {
            grow()
            i = probe(key).index
        }
        (slots + i).initialize(to: Slot(hash: Self.stored(key.hash), key: key.key, value: value))
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
            (slots + i).initialize(to: Slot(hash: Self.stored(key.hash), key: key.key, value: initial()))
            count += 1
        }
        return body(&slots[i].value)
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public func removeValue(forKey key: HashedKey<Key>) -> Value? {
        let (i, found) = probe(key)
        guard found else { return nil }
        let old = (slots + i).move().value
        markEmpty(i)
        count -= 1
        backShift(from: i)
        return old
    }

    /// Removes every entry for which `shouldRemove` is true.
    public func removeAll(where shouldRemove: (Key, Value) -> Bool) {
        // Collect first (removal moves entries), keeping each key's stored hash so that no
        // key is hashed again; a stored hash probes exactly like the hash it came from.
        var doomed: [HashedKey<Key>] = []
        for i in 0..<capacity where hash(at: i) != 0 && shouldRemove(slots[i].key, slots[i].value) {
            doomed.append(HashedKey(slots[i].key, hash: hash(at: i)))
        }
        for key in doomed { removeValue(forKey: key) }
    }

    /// Calls `body` with each entry where it is stored, without copying it out (snapshots
    /// encode frozen maps in place, and keep pointers to timers to group them by key group).
    public func forEachInPlace(_ body: (UnsafePointer<Key>, UnsafePointer<Value>) -> Void) {
        let keyOffset = MemoryLayout<Slot>.offset(of: \Slot.key)!
        let valueOffset = MemoryLayout<Slot>.offset(of: \Slot.value)!
        for i in 0..<capacity where hash(at: i) != 0 {
            let slot = UnsafeRawPointer(slots + i)
            body((slot + keyOffset).assumingMemoryBound(to: Key.self), (slot + valueOffset).assumingMemoryBound(to: Value.self))
        }
    }

    /// Calls `body` for every entry, in no particular order.
    public func forEach(_ body: (Key, Value) -> Void) {
        for i in 0..<capacity where hash(at: i) != 0 { body(slots[i].key, slots[i].value) }
    }

    /// Whether any entry satisfies `predicate`.
    public func contains(where predicate: (Key, Value) -> Bool) -> Bool {
        for i in 0..<capacity where hash(at: i) != 0 && predicate(slots[i].key, slots[i].value) { return true }
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
        while hash(at: i) != 0 {
            let homeSlot = home(hash(at: i))
            // Move entry i into the hole if its home slot is not in (hole, i] cyclically.
            let distanceToI = (i - homeSlot) & mask
            let distanceToHole = (hole - homeSlot) & mask
            if distanceToHole < distanceToI {
                (slots + hole).moveInitialize(from: slots + i, count: 1)
                markEmpty(i)
                hole = i
            }
            i = (i + 1) & mask
        }
    }

    /// Makes room for `total` entries, so that adding up to that many rehashes nothing
    /// (restoring a key group whose size is known).
    public func reserveCapacity(_ total: Int) {
        var target = capacity
        while total * 4 > target * 3 { target *= 2 }
        if target > capacity { grow(to: target) }
    }

    private func grow() { grow(to: capacity * 2) }

    private func grow(to newCapacity: Int) {
        let oldCapacity = capacity, oldSlots = slots
        capacity = newCapacity
        slots = Self.allocateEmpty(capacity)
        let mask = capacity - 1
        for j in 0..<oldCapacity {
            let h = UnsafeRawPointer(oldSlots + j).load(as: UInt64.self)
            guard h != 0 else { continue }
            var i = home(h)
            while hash(at: i) != 0 { i = (i + 1) & mask }
            (slots + i).moveInitialize(from: oldSlots + j, count: 1)
        }
        oldSlots.deallocate()
    }
}
