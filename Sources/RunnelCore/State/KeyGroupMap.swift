import CPrefetch

/// A hash map from hashed keys to values: the storage of one key group of one keyed state.
///
/// Written here rather than using `Dictionary` because keys arrive with their 64-bit stable
/// hash already computed (``HashedKey``): `Dictionary` would hash that hash again with
/// SipHash on every access, which was a measurable share of the per-element cost.
///
/// Layout (a compact hash table, as in CPython's dict): the entries — stored hash, key,
/// value — lie densely in insertion order, and a separate open-addressing index (linear
/// probing over a power-of-two table at most 3/4 full) maps hashes to entry positions.
/// Each index slot is 8 bytes: 32 bits of the hash, from which the slot's home is derived,
/// and the entry's position. So:
/// - a lookup of an absent key (every insert into deduplication state) reads only the index,
///   and one of a present key reads one entry;
/// - removal moves the last entry into the hole and back-shifts the index, so there are no
///   tombstones, and growth rebuilds the index from the index alone; removing many entries
///   at once (TTL sweeps) instead slides the rest down and rebuilds the index from the
///   entries (``removeAll(expected:where:)``), which moves positions, so it is done only
///   while nothing shares the entries;
/// - a checkpoint reads and copies `count` entries rather than a table of which more than
///   half is empty: on the replay job's million deduplication keys per subtask the old
///   layout (entries in the probe table, 41 % full on average) copied and scanned 117 bytes
///   per entry, this one about 64.
///
/// That is the ``KeyGroupMapLayout/indexed`` layout. In the ``KeyGroupMapLayout/inline``
/// one, chosen for state read on every element for keys it mostly holds (session slots),
/// the entries lie in the probe table itself (`capacity` slots, at most 3/4 full, an empty
/// slot marked by a stored hash of 0), with no index: a lookup of a present key reads one
/// slot. Removal back-shifts entries, and growth moves them, so positions are slots there.
///
/// Thread safety: owned by one subtask.
public final class KeyGroupMap<Key: StreamKey, Value> {
    /// One entry. `hash` comes first (offset 0, as Swift lays out stored properties in
    /// declaration order): in the inline layout an empty slot, whose key and value are
    /// uninitialized, is marked by 0 there, read and written through raw memory; a real
    /// hash of 0 is stored there as 1.
    private struct Item {
        var hash: UInt64
        var key: Key
        var value: Value
    }

    /// Whether the entries lie in the probe table (``KeyGroupMapLayout/inline``).
    private let isInline: Bool
    /// The index: `capacity` slots, 0 for an empty one, else `fingerprint << 32 | (position + 1)`.
    /// One unused slot in the inline layout.
    private var index: UnsafeMutablePointer<UInt64>
    /// The number of index slots, or of entry slots in the inline layout (a power of two).
    private var capacity: Int
    /// The entries: `count` of them initialized, room for `capacity * 3 / 4`; in the inline
    /// layout, `capacity` slots of which `count` hold an entry.
    private var entries: UnsafeMutablePointer<Item>
    /// Destroys entries. Set by the initializers, which callers specialize for the map's
    /// types; `deinit` of a generic class is not specialized, and destroying a million
    /// entries through value witnesses showed in checkpoint profiles (frozen maps are
    /// released after each checkpoint).
    private let destroyItems: (UnsafeMutablePointer<Item>, Int) -> Void
    /// The number of entries.
    public private(set) var count = 0

    // Sharing with a frozen view (see ``sharingCopy(reusing:)``).

    /// One bit per entry position below `sharedLimit` while a frozen view holds a bitwise
    /// copy of this map's entries: set for a position whose key and value the view still
    /// reads through this map's references. Nil when nothing is shared.
    private var shared: UnsafeMutablePointer<UInt64>?
    /// The number of positions `shared` covers (the entry count when the view was made;
    /// positions from there on hold entries added since, which the view never read).
    private var sharedLimit = 0
    /// The entries this map overwrote or removed while they were shared, kept alive for the
    /// view.
    private var graveyard: [Item] = []
    /// False for a frozen view whose entries belong to the map it was copied into (they are
    /// not destroyed with it).
    private var ownsEntries = true
    /// Entries a view holds references to after the map it shared them with stopped
    /// protecting them (see ``endSharing(view:)``).
    private var adopted: [Item] = []

