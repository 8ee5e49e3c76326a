import RunnelCore
import Synchronization

/// An in-memory sink that collects every record, for tests.
///
/// Thread safety: subtasks append under a lock (once per record: tests only);
/// ``results`` may be read from any thread, usually after the job finished.
public final class CollectSink<Element: Sendable>: Sink, Sendable {
    private let storage = Mutex<[(Element, Timestamp)]>([])
    private let finishedWriters = Atomic<Int>(0)

    /// Creates an empty sink.
    public init() {}

    /// The records collected so far, in arrival order per subtask.
    public var results: [Element] { storage.withLock { $0.map(\.0) } }
    /// The records with their timestamps.
    public var timestampedResults: [(Element, Timestamp)] { storage.withLock { $0 } }
    /// How many subtasks have seen the end of their input.
    public var finishedCount: Int { finishedWriters.load(ordering: .acquiring) }

    public func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(sink: self) }

    /// Appends to the shared storage.
    public final class Writer: SinkWriter {
        let sink: CollectSink
        init(sink: CollectSink) { self.sink = sink }
        public func write(_ value: Element, timestamp: Timestamp) throws {
            sink.storage.withLock { $0.append((value, timestamp)) }
        }
        public func finish() throws { sink.finishedWriters.add(1, ordering: .releasing) }
    }
}
