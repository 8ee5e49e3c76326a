/// The keyed state of one operator subtask: every state it declared, for the key groups
/// it owns, scoped to the key of the element being processed.
///
/// The operator calls ``setCurrentKey(_:)`` before handing an element or timer to user
/// code; state handles (``ValueState`` and friends) then read and write the entry of that
/// key. State is stored per key group so that snapshots can be cut by key group and
/// restored at another parallelism.
///
/// Thread safety: owned by one subtask; used only on its thread.
public final class KeyedStateBackend<Key: StreamKey> {
    /// How keys map to key groups and subtasks.
    public let assignment: KeyGroupAssignment
    /// The key groups this subtask owns.
    public let keyGroups: Range<Int>
    /// The key of the element or timer being processed.
    public var currentKey: Key { currentHashedKey.key }
    /// The current key with its stable hash (what state tables are keyed by).
    public private(set) var currentHashedKey: HashedKey<Key>!
    /// The index of the current key's group within ``keyGroups``.
    public private(set) var currentLocalGroup: Int = 0
    /// The timestamp of the element (or time of the timer) being processed: entries with an
    /// event-time TTL are stamped with it, so their expiry does not depend on when
    /// watermarks happen to arrive (which varies with parallelism).
    public var currentTimestamp: Timestamp = Watermark.initial
    /// When set, event-time expiry is judged at this time instead of the watermark (while
    /// an event-time timer fires: at the timer's time).
    public var expiryTimeOverride: Timestamp?

    /// Current processing time (for processing-time TTL). Constants: a closure read from a
    /// `var` is retained around each call, and these are called per state access.
    let processingTime: () -> Timestamp
    /// Current watermark of the operator (for event-time TTL).
    let eventTime: () -> Timestamp

    private var sweepers: [(ttl: StateTTL, sweep: (Int, Timestamp) -> Void)] = []
    private var nextSweepGroup = 0
    private var registered: [String: AnyObject] = [:]
    /// The accessors of the value-state handles, which refer to them without owning them
    /// (see ``ValueState``), by state name and TTL: declaring a state again reuses them.
    private var handles: [ValueStateHandleKey: AnyObject] = [:]
    /// ``prefetch(keyHash:)`` for every declared state: one closure, formed where each
    /// table's value type is concrete (so its code is specialized) and composed as states
    /// are declared, held by an immutable box reached unmanaged per record (a closure read
    /// from a `var` is retained around each call; see ``Emitter``).
    private final class Prefetch {
        let run: (Int, UInt64) -> Void
        init(_ run: @escaping (Int, UInt64) -> Void) { self.run = run }
    }
    private var prefetchOwner = Prefetch { _, _ in }
    private var prefetchRun: Unmanaged<Prefetch>
    /// How each declared state is snapshotted and restored, by name.
    private(set) var codecs: [String: TableCodec<Key>] = [:]
    /// Restored key-group blocks of states not declared yet, by state name and key group
    /// (each group's chain: its full block, then its deltas, oldest first).
    var pendingRestore: [String: [Int: [[UInt8]]]] = [:]
    /// Problems met while restoring declared states (reported by ``finishRestore()``).
    var restoreFailures: [String] = []

    /// Creates a backend for the subtask that owns `keyGroups`.
    public init(
        assignment: KeyGroupAssignment,
        keyGroups: Range<Int>,
        processingTime: @escaping () -> Timestamp = { 0 },
        eventTime: @escaping () -> Timestamp = { Watermark.initial }
    ) {
        self.assignment = assignment
        self.keyGroups = keyGroups
        self.processingTime = processingTime
        self.eventTime = eventTime
        prefetchRun = .passUnretained(prefetchOwner)
        judgeInterval = 8_192 + 8 * keyGroups.count
    }

    /// Makes `key` the current key.
    /// - Precondition: the key belongs to a key group this subtask owns (a partitioning bug otherwise).
    public func setCurrentKey(_ key: Key) {
        setCurrentKey(HashedKey(key))
    }