    /// Creates an empty map laid out as `layout`.
    public convenience init(layout: KeyGroupMapLayout = .indexed) {
        self.init(capacity: 8, isInline: layout == .inline)
        if isInline {
            Self.markEmpty(entries, capacity)
        } else {
            index.initialize(repeating: 0, count: capacity)
        }
    }

    /// A map of `capacity` slots, its storage uninitialized (the caller fills it completely
    /// before any use).
    private init(capacity: Int, isInline: Bool) {
        self.capacity = capacity
        self.isInline = isInline
        if isInline {
            index = .allocate(capacity: 1)
            entries = .allocate(capacity: capacity)
            destroyItems = Self.destroyOccupiedSlots
        } else {
            index = .allocate(capacity: capacity)
            entries = .allocate(capacity: Self.entryCapacity(capacity))
            destroyItems = Self.destroyItems
        }
    }

    deinit {
        if ownsEntries { destroyItems(entries, initializedLimit) }
        entries.deallocate()
        index.deallocate()
        shared?.deallocate()
    }

    /// The positions below which entries lie: `count`, or every slot in the inline layout.
    @inline(__always)
    private var initializedLimit: Int { isInline ? capacity : count }

    private static func destroyItems(_ items: UnsafeMutablePointer<Item>, _ count: Int) {
        items.deinitialize(count: count)
    }

    /// Destroys the entries of the first `capacity` slots of an inline table.
    private static func destroyOccupiedSlots(_ slots: UnsafeMutablePointer<Item>, _ capacity: Int) {
        guard !_isPOD(Item.self) else { return }
        for i in 0..<capacity where storedHash(slots, i) != 0 { (slots + i).deinitialize(count: 1) }
    }

    /// Marks the first `capacity` inline slots empty.
    private static func markEmpty(_ slots: UnsafeMutablePointer<Item>, _ capacity: Int) {
        assert(MemoryLayout<Item>.offset(of: \Item.hash) == 0)
        for i in 0..<capacity { UnsafeMutableRawPointer(slots + i).storeBytes(of: 0, as: UInt64.self) }
    }

    /// `capacity` inline slots, all empty.
    private static func allocateEmptySlots(_ capacity: Int) -> UnsafeMutablePointer<Item> {
        let slots = UnsafeMutablePointer<Item>.allocate(capacity: capacity)
        markEmpty(slots, capacity)
        return slots
    }

    /// The hash stored in inline slot `i` (0: empty), read without touching its key or value.
    @inline(__always)
    private static func storedHash(_ slots: UnsafeMutablePointer<Item>, _ i: Int) -> UInt64 {
        UnsafeRawPointer(slots + i).load(as: UInt64.self)
    }

    /// Whether inline slot `i` holds an entry.
    @inline(__always)
    private func isOccupied(_ i: Int) -> Bool { Self.storedHash(entries, i) != 0 }

    /// A hash as an inline slot stores it: 0 marks an empty slot.
    @inline(__always)
    private static func stored(_ hash: UInt64) -> UInt64 { hash == 0 ? 1 : hash }

    private static func allocateIndex(_ capacity: Int) -> UnsafeMutablePointer<UInt64> {
        let index = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        index.initialize(repeating: 0, count: capacity)
        return index
    }

    /// The most entries an index of `capacity` slots takes.
    @inline(__always)
    private static func entryCapacity(_ capacity: Int) -> Int { capacity / 4 * 3 }

    /// The 32 bits of a hash kept in the index: the high half of a multiplicative hash of
    /// all 64 bits, so that every bit counts (every key of one key group has the same
    /// `hash % maxParallelism`, so the low bits alone would crowd them together).
    @inline(__always)
    private static func fingerprint(_ hash: UInt64) -> UInt64 {
        (hash &* 0x9E37_79B9_7F4A_7C15) >> 32
    }

