import RunnelCore
import Synchronization

/// An in-memory sink that collects every record, for tests.
///
/// Thread safety: subtasks append under a lock (once per record: tests only);
/// ``results`` may be read from any thread, usually after the job finished.
public final class CollectSink<Element: Sendable>: Sink, Sendable {
    private let storage = Mutex<[(Element, Timestamp)]>([])
    /// Records by writer (one writer per subtask of each step the sink is used in), in
    /// arrival order.
    private let byWriter = Mutex<[Int: [Element]]>([:])
    /// For each checkpoint, how many records each writer had received when its barrier came.
    private let marks = Mutex<[Int64: [Int: Int]]>([:])
    private let writersCreated = Atomic<Int>(0)
    private let finishedWriterIDs = Mutex<Set<Int>>([])
    private let finishedWriters = Atomic<Int>(0)

    /// Creates an empty sink.
    public init() {}

    /// The records collected so far, in arrival order per subtask.
    public var results: [Element] { storage.withLock { $0.map(\.0) } }
    /// The records with their timestamps.
    public var timestampedResults: [(Element, Timestamp)] { storage.withLock { $0 } }
    /// How many subtasks have seen the end of their input.
    public var finishedCount: Int { finishedWriters.load(ordering: .acquiring) }

    /// For checkpoint `id`: the records each writer had received before the barrier (the
    /// output the checkpoint covers). A writer that finished without seeing the barrier
    /// (its input ended first; the checkpoint recorded its task as finished) covers all it
    /// received. Nil if no writer saw the barrier or finished.
    public func resultsBefore(checkpoint id: Int64) -> [Element]? {
        let (marked, records, finished) = (marks.withLock { $0[id] }, byWriter.withLock { $0 }, finishedWriterIDs.withLock { $0 })
        guard marked != nil || !finished.isEmpty else { return nil }
        let counts = marked ?? [:]
        var covered: [Element] = []
        for writer in Set(records.keys).union(counts.keys).union(finished) {
            let all = records[writer, default: []]
            if let count = counts[writer] {
                covered += all.prefix(count)
            } else if finished.contains(writer) {
                covered += all
            }
        }
        return covered
    }

    public func createWriter(subtask: Int, parallelism: Int) throws -> Writer {
        Writer(sink: self, id: writersCreated.add(1, ordering: .relaxed).oldValue)
    }

    /// Appends to the shared storage.
    public final class Writer: SinkWriter {
        let sink: CollectSink
        let id: Int
        private var received = 0
        init(sink: CollectSink, id: Int) {
            self.sink = sink
            self.id = id
        }
        public func write(_ value: Element, timestamp: Timestamp) throws {
            sink.storage.withLock { $0.append((value, timestamp)) }
            sink.byWriter.withLock { $0[id, default: []].append(value) }
            received += 1
        }
        public func finish() throws {
            sink.finishedWriterIDs.withLock { _ = $0.insert(id) }
            sink.finishedWriters.add(1, ordering: .releasing)
        }
        /// Records how many records came before the barrier (kept in the sink, not the checkpoint).
        public func snapshot(checkpointID: Int64) throws -> [UInt8]? {
            let count = received
            sink.marks.withLock { $0[checkpointID, default: [:]][id] = count }
            return nil
        }
    }
}