    /// Makes `key` the current key (its hash already computed).
    public func setCurrentKey(_ key: HashedKey<Key>) {
        currentLocalGroup = ownedLocalGroup(forHash: key.hash)
        currentHashedKey = key
    }

    /// Starts loading into the cache, for each declared state, where the entry of a key with
    /// this stable hash would be (for the input gate, a few records ahead; see
    /// ``ElementHandler/prefetch``). A hint only: it changes nothing.
    public func prefetch(keyHash: UInt64) {
        guard let local = prefetchGroup(forHash: keyHash) else { return }
        prefetchRun._withUnsafeGuaranteedRef { $0.run(local, keyHash) }
    }

    /// ``prefetch(keyHash:)`` for one of this backend's states only (an operator that knows
    /// which state a record reads first).
    @inline(__always)
    public func prefetch<V>(keyHash: UInt64, in table: KeyedStateTable<Key, V>) {
        guard let local = prefetchGroup(forHash: keyHash) else { return }
        table.prefetch(localGroup: local, keyHash: keyHash)
    }

    /// The local group to prefetch in for a key hash: nil when prefetching does not pay
    /// (``prefetchPays``) or the group is not this subtask's.
    @inline(__always)
    private func prefetchGroup(forHash hash: UInt64) -> Int? {
        prefetchPays ? localGroup(forHash: hash) : nil
    }

    /// Whether this backend's state is large enough for ``prefetch(keyHash:)`` to pay: a
    /// state that fits the cache is there already, and prefetching it only costs (~40
    /// instructions a record, measurable on Nexmark's small per-bidder sessions). Judged
    /// again every ``judgeInterval`` keys set (whatever drives the operator: records,
    /// timers, restored state), and by ``judgePrefetching()``.
    public private(set) var prefetchPays = false

    /// Entries of all states from which prefetching pays: about what a core's L2 cache
    /// holds (a deduplication entry and its index slot take ~60 bytes).
    static var prefetchThreshold: Int { 16_384 }

    /// Keys set between two judgements: enough that counting the entries (a visit of each
    /// state's map per key group) costs well under one map read per record.
    private let judgeInterval: Int
    /// Keys set since the last judgement.
    private var keysSinceJudged = 0

    /// Judges ``prefetchPays`` again from the number of entries (a visit of every declared
    /// state's map of every key group).
    public func judgePrefetching() {
        keysSinceJudged = 0
        prefetchPays = entryCount >= Self.prefetchThreshold
    }

    /// The index within ``keyGroups`` of the key group of a key hash this subtask owns, for
    /// a key about to be processed: through ``setCurrentKey(_:)``, or directly by an operator
    /// that passes keys to its tables itself. Counts the key towards the next judgement of
    /// ``prefetchPays``, so that prefetching follows the state's size whichever way keys come.
    /// - Precondition: it owns the key's group (a partitioning bug otherwise).
    @inline(__always)
    func ownedLocalGroup(forHash hash: UInt64) -> Int {
        let group = assignment.keyGroup(forHash: hash)
        precondition(keyGroups.contains(group), "key routed to a subtask that does not own its key group")
        keysSinceJudged &+= 1
        if keysSinceJudged >= judgeInterval { judgePrefetching() }
        return group &- keyGroups.lowerBound
    }

    /// The index within ``keyGroups`` of the key group of a key hash; nil when this subtask
    /// does not own it.
    @inline(__always)
    private func localGroup(forHash hash: UInt64) -> Int? {
        let local = assignment.keyGroup(forHash: hash) &- keyGroups.lowerBound
        return local >= 0 && local < keyGroups.count ? local : nil
    }

    /// The current time in a TTL's time domain, against which expiry is judged (for event
    /// time: the watermark; ``Watermark/initial`` means nothing can have expired yet).
    func now(_ ttl: StateTTL) -> Timestamp {
        ttl.timeDomain == .eventTime ? (expiryTimeOverride ?? eventTime()) : processingTime()
    }

    /// The time an entry written now is stamped with (for event time: the element's timestamp).
    func stamp(_ ttl: StateTTL) -> Timestamp {
        ttl.timeDomain == .eventTime ? currentTimestamp : processingTime()
    }

