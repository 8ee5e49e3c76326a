import Synchronization

/// A monotonically increasing count written by one thread and readable from any.
///
/// The writer is always the owning task, so an increment is a relaxed load and store
/// (a plain move on x86-64), not a locked read-modify-write; readers on other threads
/// (metrics endpoints, the end-of-job summary) see a recent value.
///
/// Each counter fills its own cache lines (the padding below): counters of different
/// subtasks are allocated next to each other, and two threads incrementing counters in
/// one cache line would fight over it on every record (false sharing).
public final class Counter: Sendable {
    private let storage = Atomic<Int>(0)
    private let padding: (Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

    /// Creates a counter at zero.
    public init() {}

    /// Adds `n` (writer thread only).
    public func increment(by n: Int = 1) {
        storage.store(storage.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    /// The current count (any thread).
    public var value: Int { storage.load(ordering: .relaxed) }
}

/// A value set by one thread and readable from any (e.g. a watermark, a queue depth).
public final class Gauge: Sendable {
    private let storage: Atomic<Int64>

    /// Creates a gauge with an initial value.
    public init(_ initial: Int64 = 0) { storage = Atomic(initial) }

    /// Sets the value.
    public func set(_ value: Int64) { storage.store(value, ordering: .relaxed) }

    /// The current value.
    public var value: Int64 { storage.load(ordering: .relaxed) }
}
