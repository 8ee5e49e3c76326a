import RunnelCore
import RunnelOperators
import RunnelTesting
import Synchronization
import Testing

// Shared helpers of the RunnelCoreTests suites: a test event type, a source whose input
// the test feeds step by step, and small adapters for window results and metrics.

/// A keyed, timestamped test event.
struct Ev: Sendable, Hashable, CustomStringConvertible {
    var key: String
    var t: Timestamp
    var v: Int = 1

    init(_ key: String, _ t: Timestamp, _ v: Int = 1) {
        self.key = key
        self.t = t
        self.v = v
    }

    var description: String { "\(key)@\(t)=\(v)" }
}

/// A window result flattened into a comparable value.
struct Fired: Hashable, Comparable, CustomStringConvertible {
    var key: String
    var start: Timestamp
    var end: Timestamp
    var value: Int
    var kind: FiringKind

    init(_ key: String, _ start: Timestamp, _ end: Timestamp, _ value: Int, _ kind: FiringKind = .onTime) {
        self.key = key
        self.start = start
        self.end = end
        self.value = value
        self.kind = kind
    }

    init(_ r: WindowResult<String, Int>) {
        self.init(r.key, r.window.start, r.window.end, r.value, r.firing)
    }

    private var kindRank: Int {
        switch kind {
        case .early: return 0
        case .onTime: return 1
        case .late: return 2
        }
    }

    static func < (a: Fired, b: Fired) -> Bool {
        (a.key, a.start, a.end, a.kindRank, a.value) < (b.key, b.start, b.end, b.kindRank, b.value)
    }

    var description: String { "\(key)[\(start),\(end))=\(value)/\(kind)" }
}

extension CollectSink where Element == WindowResult<String, Int> {
    /// The results in arrival order, flattened.
    var fired: [Fired] { results.map(Fired.init) }
    /// The results sorted (for comparisons that must not depend on arrival order).
    var firedSorted: [Fired] { results.map(Fired.init).sorted() }
}

/// Floor division (rounds toward negative infinity), for reference computations.
func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

/// A counting waker, for channel tests.
final class CountingWaker: TaskWaker, Sendable {
    private let wakes = Atomic<Int>(0)
    func wake() { wakes.add(1, ordering: .relaxed) }
    var count: Int { wakes.load(ordering: .relaxed) }
}

// MARK: - A source fed by the test

/// The input of a ``FedSource``: per split, a queue of batches the test appends to while
/// the job runs. Each batch is emitted by one read call, so the split's watermark is
/// forwarded right after each batch.
///
/// @unchecked Sendable: the embedded runner is single-threaded; the lock only keeps the
/// checker quiet about the shared mutable queues.
final class Feed<Element>: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private var batches: [[[Element]]]
    private var finished: [Bool]
    /// What a read returns when no batch is queued.
    let retryMilliseconds: Int64
    /// When true, a read that emitted a batch reports `.waiting` instead of `.more` (a
    /// poll-style reader that hands over what is available and then asks to be called later).
    let waitingAfterBatch: Bool

    init(splits: Int = 1, retryMilliseconds: Int64 = 1, waitingAfterBatch: Bool = false) {
        batches = Array(repeating: [], count: splits)
        finished = Array(repeating: false, count: splits)
        self.retryMilliseconds = retryMilliseconds
        self.waitingAfterBatch = waitingAfterBatch
    }

    /// Queues one batch for a split.
    func push(_ batch: [Element], split: Int = 0) {
        lock.withLock { _ in batches[split].append(batch) }
    }

    /// Ends a split's input once its queued batches are read.
    func finish(split: Int = 0) {
        lock.withLock { _ in finished[split] = true }
    }

    /// Ends every split.
    func finishAll() {
        lock.withLock { _ in for i in finished.indices { finished[i] = true } }
    }

    fileprivate func next(split: Int) -> (batch: [Element]?, finished: Bool) {
        lock.withLock { _ in
            if !batches[split].isEmpty { return (batches[split].removeFirst(), false) }
            return (nil, finished[split])
        }
    }
}

/// A source whose splits read what the test pushed into a ``Feed``.
struct FedSource<Element>: Source {
    let feed: Feed<Element>