    /// Removes expired entries of one key group of every state with TTL; called by the
    /// operator as its time advances, visiting the key groups round-robin.
    public func sweepExpiredEntries() {
        guard !sweepers.isEmpty, !keyGroups.isEmpty else { return }
        let group = nextSweepGroup
        nextSweepGroup = (nextSweepGroup + 1) % keyGroups.count
        for s in sweepers {
            let now = now(s.ttl)
            guard now != Watermark.initial else { continue }
            s.sweep(group, now &- s.ttl.milliseconds)
        }
    }

    /// The storage of a state, created on first use with its maps laid out as `layout`; a
    /// name reused with another type or layout is a programming error.
    func table<V>(named name: String, ttl: StateTTL?, of: V.Type,
                  layout: KeyGroupMapLayout = .indexed) -> KeyedStateTable<Key, V> {
        if let existing = registered[name] {
            guard let table = existing as? KeyedStateTable<Key, V>, table.layout == layout else {
                preconditionFailure("state '\(name)' was declared twice with different types or layouts")
            }
            return table
        }
        let table = KeyedStateTable<Key, V>(name: name, keyGroups: keyGroups, layout: layout)
        registered[name] = table
        if registered.count == 1 {
            prefetchOwner = Prefetch { group, hash in table.prefetch(localGroup: group, keyHash: hash) }
        } else {
            let earlier = prefetchOwner.run
            prefetchOwner = Prefetch { group, hash in
                earlier(group, hash)
                table.prefetch(localGroup: group, keyHash: hash)
            }
        }
        prefetchRun = .passUnretained(prefetchOwner)
        // Made here, where V is concrete, so that the codec's per-entry loops are specialized.
        let codec = TableCodec(table)
        codecs[name] = codec
        if let blocks = pendingRestore.removeValue(forKey: name) { restore(codec, blocks) }
        if let ttl {
            sweepers.append((ttl, { [unowned table] group, limit in table.sweep(localGroup: group, expiredAtOrBefore: limit) }))
        }
        return table
    }

    /// The names of all states declared on this backend.
    public var stateNames: [String] { registered.keys.sorted() }

    /// A declared state's table, for snapshots and inspection.
    public func stateTable<V>(named name: String, of: V.Type) -> KeyedStateTable<Key, V>? {
        registered[name] as? KeyedStateTable<Key, V>
    }

    // MARK: Declaring state

    /// The value state declared by `descriptor`.
    ///
    /// The handle refers to this backend without keeping it alive: it must not be used after
    /// the backend is deallocated (an operator's functions never outlive its backend).
    public func valueState<V>(_ descriptor: ValueStateDescriptor<V>) -> ValueState<V> {
        let key = ValueStateHandleKey(name: descriptor.name, ttl: descriptor.ttl)
        let table = table(named: descriptor.name, ttl: descriptor.ttl, of: V.self)
        if let accessors = handles[key] as? ValueState<V>.Accessors { return ValueState(accessors) }
        let accessors = ValueState<V>.Accessors(backend: self, table: table, ttl: descriptor.ttl)
        handles[key] = accessors
        return ValueState(accessors)
    }

    /// The list state declared by `descriptor`.
    public func listState<E>(_ descriptor: ListStateDescriptor<E>) -> ListState<E> {
        ListState(backend: self, table: table(named: descriptor.name, ttl: descriptor.ttl, of: [E].self), ttl: descriptor.ttl)
    }

    /// The map state declared by `descriptor`.
    public func mapState<MK, MV>(_ descriptor: MapStateDescriptor<MK, MV>) -> MapState<MK, MV> {
        MapState(backend: self, table: table(named: descriptor.name, ttl: descriptor.ttl, of: [MK: MV].self), ttl: descriptor.ttl)
    }

    /// The reducing state declared by `descriptor`.
    public func reducingState<V>(_ descriptor: ReducingStateDescriptor<V>) -> ReducingState<V> {
        ReducingState(backend: self, table: table(named: descriptor.name, ttl: descriptor.ttl, of: V.self),
                           ttl: descriptor.ttl, reduce: descriptor.reduce)
    }

