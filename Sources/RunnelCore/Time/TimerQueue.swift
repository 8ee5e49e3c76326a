import HeapModule

/// A timer registered by a keyed operator: a time, the key it fires for, and a namespace
/// (the window, for window operators).
public struct InternalTimer<Key: StreamKey, Namespace: Hashable>: Hashable {
    /// When the timer fires (event or processing time, by queue).
    public var time: Timestamp
    /// The key that is current when the timer fires, with its hash.
    public var hashedKey: HashedKey<Key>
    /// What the timer is about (a window), or ``NoNamespace``.
    public var namespace: Namespace

    /// The key that is current when the timer fires.
    public var key: Key { hashedKey.key }

    /// Hashes the time and the key's precomputed hash as one word (timers are hashed on
    /// every registration and firing; the synthesized hash combined four words).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(bitPattern: time) &* 0x9E37_79B9_7F4A_7C15 ^ hashedKey.hash)
        hasher.combine(namespace)
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
public struct NoNamespace: Hashable, Sendable {
    /// The only value.
    public init() {}
}

/// A priority queue of timers with set semantics: registering a timer twice keeps one,
/// and deleting is O(1) (the heap entry is skipped when it surfaces).
///
/// Thread safety: owned by one subtask.
final class TimerQueue<Key: StreamKey, Namespace: Hashable> {
    private struct Slot: Comparable {
        var timer: InternalTimer<Key, Namespace>
        static func < (a: Slot, b: Slot) -> Bool { a.timer.time < b.timer.time }
        static func == (a: Slot, b: Slot) -> Bool { a.timer.time == b.timer.time }
    }

    private var heap = Heap<Slot>()
    private(set) var live = Set<InternalTimer<Key, Namespace>>()

    var isEmpty: Bool { live.isEmpty }
    var count: Int { live.count }

    /// Adds a timer; returns false if it was already registered.
    @discardableResult
    func insert(_ timer: InternalTimer<Key, Namespace>) -> Bool {
        guard live.insert(timer).inserted else { return false }
        heap.insert(Slot(timer: timer))
        return true
    }

    /// Removes a timer if registered.
    func remove(_ timer: InternalTimer<Key, Namespace>) {
        live.remove(timer)
        if live.isEmpty { heap = Heap() }
    }

    /// The earliest live timer's time.
    var earliest: Timestamp? {
        while let top = heap.min {
            if live.contains(top.timer) { return top.timer.time }
            heap.removeMin()
        }
        return nil
    }

    /// Removes and returns the earliest live timer if it is due at `time`.
    func popDue(atOrBefore time: Timestamp) -> InternalTimer<Key, Namespace>? {
        while let top = heap.min, top.timer.time <= time {
            heap.removeMin()
            if live.remove(top.timer) != nil { return top.timer }
        }
        return nil
    }
}
