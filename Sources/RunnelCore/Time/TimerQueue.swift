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
    private let live: CopyOnWriteMaps<Timer, Void>
    /// Registered timers.
    private(set) var count = 0

    private static var partitionBits: UInt64 { 6 }

    init() {
        live = CopyOnWriteMaps(count: 1 << Self.partitionBits)
    }

    /// Whether no timer is registered.
    var isEmpty: Bool { count == 0 }
    /// The registered timers, as a set (for inspection; not on the hot path).
    var timers: Set<Timer> { Set(live.maps.flatMap(\.allKeys)) }

    /// The registered timers, frozen: later changes to the queue copy the partition they
    /// touch first, so a snapshot may read these on another thread. O(partitions).
    func frozenTimers() -> [KeyGroupMap<Timer, Void>] {
        live.freeze()
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
        let key = HashedKey(timer)
        guard changePartition(key, inserting: true, { $0.updateValue((), forKey: key) == nil }) else { return false }
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