    /// The aggregating state declared by `descriptor`.
    public func aggregatingState<F: AggregateFunction>(_ descriptor: AggregatingStateDescriptor<F>) -> AggregatingState<F.Input, F.Result> {
        AggregatingState(backend: self, table: table(named: descriptor.name, ttl: descriptor.ttl, of: F.Accumulator.self),
                              ttl: descriptor.ttl, function: descriptor.function)
    }
}

/// Shared entry access with TTL for all keyed state handles.
extension KeyedStateTable {
    /// The refresh time at or before which an entry has expired, or `nil` when nothing can expire yet.
    func expiryLimit(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?) -> Timestamp? {
        guard let ttl else { return nil }
        let now = backend.now(ttl)
        return now == Watermark.initial ? nil : now &- ttl.milliseconds
    }

    /// Reads the current key's entry, dropping it when expired.
    func read(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?) -> Value? {
        let g = backend.currentLocalGroup
        let key = backend.currentHashedKey!
        guard let entry = withGroup(g, { $0[key] }) else { return nil }
        guard let ttl else { return entry.value }
        if let limit = expiryLimit(backend, ttl: ttl), entry.refreshedAt <= limit {
            withMutableGroup(g) { _ = $0.removeValue(forKey: key) }
            logRemove(g, key)
            return nil
        }
        if ttl.updateType == .onReadAndWrite {
            let stamp = backend.stamp(ttl)
            withMutableGroup(g) { map in
                map.withValue(forKey: key, default: { entry }) {
                    $0.refreshedAt = max($0.refreshedAt, stamp)
                    logPut(g, key, $0)
                }
            }
        }
        return entry.value
    }

    /// Writes the current key's entry, refreshing its TTL.
    ///
    /// An entry's stamp never moves backwards: an out-of-order element (event time) does not
    /// shorten the life of an entry written by a later one.
    func write(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?, _ value: Value) {
        let stamp = ttl.map { backend.stamp($0) } ?? 0
        let limit = expiryLimit(backend, ttl: ttl)
        let g = backend.currentLocalGroup
        let key = backend.currentHashedKey!
        withMutableGroup(g) { map in
            map.withValue(forKey: key, default: { Entry(value: value, refreshedAt: stamp) }) {
                $0.value = value
                $0.refreshedAt = Self.restamp($0.refreshedAt, stamp, limit)
                logPut(g, key, $0)
            }
        }
    }

    /// The stamp after a refresh: the later of the two, unless the entry had expired.
    static func restamp(_ old: Timestamp, _ new: Timestamp, _ limit: Timestamp?) -> Timestamp {
        if let limit, old <= limit { return new }
        return max(old, new)
    }

    /// Updates the current key's entry in place with one hash lookup, starting from
    /// `initial` when it is absent or expired, and refreshes its TTL.
    func modify<R>(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?, initial: () -> Value, _ body: (inout Value) -> R) -> R {
        modify(backend.currentHashedKey!, localGroup: backend.currentLocalGroup, stamp: ttl.map { backend.stamp($0) } ?? 0,
               expiredAtOrBefore: expiryLimit(backend, ttl: ttl), initial: initial, body)
    }

    /// ``modify(_:ttl:initial:_:)`` for a key given with its local group rather than set as
    /// the backend's current key (an operator whose element path needs no current key):
    /// `stamp` is what the entry is stamped with, and an entry stamped at or before `limit`
    /// has expired (nil: none has).
    @inline(__always)
    func modify<R>(_ key: HashedKey<Key>, localGroup g: Int, stamp: Timestamp, expiredAtOrBefore limit: Timestamp?,
                   initial: () -> Value, _ body: (inout Value) -> R) -> R {
        withMutableGroup(g) { map in
            map.withValue(forKey: key, default: { Entry(value: initial(), refreshedAt: stamp) }) {
                let result = $0.update(stamp: stamp, expiredBefore: limit, initial: initial, body)
                logPut(g, key, $0)
                return result
            }
        }
    }