    init(_ feed: Feed<Element>) { self.feed = feed }

    func createReader(subtask: Int, parallelism: Int) throws -> Reader { Reader(feed: feed, split: subtask) }

    final class Reader: SourceReader {
        let feed: Feed<Element>
        let split: Int
        init(feed: Feed<Element>, split: Int) {
            self.feed = feed
            self.split = split
        }

        func read(into output: SourceOutput<Element>, limit: Int) throws -> SourceReadStatus {
            let (batch, finished) = feed.next(split: split)
            if let batch {
                for e in batch { output.emit(e) }
                return feed.waitingAfterBatch ? .waiting(retryAfterMilliseconds: feed.retryMilliseconds) : .more
            }
            return finished ? .finished : .waiting(retryAfterMilliseconds: feed.retryMilliseconds)
        }
    }
}

extension EmbeddedRunner {
    /// Lets sources that wait for input read again: advances the clock by `ms` (1 by
    /// default, the retry interval of a ``Feed``) and runs until idle.
    func pump(_ ms: Int64 = 1) throws {
        try advanceTime(by: .milliseconds(ms))
    }

    /// The total of a counter over all subtasks of a step.
    func metric(_ name: String, _ step: String) -> Int {
        plan.metrics.total(name, operator: step)
    }
}

// MARK: - Probes into keyed process functions

/// Collects the keyed state backends of every subtask of a keyed process function (they
/// are handed to `open`), so that tests can count the entries of its state tables.
final class BackendProbe: @unchecked Sendable {
    private let lock = Mutex<Void>(())
    private var backends: [KeyedStateBackend<String>] = []

    func register(_ backend: KeyedStateBackend<String>) {
        lock.withLock { _ in backends.append(backend) }
    }

    /// The number of entries of the named state table over all subtasks (stale or not).
    func entries<V>(_ name: String, of type: V.Type) -> Int {
        lock.withLock { _ in backends.reduce(0) { $0 + ($1.stateTable(named: name, of: V.self)?.count ?? 0) } }
    }
}

// MARK: - Running a windowed job

/// Runs `source → keyBy(key) → window(assigner) → sum(v) → collect` to completion and
/// returns the collected results (and the runner, for metrics).
@discardableResult
func runWindowJob<A: WindowAssigner>(
    _ events: [Ev], _ assigner: A, bound: Int64 = 0, parallelism: Int = 1, chunk: Int = 1024,
    allowedLateness: Duration = .zero, lateTag: OutputTag<Ev>? = nil,
    options: ExecutionPlan.Options = ExecutionPlan.Options()
) throws -> (results: CollectSink<WindowResult<String, Int>>, late: CollectSink<Ev>, runner: EmbeddedRunner) {
    let env = StreamEnvironment(name: "window-job")
    let sink = CollectSink<WindowResult<String, Int>>()
    let lateSink = CollectSink<Ev>()
    var windowed = env.source("events", CollectionSource(events, chunk: chunk),
                              watermarks: .boundedOutOfOrderness(.milliseconds(bound)) { $0.t })
        .keyBy { $0.key }
        .window(assigner)
    if allowedLateness > .zero { windowed = windowed.allowedLateness(allowedLateness) }
    if let lateTag { windowed = windowed.sideOutputLateData(lateTag) }
    let out = windowed.aggregate("sum", SumAggregate<Ev, Int> { $0.v })
    out.sink("collect", sink)
    if let lateTag { out.sideOutput(lateTag).sink("late", lateSink) }
    let runner = try EmbeddedRunner(graph: try env.build(), parallelism: parallelism, options: options)
    try runner.runToCompletion()
    return (sink, lateSink, runner)
}

/// The default event-time trigger behind another type: a window operator then takes its
/// general path (the session fast path is chosen for `EventTimeTrigger` itself only), so
/// tests can compare both paths.
struct ForwardingEventTimeTrigger: Trigger {
    let base = EventTimeTrigger()
    func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        base.onElement(timestamp: timestamp, window: window, context: context)
    }
    func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        base.onEventTime(time, window: window, context: context)
    }
    func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        base.onProcessingTime(time, window: window, context: context)
    }
    func onMerge(window: TimeWindow, context: TriggerContext) { base.onMerge(window: window, context: context) }
    func clear(window: TimeWindow, context: TriggerContext) { base.clear(window: window, context: context) }
}