    /// The home slot of a fingerprint: its top bits.
    @inline(__always)
    private func home(_ fingerprint: UInt64) -> Int {
        Int(truncatingIfNeeded: fingerprint >> UInt64(32 - capacity.trailingZeroBitCount))
    }

    @inline(__always)
    private static func position(_ slot: UInt64) -> Int { Int(truncatingIfNeeded: slot & 0xFFFF_FFFF) - 1 }

    /// A copy of the map (the entries copied, not shared).
    public func copy() -> KeyGroupMap {
        let other = KeyGroupMap(capacity: capacity, isInline: isInline)
        if isInline {
            for i in 0..<capacity {
                if isOccupied(i) {
                    (other.entries + i).initialize(to: entries[i])
                } else {
                    UnsafeMutableRawPointer(other.entries + i).storeBytes(of: 0, as: UInt64.self)
                }
            }
        } else {
            other.index.initialize(from: index, count: capacity)
            other.entries.initialize(from: entries, count: count)
        }
        other.count = count
        return other
    }

    /// A copy of this frozen map for writing, made without copying any entry: the index and
    /// the entries are copied bit for bit into `spare`'s storage (same capacity) or new
    /// storage, the copy takes over the references they hold, and this map becomes a view
    /// that reads through them (per-entry copy-on-write, after Flink's copy-on-write state
    /// map).
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
        if let spare, spare !== self, spare.capacity == capacity, spare.isInline == isInline {
            if spare.ownsEntries { spare.destroyItems(spare.entries, spare.initializedLimit) }
            spare.adopted = []
            spare.graveyard = []
            spare.shared?.deallocate()
            spare.shared = nil
            spare.sharedLimit = 0
            spare.ownsEntries = true
            copy = spare
        } else {
            // Every slot is copied over below: no need to clear them first.
            copy = KeyGroupMap(capacity: capacity, isInline: isInline)
        }
        if !isInline {
            UnsafeMutableRawPointer(copy.index).copyMemory(from: index, byteCount: capacity * MemoryLayout<UInt64>.stride)
        }
        let limit = initializedLimit
        UnsafeMutableRawPointer(copy.entries).copyMemory(from: entries, byteCount: limit * MemoryLayout<Item>.stride)
        copy.count = count
        // Plain data needs no protection: the bits are the copy.
        guard !_isPOD(Item.self), count > 0 else { return copy }
        ownsEntries = false
        // In the inline layout the bits of empty slots are set too: an entry added to one
        // clears its bit (``didAdd(_:)``), and nothing else reads an empty slot's bit.
        let words = (limit + 63) / 64
        let bits = UnsafeMutablePointer<UInt64>.allocate(capacity: words)
        bits.initialize(repeating: ~0, count: words)
        copy.shared = bits
        copy.sharedLimit = limit
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
            if let bits = shared {
                for p in 0..<min(sharedLimit, initializedLimit)
                where bits[p >> 6] & (1 << UInt64(p & 63)) != 0 && (!isInline || isOccupied(p)) {
                    keep.append(entries[p])
                }
            }
            view.adopted += keep
        }
        graveyard = []
        shared?.deallocate()
        shared = nil
        sharedLimit = 0
    }

    /// Before the entry at position `p` is changed, removed or moved: if a view still reads
    /// it, keeps a reference to it for the view.
    @inline(__always)
    private func willWrite(_ p: Int) {
        guard let bits = shared, p < sharedLimit else { return }
        let mask: UInt64 = 1 << UInt64(p & 63)
        guard bits[p >> 6] & mask != 0 else { return }
        bits[p >> 6] &= ~mask
        graveyard.append(entries[p])
    }

    /// An entry was just put in inline slot `i`, which a view never read: its shared bit
    /// (set for every slot when the sharing began) is cleared, so that a later write does
    /// not keep a needless reference to it for the view.
    @inline(__always)
    private func didAdd(_ i: Int) {
        guard let bits = shared, i < sharedLimit else { return }
        bits[i >> 6] &= ~(1 << UInt64(i & 63))
    }

    /// Whether the map is empty.
    public var isEmpty: Bool { count == 0 }

    /// The index slot of `key` and its entry's position (-1 when absent: the slot is the
    /// empty one where it would go). In the inline layout both are the entry's slot.
    @inline(__always)
    private func probe(_ key: HashedKey<Key>) -> (slot: Int, position: Int) {
        if isInline { return probeInline(key) }
        let f = Self.fingerprint(key.hash)
        let mask = capacity - 1
        var i = home(f)
        while true {
            let s = index[i]
            if s == 0 { return (i, -1) }
            if s >> 32 == f {
                let p = Self.position(s)
                if entries[p].hash == key.hash && entries[p].key == key.key { return (i, p) }
            }
            i = (i + 1) & mask
        }
    }

    /// ``probe(_:)`` in the inline layout.
    @inline(__always)
    private func probeInline(_ key: HashedKey<Key>) -> (slot: Int, position: Int) {
        let h = Self.stored(key.hash)
        let mask = capacity - 1
        var i = home(Self.fingerprint(h))
        while true {
            let s = Self.storedHash(entries, i)
            if s == 0 { return (i, -1) }
            if s == h && entries[i].key == key.key { return (i, i) }
            i = (i + 1) & mask
        }
    }

    /// Starts loading the index slot where a lookup of `hash` begins (the entry's slot in
    /// the inline layout, all of it), without waiting for it (nothing for an empty map,
    /// which is in the cache anyway). On a large map that slot is a cache miss (the
    /// deduplication state's index is megabytes), which the input gate overlaps with the
    /// records before this one.
    @inline(__always)
    public func prefetch(keyHash hash: UInt64) {
        guard count > 0 else { return }
        if isInline {
            let slot = UnsafeRawPointer(entries + home(Self.fingerprint(Self.stored(hash))))
            // An entry larger than a cache line (a session held in its slot) spans two or
            // more: each of them (a loop over a constant, unrolled).
            var offset = 0
            while offset < MemoryLayout<Item>.stride {
                runnel_prefetch(slot + offset)
                offset &+= 64
            }
            if MemoryLayout<Item>.stride > 64 { runnel_prefetch(slot + (MemoryLayout<Item>.stride &- 1)) }
        } else {
            runnel_prefetch(index + home(Self.fingerprint(hash)))
        }
    }

    /// The index slot that holds position `p`.
    private func slot(ofPosition p: Int) -> Int {
        let mask = capacity - 1
        var i = home(Self.fingerprint(entries[p].hash))
        while Self.position(index[i]) != p { i = (i + 1) & mask }
        return i
    }

    /// Adds a new entry for `key` at empty index slot `i` (from ``probe(_:)``); returns its position.
    @inline(__always)
    private func insert(_ key: HashedKey<Key>, _ value: Value, at i: Int) -> Int {
        var i = i
        if count == Self.entryCapacity(capacity) {
            grow(to: capacity * 2)
            i = probe(key).slot
        }
        if isInline {
            (entries + i).initialize(to: Item(hash: Self.stored(key.hash), key: key.key, value: value))
            didAdd(i)
            count += 1
            return i
        }
        let p = count
        (entries + p).initialize(to: Item(hash: key.hash, key: key.key, value: value))
        index[i] = Self.fingerprint(key.hash) << 32 | UInt64(p + 1)
        count += 1
        return p
    }

    /// The value stored for `key`.
    public subscript(key: HashedKey<Key>) -> Value? {
        let p = probe(key).position
        return p >= 0 ? entries[p].value : nil
    }

    /// Stores `value` for `key`; returns the previous value.
    @discardableResult
    public func updateValue(_ value: Value, forKey key: HashedKey<Key>) -> Value? {
        let (i, p) = probe(key)
        if p >= 0 {
            willWrite(p)
            let old = entries[p].value
            entries[p].value = value
            return old
        }
        _ = insert(key, value, at: i)
        return nil
    }

    /// Updates the value for `key` in place, inserting `initial()` first when absent.
    ///
    /// Inlined into its callers (every per-record write of keyed state goes through here), so
    /// that their `initial` and `body` closures are inlined too rather than called through
    /// partial-application forwarders: 2.8 % fewer instructions in the creator replay (100 k
    /// events, p = 2) and 1.0–1.5 % fewer in Nexmark q5, q7 and q11, a smaller binary.
    @inline(__always)
    public func withValue<R>(forKey key: HashedKey<Key>, default initial: () -> Value, _ body: (inout Value) -> R) -> R {
        var (i, p) = probe(key)
        if p < 0 {
            p = insert(key, initial(), at: i)
        } else {
            willWrite(p)
        }
        return body(&entries[p].value)
    }

    /// Updates the value for `key` in place when there is one, and removes the entry when
    /// `body` says so (`remove`), with one lookup; nil (nothing inserted) when `key` is absent.
    ///
    /// For a change that may empty a value (a window taken out of a key's windows): a
    /// lookup, then a second one to remove the emptied entry, cost two probes, and
    /// ``withValue(forKey:default:_:)`` on an absent key would insert an entry only to remove it.
    public func withExistingValue<R>(forKey key: HashedKey<Key>, _ body: (inout Value) -> (result: R, remove: Bool)) -> R? {
        let (i, p) = probe(key)
        guard p >= 0 else { return nil }
        willWrite(p)
        let (result, remove) = body(&entries[p].value)
        if remove { _ = self.remove(slot: i, position: p) }
        return result
    }

    /// Removes `key`; returns its value.
    @discardableResult
    public func removeValue(forKey key: HashedKey<Key>) -> Value? {
        let (i, p) = probe(key)
        guard p >= 0 else { return nil }
        return remove(slot: i, position: p)
    }

    /// Removes the entry at position `p`, whose index slot is `i`: the last entry moves into
    /// its place.
    private func remove(slot i: Int, position p: Int) -> Value {
        if isInline { return removeInline(at: i) }
        willWrite(p)
        let old = (entries + p).move().value
        backShift(from: i)
        let last = count - 1
        if p != last {
            // The moved entry's shared bit moves with it (its references are the same).
            if let bits = shared, p < sharedLimit {
                let to: UInt64 = 1 << UInt64(p & 63)
                if last < sharedLimit && bits[last >> 6] & (1 << UInt64(last & 63)) != 0 {
                    bits[p >> 6] |= to
                    bits[last >> 6] &= ~(1 << UInt64(last & 63))
                } else {
                    bits[p >> 6] &= ~to
                }
            }
            let s = slot(ofPosition: last)
            (entries + p).moveInitialize(from: entries + last, count: 1)
            index[s] = index[s] & ~0xFFFF_FFFF | UInt64(p + 1)
        } else if let bits = shared, p < sharedLimit {
            bits[p >> 6] &= ~(1 << UInt64(p & 63))
        }
        count = last
        return old
    }

    /// Removes every entry for which `shouldRemove` is true. `expected`, when known, is how
    /// many that is.
    ///
    /// Many removals at once (TTL sweeps: a sixth of a deduplication group each time) close
    /// the gaps and rebuild the index in one pass over the entries: removing them one by one
    /// searches the index for each removed entry and for the last entry moved into its place,
    /// two cache misses each on a large group. A few are removed one by one.
    public func removeAll(expected: Int? = nil, where shouldRemove: (Key, Value) -> Bool) {
        if isInline {
            removeAllInline(where: shouldRemove)
            return
        }
        if !isSharing, let expected, expected &* Self.bulkRemovalDivisor >= count {
            removeAllCompacting(where: shouldRemove)
            return
        }
        // From the end: a removal moves the last entry into the hole, one already looked at.
        var p = count - 1
        while p >= 0 {
            if shouldRemove(entries[p].key, entries[p].value) { _ = remove(slot: slot(ofPosition: p), position: p) }
            p -= 1
        }
    }

    /// Removing at least `count / bulkRemovalDivisor` entries rebuilds the index (see
    /// ``removeAll(expected:where:)``): a rebuild writes each remaining entry's slot, in a
    /// group's index that fits the L2 cache, where a removal one by one misses it twice.
    static var bulkRemovalDivisor: Int { 16 }

    /// Removes the entries `shouldRemove` selects by sliding the others down (their order
    /// kept), then rebuilds the index. Not while entries are shared with a view, whose
    /// protection follows positions.
    private func removeAllCompacting(where shouldRemove: (Key, Value) -> Bool) {
        var kept = 0
        for p in 0..<count {
            if shouldRemove(entries[p].key, entries[p].value) {
                (entries + p).deinitialize(count: 1)
            } else {
                if kept != p { (entries + kept).moveInitialize(from: entries + p, count: 1) }
                kept += 1
            }
        }
        guard kept != count else { return }
        count = kept
        index.update(repeating: 0, count: capacity)
        fillIndex(count) { p in Self.fingerprint(entries[p].hash) << 32 | UInt64(p + 1) }
    }

    /// Fills the cleared index with the slots `slot(0..<n)` gives (fingerprint and position;
    /// 0 to skip), each at the first empty slot from its home: an index rebuilt after growth
    /// or a bulk removal, where nothing is looked up and nothing removed.
    @inline(__always)
    private func fillIndex(_ n: Int, _ slot: (Int) -> UInt64) {
        let mask = capacity - 1
        for j in 0..<n {
            let s = slot(j)
            if s == 0 { continue }
            var i = home(s >> 32)
            while index[i] != 0 { i = (i + 1) & mask }
            index[i] = s
        }
    }

    /// Calls `body` with each entry where it is stored, without copying it out (snapshots
    /// encode frozen maps in place, and keep pointers to timers to group them by key group).
    public func forEachInPlace(_ body: (UnsafePointer<Key>, UnsafePointer<Value>) -> Void) {
        let keyOffset = MemoryLayout<Item>.offset(of: \Item.key)!
        let valueOffset = MemoryLayout<Item>.offset(of: \Item.value)!
        forEachPosition { p in
            let item = UnsafeRawPointer(entries + p)
            body((item + keyOffset).assumingMemoryBound(to: Key.self), (item + valueOffset).assumingMemoryBound(to: Value.self))
        }
    }

    /// Calls `body` with the position of every entry (each occupied slot in the inline layout).
    @inline(__always)
    private func forEachPosition(_ body: (Int) -> Void) {
        if isInline {
            for i in 0..<capacity where isOccupied(i) { body(i) }
        } else {
            for p in 0..<count { body(p) }
        }
    }

    /// Calls `body` for every entry, in no particular order.
    public func forEach(_ body: (Key, Value) -> Void) {
        forEachPosition { p in body(entries[p].key, entries[p].value) }
    }

    /// How many entries satisfy `predicate`.
    public func count(where predicate: (Key, Value) -> Bool) -> Int {
        var n = 0
        forEachPosition { p in if predicate(entries[p].key, entries[p].value) { n += 1 } }
        return n
    }

    /// Whether any entry satisfies `predicate`.
    public func contains(where predicate: (Key, Value) -> Bool) -> Bool {
        if isInline {
            for i in 0..<capacity where isOccupied(i) && predicate(entries[i].key, entries[i].value) { return true }
            return false
        }
        for p in 0..<count where predicate(entries[p].key, entries[p].value) { return true }
        return false
    }

    /// Every key.
    public var allKeys: [Key] {
        var result: [Key] = []
        result.reserveCapacity(count)
        forEach { k, _ in result.append(k) }
        return result
    }

    /// Closes the gap in the index at `hole` left by a deletion, so that probes never stop
    /// early. Homes come from the slots' fingerprints: no entry is read.
    private func backShift(from hole: Int) {
        let mask = capacity - 1
        var hole = hole
        index[hole] = 0
        var i = (hole + 1) & mask
        while index[i] != 0 {
            let homeSlot = home(index[i] >> 32)
            // Move slot i into the hole if its home is not in (hole, i] cyclically.
            if (hole - homeSlot) & mask < (i - homeSlot) & mask {
                index[hole] = index[i]
                index[i] = 0
                hole = i
            }
            i = (i + 1) & mask
        }
    }

    /// Makes room for `total` entries, so that adding up to that many rehashes nothing
    /// (restoring a key group whose size is known).
    public func reserveCapacity(_ total: Int) {
        var target = capacity
        while Self.entryCapacity(target) < total { target *= 2 }
        if target > capacity { grow(to: target) }
    }

    /// Doubles the index (rebuilt from the old one) and moves the entries to room for more;
    /// positions stay, so shared bits stay valid.
    private func grow(to newCapacity: Int) {
        precondition(newCapacity <= 1 << 32, "key group too large")
        if isInline {
            growInline(to: newCapacity)
            return
        }
        let oldCapacity = capacity, oldIndex = index
        capacity = newCapacity
        index = Self.allocateIndex(capacity)
        fillIndex(oldCapacity) { oldIndex[$0] }
        oldIndex.deallocate()
        let moved = UnsafeMutablePointer<Item>.allocate(capacity: Self.entryCapacity(capacity))
        moved.moveInitialize(from: entries, count: count)
        entries.deallocate()
        entries = moved
    }

    // MARK: The inline layout

    /// Removes the entry in inline slot `i`, back-shifting the entries after it.
    private func removeInline(at i: Int) -> Value {
        willWrite(i)
        let old = (entries + i).move().value
        UnsafeMutableRawPointer(entries + i).storeBytes(of: 0, as: UInt64.self)
        count -= 1
        let mask = capacity - 1
        var hole = i
        var j = (hole + 1) & mask
        while isOccupied(j) {
            let homeSlot = home(Self.fingerprint(Self.storedHash(entries, j)))
            // Move entry j into the hole if its home is not in (hole, j] cyclically.
            if (hole - homeSlot) & mask < (j - homeSlot) & mask {
                (entries + hole).moveInitialize(from: entries + j, count: 1)
                UnsafeMutableRawPointer(entries + j).storeBytes(of: 0, as: UInt64.self)
                if let bits = shared {
                    // The entry's shared bit moves with it (its references are the same).
                    let from: UInt64 = 1 << UInt64(j & 63), to: UInt64 = 1 << UInt64(hole & 63)
                    if bits[j >> 6] & from != 0 { bits[hole >> 6] |= to } else { bits[hole >> 6] &= ~to }
                    bits[j >> 6] &= ~from
                }
                hole = j
            }
            j = (j + 1) & mask
        }
        return old
    }

    /// ``removeAll(expected:where:)`` in the inline layout: the doomed keys are collected
    /// first (removal moves entries), with their stored hashes, which probe as the hashes
    /// they came from.
    private func removeAllInline(where shouldRemove: (Key, Value) -> Bool) {
        var doomed: [HashedKey<Key>] = []
        for i in 0..<capacity where isOccupied(i) && shouldRemove(entries[i].key, entries[i].value) {
            doomed.append(HashedKey(entries[i].key, hash: Self.storedHash(entries, i)))
        }
        for key in doomed { removeValue(forKey: key) }
    }

    /// Moves the entries of an inline table into one of `newCapacity` slots. Entries change
    /// slots, so the ones a view still reads are kept for it and the sharing bits dropped.
    private func growInline(to newCapacity: Int) {
        if let bits = shared {
            for i in 0..<min(sharedLimit, capacity) where bits[i >> 6] & (1 << UInt64(i & 63)) != 0 && isOccupied(i) {
                graveyard.append(entries[i])
            }
            bits.deallocate()
            shared = nil
            sharedLimit = 0
        }
        let oldCapacity = capacity, oldSlots = entries
        capacity = newCapacity
        entries = Self.allocateEmptySlots(newCapacity)
        let mask = newCapacity - 1
        for j in 0..<oldCapacity {
            let h = Self.storedHash(oldSlots, j)
            guard h != 0 else { continue }
            var i = home(Self.fingerprint(h))
            while isOccupied(i) { i = (i + 1) & mask }
            (entries + i).moveInitialize(from: oldSlots + j, count: 1)
        }
        oldSlots.deallocate()
    }
}