    /// Writes the current key's entry and returns the previous value unless it had expired (one lookup).
    func exchange(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?, _ value: Value) -> Value? {
        let stamp = ttl.map { backend.stamp($0) } ?? 0
        let limit = expiryLimit(backend, ttl: ttl)
        var previous: Value?
        var created = false
        let g = backend.currentLocalGroup
        let key = backend.currentHashedKey!
        withMutableGroup(g) { map in
            map.withValue(forKey: key, default: { created = true; return Entry(value: value, refreshedAt: stamp) }) {
                if !created {
                    if limit == nil || $0.refreshedAt > limit! { previous = $0.value }
                    $0.value = value
                    $0.refreshedAt = Self.restamp($0.refreshedAt, stamp, limit)
                }
                logPut(g, key, $0)
            }
        }
        return previous
    }

    /// Stores `value` only when the current key has no live entry; returns the live value
    /// otherwise, leaving it (and its TTL) untouched. One lookup.
    func insertIfAbsent(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?, _ value: Value) -> Value? {
        insertIfAbsent(backend.currentHashedKey!, localGroup: backend.currentLocalGroup,
                       stamp: ttl.map { backend.stamp($0) } ?? 0, expiredAtOrBefore: expiryLimit(backend, ttl: ttl), value)
    }

    /// ``insertIfAbsent(_:ttl:_:)`` for a key given with its local group rather than set as
    /// the backend's current key (an operator with one state and no user code needs no
    /// current key): `stamp` is what a new entry is stamped with, and an entry stamped at or
    /// before `limit` has expired (nil: none has).
    @inline(__always)
    func insertIfAbsent(_ key: HashedKey<Key>, localGroup g: Int, stamp: Timestamp, expiredAtOrBefore limit: Timestamp?,
                        _ value: Value) -> Value? {
        var existing: Value?
        var created = false
        withMutableGroup(g) { map in
            map.withValue(forKey: key, default: { created = true; return Entry(value: value, refreshedAt: stamp) }) {
                if !created {
                    guard let limit, $0.refreshedAt <= limit else {
                        existing = $0.value
                        return
                    }
                    $0 = Entry(value: value, refreshedAt: stamp)
                }
                logPut(g, key, $0)
            }
        }
        return existing
    }

    /// Changes the current key's live entry in place, if it has one, and removes the entry
    /// when `body` says so (`remove`), with one lookup. An absent entry is not created, and
    /// `body` is not called for it (nor for an expired one, which is removed); the entry's
    /// TTL is refreshed as by a write when it is kept.
    func modifyExisting<R>(_ backend: KeyedStateBackend<Key>, ttl: StateTTL?,
                           _ body: (inout Value) -> (result: R, remove: Bool)) -> R? {
        let stamp = ttl.map { backend.stamp($0) } ?? 0
        let limit = expiryLimit(backend, ttl: ttl)
        let g = backend.currentLocalGroup
        let key = backend.currentHashedKey!
        var removed = false
        let result = withMutableGroup(g) { map in
            map.withExistingValue(forKey: key) { entry -> (result: R?, remove: Bool) in
                if let limit, entry.refreshedAt <= limit {
                    removed = true
                    return (nil, true)
                }
                let (result, remove) = body(&entry.value)
                if remove {
                    removed = true
                } else {
                    entry.refreshedAt = Self.restamp(entry.refreshedAt, stamp, limit)
                    logPut(g, key, entry)
                }
                return (result, remove)
            }
        }
        if removed { logRemove(g, key) }
        return result ?? nil
    }

    /// Removes the current key's entry.
    func remove(_ backend: KeyedStateBackend<Key>) {
        remove(backend.currentHashedKey!, localGroup: backend.currentLocalGroup)
    }

    /// Removes the entry of `key`, in local group `g`.
    func remove(_ key: HashedKey<Key>, localGroup g: Int) {
        if withMutableGroup(g, { $0.removeValue(forKey: key) }) != nil { logRemove(g, key) }
    }
}

/// What the accessors of a value-state handle are kept under in its backend.
struct ValueStateHandleKey: Hashable {
    var name: String
    var ttl: StateTTL?
}
