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
/// and deleting is O(1) (the heap entry is skipped when it surfaces).
///
/// Thread safety: owned by one subtask.
final class TimerQueue<Key: StreamKey, Namespace: StreamKey> {
    private struct Slot: Comparable {
        var timer: InternalTimer<Key, Namespace>
        static func < (a: Slot, b: Slot) -> Bool { a.timer.time < b.timer.time }
        static func == (a: Slot, b: Slot) -> Bool { a.timer.time == b.timer.time }
    }

    private var heap = Heap<Slot>()
    /// The registered timers (a set: the values carry nothing). A key-group map rather than
    /// a `Set`, whose SipHash of every timer on insert and removal showed in profiles.
    private let live = KeyGroupMap<InternalTimer<Key, Namespace>, Void>()

    /// Whether no timer is registered.
    var isEmpty: Bool { live.isEmpty }
    /// Registered timers.
    var count: Int { live.count }
    /// The registered timers, as a set (for inspection and snapshots; not on the hot path).
    var timers: Set<InternalTimer<Key, Namespace>> { Set(live.allKeys) }

    /// Registers `timer`; returns false if it was already registered.
    @discardableResult
    func insert(_ timer: InternalTimer<Key, Namespace>) -> Bool {
        guard live.updateValue((), forKey: HashedKey(timer)) == nil else { return false }
        heap.insert(Slot(timer: timer))
        return true
    }

    /// Deletes `timer` if registered.
    func remove(_ timer: InternalTimer<Key, Namespace>) {
        live.removeValue(forKey: HashedKey(timer))
        if live.isEmpty { heap = Heap() }
    }

    /// The time of the earliest registered timer.
    var earliest: Timestamp? {
        while let top = heap.min {
            if live[HashedKey(top.timer)] != nil { return top.timer.time }
            heap.removeMin()
        }
        return nil
    }

    /// Removes and returns the earliest timer due at `time`, if any.
    func popDue(atOrBefore time: Timestamp) -> InternalTimer<Key, Namespace>? {
        while let top = heap.min, top.timer.time <= time {
            heap.removeMin()
            if live.removeValue(forKey: HashedKey(top.timer)) != nil { return top.timer }
        }
        return nil
    }
}
