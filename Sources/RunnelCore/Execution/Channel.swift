import DequeModule
import Synchronization

/// A bounded queue of batches from one producer subtask to one consumer subtask on
/// (possibly) another thread.
///
/// Bounded in batches: the producer may always push (a task finishes the batch it is
/// working on), but while the queue holds `capacity` or more batches it reports
/// ``isFull`` and the producing task stops taking input until the consumer drains below
/// capacity and wakes it. So memory stays bounded and nothing is dropped.
///
/// A lock is taken once per batch (hundreds of records), never per record.
///
/// Thread safety: `push` and producer-side queries from the producer's thread, `pop` from
/// the consumer's thread.
public final class Channel<Element>: @unchecked Sendable {
    // @unchecked: the queue is guarded by `lock`; the wakers are set before the job starts
    // and only read afterwards.
    private let lock = Mutex<Void>(())
    private var queue = Deque<StreamBatch<Element>>()  // guarded by `lock`
    private let depth = Atomic<Int>(0)
    /// The number of batches at which the channel is full.
    public let capacity: Int
    /// Wakes the consumer when a batch arrives.
    public var consumerWaker: any TaskWaker = NoWaker()
    /// Wakes the producer when the channel drops below capacity.
    public var producerWaker: any TaskWaker = NoWaker()

    /// Creates a channel holding up to `capacity` batches before it reports full.
    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Appends a batch and wakes the consumer (producer thread).
    public func push(_ batch: StreamBatch<Element>) {
        lock.withLock { _ in queue.append(batch) }
        depth.add(1, ordering: .releasing)
        consumerWaker.wake()
    }

    /// Whether the producer should stop until woken (producer thread).
    public var isFull: Bool { depth.load(ordering: .acquiring) >= capacity }

    /// The number of queued batches (any thread, approximate).
    public var count: Int { depth.load(ordering: .relaxed) }

    /// Removes the oldest batch; wakes the producer when this brings the queue below capacity.
    public func pop() -> StreamBatch<Element>? {
        guard depth.load(ordering: .acquiring) > 0 else { return nil }
        guard let batch = lock.withLock({ _ in queue.popFirst() }) else { return nil }
        let before = depth.subtract(1, ordering: .acquiringAndReleasing).oldValue
        if before == capacity { producerWaker.wake() }
        return batch
    }
}
