import RunnelLog
import RunnelOperators
import RunnelRuntime

/// Where the collector puts the events it accepted, a batch (one request) at a time.
///
/// Thread safety: called on the collector's loop; completions run there too.
public protocol CollectedEventStore: AnyObject {
    /// Whether `count` more events may be taken now (else the collector answers 503).
    func hasRoom(for count: Int) -> Bool
    /// Whether the store takes decoded events (else the collector only validates, and the
    /// store takes the lines).
    var takesDecodedEvents: Bool { get }
    /// Stores a batch of `count` events: decoded (if ``takesDecodedEvents``), and as lines
    /// (IP addresses truncated), each ending in `\n`, in `lines`; calls `completion` with nil
    /// once they are kept, or with why not.
    func store(count: Int, events: [CreatorEvent], lines: [UInt8], completion: @escaping (String?) -> Void)
}

/// A store that appends each batch to a ``DurableLog`` as one frame and completes once it
/// is on disk: what `serve` uses, so that an acknowledged event survives a crash and a
/// restored job reads it again (``DurableLogSource``).
///
/// Room: the job's backlog in the log (bytes not yet read) counted in events at the average
/// size of the events appended so far.
public final class DurableLogEventStore: CollectedEventStore {
    /// The log.
    public let log: DurableLog
    /// The loop completions run on.
    public let loop: EventLoop
    /// Events the job may be behind before the store refuses more.
    public let backlogLimit: Int
    private var nextPartition = 0

    /// Creates a store appending to `log`, completing on `loop`.
    public init(log: DurableLog, loop: EventLoop, backlogLimit: Int) {
        self.log = log
        self.loop = loop
        self.backlogLimit = backlogLimit
    }

    /// Events the job has not read yet (an estimate from bytes).
    public var backlogEvents: Int {
        let appended = log.appendedSinceOpen
        let bytesPerEvent = appended.records > 0 ? max(1, appended.bytes / Int64(appended.records)) : 400
        return Int(log.backlogBytes / bytesPerEvent)
    }

    public func hasRoom(for count: Int) -> Bool { backlogEvents + count <= backlogLimit }

    /// The job decodes the lines it reads from the log.
    public var takesDecodedEvents: Bool { false }

    public func store(count: Int, events: [CreatorEvent], lines: [UInt8], completion: @escaping (String?) -> Void) {
        // Requests are spread over the partitions in turn, so that every reader has a share.
        let partition = nextPartition
        nextPartition = (nextPartition + 1) % log.partitionCount
        let loop = self.loop
        let done = UncheckedCompletion(completion)
        log.append(partition: partition, payload: lines, records: count) { result in
            loop.execute {
                switch result {
                case .success: done.body(nil)
                case .failure(let error): done.body("the events could not be stored: \(error)")
                }
            }
        }
    }
}

/// A store feeding an in-memory ``EventQueue`` (a job reading it with ``QueueSource``):
/// immediate, and lost with the process. For tests and benchmarks of the collector alone.
public final class EventQueueStore: CollectedEventStore {
    /// The queue.
    public let queue: EventQueue<CreatorEvent>

    /// Creates a store over `queue`.
    public init(queue: EventQueue<CreatorEvent>) { self.queue = queue }

    public func hasRoom(for count: Int) -> Bool { queue.count + count <= queue.capacity }

    /// The queue holds decoded events.
    public var takesDecodedEvents: Bool { true }

    public func store(count: Int, events: [CreatorEvent], lines: [UInt8], completion: @escaping (String?) -> Void) {
        completion(events.isEmpty || queue.offer(events) ? nil : "the queue is full")
    }
}

/// Carries a loop-bound completion through the log's writer thread back to its loop (it
/// runs only there).
private final class UncheckedCompletion: @unchecked Sendable {
    let body: (String?) -> Void
    init(_ body: @escaping (String?) -> Void) { self.body = body }
}
