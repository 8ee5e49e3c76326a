import DequeModule
import RunnelCore
import Synchronization

/// A bounded, thread-safe queue that feeds a running job from outside (an HTTP collector,
/// say) through a ``QueueSource``.
///
/// Backpressure is the producer's to see: ``offer(_:)`` takes a batch whole or not at all,
/// and refuses it when the queue has no room, so a collector can answer "try later"
/// (503) instead of buffering without bound.
public final class EventQueue<Element: Sendable>: Sendable {
    private struct State {
        var items: Deque<Element> = []
        var closed = false
    }

    /// Elements held at most.
    public let capacity: Int
    private let state = Mutex(State())

    /// Creates a queue holding at most `capacity` elements.
    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    /// Adds `batch` if there is room for all of it; returns false (adding nothing) if not,
    /// or if the queue is closed.
    public func offer(_ batch: [Element]) -> Bool {
        state.withLock { s in
            guard !s.closed, s.items.count + batch.count <= capacity else { return false }
            s.items.append(contentsOf: batch)
            return true
        }
    }

    /// Elements waiting.
    public var count: Int { state.withLock { $0.items.count } }

    /// Ends the input: readers finish once the queue is empty.
    public func close() {
        state.withLock { $0.closed = true }
    }

    /// Takes up to `limit` elements; `finished` when the queue is closed and empty.
    func take(_ limit: Int) -> (items: [Element], finished: Bool) {
        state.withLock { s in
            let n = min(limit, s.items.count)
            let items = Array(s.items.prefix(n))
            s.items.removeFirst(n)
            return (items, s.closed && s.items.isEmpty)
        }
    }
}

/// A source that emits what is offered to an ``EventQueue``; its readers (one per subtask)
/// share the queue. Unbounded until the queue is closed. Not checkpointable: what it has
/// taken is gone from the queue (a replayable log, such as Kafka, is the source for that).
public struct QueueSource<Element: Sendable>: Source {
    /// The queue read.
    public let queue: EventQueue<Element>
    /// How long a reader waits before looking again when the queue is empty.
    public let pollMilliseconds: Int64

    /// Creates a source over `queue`.
    public init(queue: EventQueue<Element>, pollMilliseconds: Int64 = 2) {
        self.queue = queue
        self.pollMilliseconds = pollMilliseconds
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        Reader(queue: queue, pollMilliseconds: pollMilliseconds)
    }

    /// Takes elements from the queue.
    public final class Reader: SourceReader {
        let queue: EventQueue<Element>
        let pollMilliseconds: Int64

        init(queue: EventQueue<Element>, pollMilliseconds: Int64) {
            self.queue = queue
            self.pollMilliseconds = pollMilliseconds
        }

        public func read(into output: SourceOutput<Element>, limit: Int) throws -> SourceReadStatus {
            let (items, finished) = queue.take(limit)
            for item in items { output.emit(item) }
            if finished { return .finished }
            return items.isEmpty ? .waiting(retryAfterMilliseconds: pollMilliseconds) : .more
        }
    }
}
