import HeapModule

/// A timer registered by a keyed operator: a time, the key it fires for, and a namespace
/// (the window, for window operators).
public struct InternalTimer<Key: StreamKey, Namespace: StreamKey>: StreamKey {
    /// When the timer fires (event or processing time, by queue).
    public var time: Timestamp
    /// The key that is current when the timer fires, with its hash.
    public var hashedKey: HashedKey<Key>
    /// What the timer is about (a window), or ``NoNamespace``.
    public var namespace: Namespace

    /// The key that is current when the timer fires.
    public var key: Key { hashedKey.key }

    /// Combines the time, the key's precomputed hash and the namespace's stable hash
    /// (timers are hashed on every registration and firing, so no key is hashed again).
    public var stableHash: UInt64 {
        StableHash.mix(UInt64(bitPattern: time) &* 0x9E37_79B9_7F4A_7C15 ^ hashedKey.hash ^ namespace.stableHash)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(stableHash)
    }

    public static func == (a: InternalTimer, b: InternalTimer) -> Bool {
        a.time == b.time && a.hashedKey == b.hashedKey && a.namespace == b.namespace
    }

    /// Creates a timer.
    public init(time: Timestamp, key: HashedKey<Key>, namespace: Namespace) {
        self.time = time
        self.hashedKey = key
        self.namespace = namespace
    }
}

/// The namespace of timers that are not about a window.
public struct NoNamespace: StreamKey {
    /// The only value.
    public init() {}

    public var stableHash: UInt64 { 0 }
}

/// A priority queue of timers with set semantics: registering a timer twice keeps one,
/// and deleting is O(1) (a deleted timer is skipped when its time comes).
///
/// Timers are kept in buckets by time, with a heap of the distinct times. Window operators
/// register one timer per key and window, and all windows of one size end at the same
/// instants: a whole minute's worth of timers then costs one heap entry, and popping them
/// is reading an array. (A heap of the timers themselves spent most of the timer cost
/// moving 48-byte entries through its levels.)
///
/// A queue made with `deduplicates: false` keeps no set: it is for an owner whose timers
/// are distinct by construction and which checks its own state when one fires (a window
/// operator whose timers follow from its windows). Registering then costs no hash lookup
/// and popping none either, but a timer registered twice fires twice, and ``remove(_:)``
/// does nothing. The set was a third of the timer cost of the creator replay's windows: a
/// map of every pending timer, probed at random on each registration and firing.
///
/// Thread safety: owned by one subtask.
final class TimerQueue<Key: StreamKey, Namespace: StreamKey> {
    typealias Timer = InternalTimer<Key, Namespace>

    /// The distinct times that have a bucket.
    private var times = Heap<Timestamp>()
    /// The timers of each time in `times`, in registration order.
    private var buckets = KeyGroupMap<Timestamp, ContiguousArray<Timer>>()
    /// The bucket being popped (taken out of `buckets`), its time, and the next index.
    private var draining = ContiguousArray<Timer>()
    private var drainingTime: Timestamp = .min
    private var drainingIndex = 0
    /// The registered timers (a set: the values carry nothing), in partitions by the top
    /// bits of the timer's hash. Key-group maps rather than a `Set`, whose SipHash of every
    /// timer on insert and removal showed in profiles; partitioned so that a snapshot
    /// freezes them copy-on-write, one partition at a time, instead of copying every timer
    /// while the task waits (that copy was most of the checkpoint pause).
    /// Unused (empty) when the queue does not deduplicate.
    private let live: CopyOnWriteMaps<Timer, Void>
    /// Registered timers (pending entries, when the queue does not deduplicate).
    private(set) var count = 0
    /// Whether registering a timer twice keeps one (the set `live` is kept).
    let deduplicates: Bool
    #if DEBUG
    /// Without deduplication, debug builds (and so the tests) check the owner's promise:
    /// no timer is registered while an equal one is pending.
    private var pendingDistinct: Set<Timer> = []
    #endif

    private static var partitionBits: UInt64 { 6 }

    /// A queue with set semantics, or without (`deduplicates: false`; see above).
    init(deduplicates: Bool = true) {
        self.deduplicates = deduplicates
        live = CopyOnWriteMaps(count: deduplicates ? 1 << Self.partitionBits : 1)
    }

    /// Whether no timer is registered.
    var isEmpty: Bool { count == 0 }
    /// The registered timers, as a set (for inspection; not on the hot path).
    var timers: Set<Timer> {
        guard !deduplicates else { return Set(live.maps.flatMap(\.allKeys)) }
        var pending = Set(draining[drainingIndex...])
        buckets.forEach { _, bucket in pending.formUnion(bucket) }
        return pending
    }