/// Runs a session-window job through the fast path (`EventTimeTrigger`) or the general
/// path (``ForwardingEventTimeTrigger``) and returns the sorted firings and the late elements.
func runSessionJob(_ events: [Ev], gap: Int64, bound: Int64, lateness: Int64, generalPath: Bool, parallelism: Int = 1, chunk: Int = 1)
throws -> (fired: [Fired], late: [Ev]) {
    try runTriggerPathJob(events, SessionWindows(gap: .milliseconds(gap)), bound: bound, lateness: lateness,
                          generalPath: generalPath, parallelism: parallelism, chunk: chunk)
}

/// Runs a window job with the default trigger (`EventTimeTrigger`, which built-in assigners
/// may serve by a fast path) or with ``ForwardingEventTimeTrigger`` (always the general
/// path), and returns the sorted firings and the late elements.
func runTriggerPathJob<A: WindowAssigner>(_ events: [Ev], _ assigner: A, bound: Int64, lateness: Int64, generalPath: Bool,
                                          parallelism: Int = 1, chunk: Int = 1) throws -> (fired: [Fired], late: [Ev]) {
    let env = StreamEnvironment(name: "windows")
    let sink = CollectSink<WindowResult<String, Int>>()
    let lateSink = CollectSink<Ev>()
    let tag = OutputTag<Ev>("late")
    let windowed = env.source("events", CollectionSource(events, chunk: chunk), watermarks: .boundedOutOfOrderness(.milliseconds(bound)) { $0.t })
        .keyBy { $0.key }
        .window(assigner)
    let agg = SumAggregate<Ev, Int> { $0.v }
    let out: DataStream<WindowResult<String, Int>>
    if generalPath {
        out = windowed.trigger(ForwardingEventTimeTrigger()).allowedLateness(.milliseconds(lateness)).sideOutputLateData(tag).aggregate("sum", agg)
    } else {
        out = windowed.allowedLateness(.milliseconds(lateness)).sideOutputLateData(tag).aggregate("sum", agg)
    }
    out.sink("out", sink)
    out.sideOutput(tag).sink("late", lateSink)
    try EmbeddedRunner(graph: try env.build(), parallelism: parallelism).runToCompletion()
    return (sink.firedSorted, lateSink.results.sorted { ($0.key, $0.t, $0.v) < ($1.key, $1.t, $1.v) })
}

// MARK: - A windowed union of two fed sources

/// `union(A, B) → keyBy → tumbling(10 ms) → sum`, with A and B fed by the test: the job the
/// watermark and idleness tests drive.
enum UnionWindowJob {
    typealias Parts = (a: Feed<Ev>, b: Feed<Ev>, runner: EmbeddedRunner, sink: CollectSink<WindowResult<String, Int>>)

    static func make(parallelism: Int = 1, splits: Int = 1, idleness: Duration? = nil, waitingAfterBatch: Bool = false,
                     retry: Int64 = 1, start: Timestamp = 0) throws -> Parts {
        let a = Feed<Ev>(splits: splits, retryMilliseconds: retry, waitingAfterBatch: waitingAfterBatch)
        let b = Feed<Ev>(splits: splits, retryMilliseconds: retry)
        let env = StreamEnvironment(name: "union")
        var strategy = WatermarkStrategy<Ev>.monotonousTimestamps { $0.t }
        if let idleness { strategy = strategy.withIdleness(idleness) }
        let sink = CollectSink<WindowResult<String, Int>>()
        let sa = env.source("A", FedSource(a), watermarks: strategy)
        let sb = env.source("B", FedSource(b), watermarks: strategy)
        sa.union("union", sb)
            .keyBy { $0.key }
            .window(TumblingWindows(.milliseconds(10)))
            .aggregate("sum", SumAggregate<Ev, Int> { $0.v })
            .sink("out", sink)
        let runner = try EmbeddedRunner(graph: try env.build(), parallelism: parallelism, clock: ManualClock(start: start))
        return (a, b, runner, sink)
    }
}
