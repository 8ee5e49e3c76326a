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

    // Sharing with a frozen view (see ``sharingCopy(reusing:)``).

    /// One bit per slot while a frozen view holds a bitwise copy of this map's slots: set for
    /// a slot whose key and value the view still reads through this map's references. Nil
    /// when nothing is shared.
    private var shared: UnsafeMutablePointer<UInt64>?
    /// The entries this map overwrote or removed while they were shared, kept alive for the
    /// view.
    private var graveyard: [Slot] = []
    /// False for a frozen view whose entries belong to the map it was copied into (its
    /// slots are not destroyed with it).
    private var ownsEntries = true
    /// Entries a view holds references to after the map it shared them with stopped
    /// protecting them (see ``endSharing(view:)``).
    private var adopted: [Slot] = []

    /// Creates an empty map.
    public init() {
        assert(MemoryLayout<Slot>.offset(of: \Slot.hash) == 0)
        capacity = 8
        slots = Self.allocateEmpty(capacity)
        destroyEntries = Self.destroyEntries
    }

    deinit {
        if ownsEntries { destroyEntries(slots, capacity) }
        slots.deallocate()
        shared?.deallocate()
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

    private init(capacity: Int) {
        self.capacity = capacity
        slots = Self.allocateEmpty(capacity)
        destroyEntries = Self.destroyEntries
    }

    /// A map whose slots the caller fills completely before any use.
    private init(uninitializedCapacity capacity: Int) {
        self.capacity = capacity
        slots = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        destroyEntries = Self.destroyEntries
    }

    /// A copy of this frozen map for writing, made without copying any entry: the slots are
    /// copied bit for bit into `spare`'s storage (same capacity) or new storage, the copy
    /// takes over the references they hold, and this map becomes a view that reads through
    /// them (per-entry copy-on-write, after Flink's copy-on-write state map).
    ///
    /// A copy that retains every key and value touched each heap object of the group —
    /// session keys, window contents — once when copied and once when the frozen map was
    /// released: with state of hundreds of thousands of objects that was most of what a
    /// checkpoint cost the tasks. Now the copy retains only the entries it writes while the
    /// view is read: before an entry the view still reads is overwritten, removed or changed
    /// in place, its old version is kept (retained) for the view, so a value mutated in
    /// place is copied first (copy-on-write of its own storage), like any shared value.
    /// ``endSharing(view:)`` ends this once the view is no longer read.
    /// - Precondition: This map is frozen (not written again) and shares nothing itself;
    ///   nothing else reads or writes `spare`.
    public func sharingCopy(reusing spare: KeyGroupMap?) -> KeyGroupMap {
        precondition(!isSharing, "a map that shares its entries cannot be copied this way")
        let copy: KeyGroupMap
        if let spare, spare !== self, spare.capacity == capacity {
            if spare.ownsEntries { spare.destroyEntries(spare.slots, capacity) }
            spare.adopted = []
            spare.graveyard = []
            spare.shared?.deallocate()
            spare.shared = nil
            spare.ownsEntries = true
            copy = spare
        } else {
            // Every byte is copied over below: no need to mark the slots empty first.
            copy = KeyGroupMap(uninitializedCapacity: capacity)
        }
        UnsafeMutableRawPointer(copy.slots).copyMemory(from: slots, byteCount: capacity * MemoryLayout<Slot>.stride)
        copy.count = count
        // Plain data needs no protection: the bits are the copy.
        guard !_isPOD(Slot.self) else { return copy }
        ownsEntries = false
        let words = (capacity + 63) / 64
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bits.initialize(repeating: ~0, count: words)
        copy.shared = bits
        return copy
    }

    /// Whether this map keeps entries alive for a view (``sharingCopy(reusing:)``).
    public var isSharing: Bool { shared != nil || !graveyard.isEmpty }

    /// Stops protecting the entries a view reads. Pass nil once nothing reads the view; pass
    /// the view while something may still read it (a snapshot still being written when the
    /// map is frozen again or dropped): it then adopts references to everything it reads.
    public func endSharing(view: KeyGroupMap?) {
        guard isSharing else { return }
        if let view {
            var keep = graveyard
            appendSharedEntries(to: &keep)
            view.adopted += keep
        }
        graveyard = []
        shared?.deallocate()
        shared = nil
    }

    /// Appends (retains) the entries a view still reads through this map's slots.
    private func appendSharedEntries(to kept: inout [Slot]) {
        guard let bits = shared else { return }
        for i in 0..<capacity where bits[i >> 6] & (1 << UInt64(i & 63)) != 0 && hash(at: i) != 0 {
            kept.append(slots[i])
        }
    }

    /// Before the entry in slot `i` is changed, removed or moved out of place: if a view
    /// still reads it, keeps a reference to it for the view.
    @inline(__always)
    private func willWrite(_ i: Int) {
        guard let bits = shared else { return }
        let mask: UInt64 = 1 << UInt64(i & 63)
        guard bits[i >> 6] & mask != 0 else { return }
        bits[i >> 6] &= ~mask
        graveyard.append(slots[i])
    }

    /// A slot that just received a new entry: not shared.
    @inline(__always)
    private func didInsert(_ i: Int) {
        guard let bits = shared else { return }
        bits[i >> 6] &= ~(1 << UInt64(i & 63))
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
            willWrite(i)
            let old = slots[i].value
            slots[i].value = value
            return old
        }
        if (count + 1) * 4 > capacity * 3 {
            grow()
            i = probe(key).index
        }
        (slots + i).initialize(to: Slot(hash: Self.stored(key.hash), key: key.key, value: value))
        didInsert(i)
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
            didInsert(i)
            count += 1
        } else {
            willWrite(i)
        }
        return body(&slots[i].value)
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public func removeValue(forKey key: HashedKey<Key>) -> Value? {
        let (i, found) = probe(key)
        guard found else { return nil }
        willWrite(i)
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
                if let bits = shared {
                    // The entry's shared bit moves with it.
                    let from: UInt64 = 1 << UInt64(i & 63), to: UInt64 = 1 << UInt64(hole & 63)
                    if bits[i >> 6] & from != 0 { bits[hole >> 6] |= to } else { bits[hole >> 6] &= ~to }
                    bits[i >> 6] &= ~from
                }
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
        // Entries move to new slots: keep what a view still reads, and stop tracking slots.
        if let bits = shared {
            appendSharedEntries(to: &graveyard)
            bits.deallocate()
            shared = nil
        }
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
