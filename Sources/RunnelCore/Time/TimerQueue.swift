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
/// Timers are kept in buckets of 1,024 ms, with a heap of the buckets' numbers; a bucket
/// is sorted by time when its turn comes. Window operators register one timer per key and
/// window, and all windows of one size end at the same instants: a whole minute's worth of
/// timers then costs one heap entry, and popping them is reading an array. Session ends,
/// scattered to the millisecond, share a bucket per second (with buckets of one instant,
/// as before, each cost a heap entry, a map entry and an array). (A heap of the timers
/// themselves spent most of the timer cost moving 48-byte entries through its levels.)
/// Timers fire in time order, those of one time in registration order.
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

    /// The buckets that hold timers (see ``bucket(of:)``).
    private var times = Heap<Timestamp>()
    /// The timers of each bucket in `times`, in registration order.
    private var buckets = KeyGroupMap<Timestamp, ContiguousArray<Timer>>()
    /// The bucket being popped (taken out of `buckets` and sorted by time, registration
    /// order kept among equal times), its number, and the next index. While timers are left
    /// in it, it is the earliest bucket: a timer registered for an earlier one puts it back.
    private var draining = ContiguousArray<Timer>()
    private var drainingBucket: Timestamp = .min
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

    /// Registers `timer`; returns false if it was already registered (with deduplication;
    /// without, always true: the caller promises that it is not).
    @discardableResult
    func insert(_ timer: Timer) -> Bool {
        if deduplicates {
            let key = HashedKey(timer)
            guard changePartition(key, inserting: true, { $0.updateValue((), forKey: key) == nil }) else { return false }
        } else {
            #if DEBUG
            let inserted = pendingDistinct.insert(timer).inserted
            assert(inserted, "a timer registered twice in a queue without deduplication: \(timer)")
            #endif
        }
        count += 1
        let bucket = Self.bucket(of: timer.time)
        if drainingIndex < draining.count {
            if bucket == drainingBucket {
                // The bucket being popped (registered while timers fire): into its sorted
                // rest, after the timers of the same time.
                var slot = draining.count
                while slot > drainingIndex && draining[slot - 1].time > timer.time { slot -= 1 }
                draining.insert(timer, at: slot)
                return true
            }
            if bucket < drainingBucket {
                // Earlier than the bucket being popped: put the rest of that bucket back so
                // that timers keep popping in time order.
                let rest = draining[drainingIndex...]
                buckets.withValue(forKey: HashedKey(drainingBucket), default: {
                    times.insert(drainingBucket)
                    return []
                }) { $0.insert(contentsOf: rest, at: 0) }
                draining = []
                drainingIndex = 0
            }
        }
        buckets.withValue(forKey: HashedKey(bucket), default: {
            times.insert(bucket)
            return []
        }) { $0.append(timer) }
        return true
    }

    /// Timers are kept in buckets of 1,024 ms (by time, rounded down): the ends of windows of
    /// one size fall on the same instants and share one, and timers at scattered times
    /// (session ends, each at its last element plus the gap) share one per second instead
    /// of taking a heap entry, a map entry and an array each. A bucket is sorted when its
    /// turn comes.
    @inline(__always)
    private static func bucket(of time: Timestamp) -> Timestamp { time >> 10 }

    /// Deletes `timer` if registered (without deduplication, does nothing: the owner
    /// ignores a timer it no longer wants when it fires).
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
                if !deduplicates { return draining[drainingIndex].time }
                let key = HashedKey(draining[drainingIndex])
                if live.map(partition(key))[key] != nil { return draining[drainingIndex].time }
                drainingIndex += 1
            }
            guard let next = times.min else { return nil }
            takeBucket(next)
        }
    }

    /// Removes and returns the earliest timer due at `time`, if any.
    func popDue(atOrBefore time: Timestamp) -> Timer? {
        while true {
            // (`earliest`, or a watermark inside a bucket, may have taken timers that are
            // not due yet: they wait in `draining`, which is sorted.)
            while drainingIndex < draining.count && draining[drainingIndex].time <= time {
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
            guard drainingIndex >= draining.count, let next = times.min, next <= Self.bucket(of: time) else { return nil }
            takeBucket(next)
        }
    }

    /// Makes the bucket `next` (the earliest) the one being popped, sorted by time. Only
    /// called once the previous one is used up; timers registered for it later are sorted
    /// into it while it is popped.
    ///
    /// The sort keeps registration order among equal times. Usually there is nothing to do:
    /// the timers of window ends share one time. Otherwise each timer's time within the
    /// bucket (its low 10 bits) and position make one integer, those are sorted, and the
    /// timers gathered in that order: plain loops and an integer sort, which this generic
    /// code keeps specialized (a generic sort of the timers themselves, or a helper the
    /// client module could not specialize, cost a metadata lookup per step).
    private func takeBucket(_ next: Timestamp) {
        times.removeMin()
        var bucket = buckets.removeValue(forKey: HashedKey(next)) ?? []
        var inOrder = true
        var i = 1
        while i < bucket.count {
            if bucket[i - 1].time > bucket[i].time {
                inOrder = false
                break
            }
            i += 1
        }
        if !inOrder {
            var keys: [UInt64] = []
            keys.reserveCapacity(bucket.count)
            for k in bucket.indices {
                keys.append(UInt64(truncatingIfNeeded: bucket[k].time & 1023) << 32 | UInt64(truncatingIfNeeded: k))
            }
            sortTimerKeys(&keys)
            var ordered = ContiguousArray<Timer>()
            ordered.reserveCapacity(bucket.count)
            for key in keys { ordered.append(bucket[Int(truncatingIfNeeded: key & 0xFFFF_FFFF)]) }
            bucket = ordered
        }
        draining = bucket
        drainingBucket = next
        drainingIndex = 0
    }
}

/// Sorts the keys a timer bucket is ordered by (see `TimerQueue.takeBucket`). Not generic,
/// and outside the generic queue: called from there, the standard library's sort was left
/// unspecialized in the client module, which then ran the queue's code generically too.
@inline(never)
func sortTimerKeys(_ keys: inout [UInt64]) {
    keys.sort()
}