    /// The registered timers, frozen: later changes to the queue copy the partition they
    /// touch first, so a snapshot may read these on another thread. O(partitions) (without
    /// deduplication, a copy of every pending timer: such owners rebuild their timers from
    /// their state instead of writing them).
    func frozenTimers() -> [KeyGroupMap<Timer, Void>] {
        guard !deduplicates else { return live.freeze() }
        let pending = KeyGroupMap<Timer, Void>()
        for timer in timers { pending.updateValue((), forKey: HashedKey(timer)) }
        return [pending]
    }

    @inline(__always)
    private func partition(_ key: HashedKey<Timer>) -> Int {
        Int(truncatingIfNeeded: key.hash >> (64 - Self.partitionBits))
    }

    /// Applies `change` to the partition of `key` (copied first if a snapshot reads it) and
    /// returns its result; skips it and returns false only when the partition is frozen and
    /// the change would do nothing (`key` absent, or present when `inserting`), so that such
    /// a change does not copy it. The partition is reached without a reference-count pair.
    @inline(__always)
    private func changePartition(_ key: HashedKey<Timer>, inserting: Bool, _ change: (KeyGroupMap<Timer, Void>) -> Bool) -> Bool {
        let p = partition(key)
        // A change that would do nothing does not copy a frozen partition.
        if live.isFrozen(p) && live.withMap(p, { $0[key] == nil }) != inserting { return false }
        return live.withMutable(p, change)
    }

    /// Registers `timer`; returns false if it was already registered.
    @discardableResult
    func insert(_ timer: Timer) -> Bool {
        if deduplicates {
            let key = HashedKey(timer)
            guard changePartition(key, inserting: true, { $0.updateValue((), forKey: key) == nil }) else { return false }
        } else {
            #if DEBUG
            assert(pendingDistinct.insert(timer).inserted, "a timer registered twice in a queue without deduplication: \(timer)")
            #endif
        }
        count += 1
        if timer.time < drainingTime && drainingIndex < draining.count {
            // Earlier than the bucket being popped (registered while timers fire): put the
            // rest of that bucket back so that timers keep popping in time order.
            let rest = draining[drainingIndex...]
            buckets.withValue(forKey: HashedKey(drainingTime), default: {
                times.insert(drainingTime)
                return []
            }) { $0.insert(contentsOf: rest, at: 0) }
            draining = []
            drainingIndex = 0
        }
        buckets.withValue(forKey: HashedKey(timer.time), default: {
            times.insert(timer.time)
            return []
        }) { $0.append(timer) }
        return true
    }

    /// Deletes `timer` if registered.
    func remove(_ timer: Timer) {
        guard deduplicates else { return }
        let key = HashedKey(timer)
        guard changePartition(key, inserting: false, { $0.removeValue(forKey: key) != nil }) else { return }
        count -= 1
        if count == 0 {
            times = Heap()
            buckets = KeyGroupMap()
            draining = []
            drainingIndex = 0
        }
    }

    /// The time of the earliest registered timer.
    var earliest: Timestamp? {
        while true {
            while drainingIndex < draining.count {
                if !deduplicates { return drainingTime }
                let key = HashedKey(draining[drainingIndex])
                if live.map(partition(key))[key] != nil { return drainingTime }
                drainingIndex += 1
            }
            guard let next = times.min else { return nil }
            takeBucket(next)
        }
    }

    /// Removes and returns the earliest timer due at `time`, if any.
    func popDue(atOrBefore time: Timestamp) -> Timer? {
        while true {
            // (`earliest` may have taken a bucket that is not due yet.)
            while drainingIndex < draining.count && drainingTime <= time {
                let timer = draining[drainingIndex]
                drainingIndex += 1
                if !deduplicates {
                    count -= 1
                    #if DEBUG
                    pendingDistinct.remove(timer)
                    #endif
                    return timer
                }
                let key = HashedKey(timer)
                if changePartition(key, inserting: false, { $0.removeValue(forKey: key) != nil }) {
                    count -= 1
                    return timer
                }
            }
            guard drainingIndex >= draining.count, let next = times.min, next <= time else { return nil }
            takeBucket(next)
        }
    }

    /// Makes the bucket of `next` (the earliest time) the one being popped. Only called
    /// once the previous one is used up; timers registered for its time later get a new
    /// bucket, taken after this one.
    private func takeBucket(_ next: Timestamp) {
        times.removeMin()
        draining = buckets.removeValue(forKey: HashedKey(next)) ?? []
        drainingTime = next
        drainingIndex = 0
    }
}
