import RunnelCheckpoint
import RunnelCore
import Synchronization

/// Triggers a job's checkpoints, collects every task's parts and writes the checkpoint.
///
/// On each trigger a barrier is injected into every source task, on the task's own loop
/// between two reads; the barrier flows through the job and each task snapshots its
/// operators when it has arrived on all inputs, then acknowledges with its parts. When
/// every task has answered, the parts are written on a background thread (never on a
/// loop that processes records) and the checkpoint is committed. One checkpoint is in
/// flight at a time; a checkpoint a task declines, or that fails to write, is aborted and
/// the previous one stays the latest. A task that finished (bounded input) takes no more
/// barriers; checkpoints go on until every task has finished, recording what finished
/// tasks contribute (a source's final position, a sink's files awaiting commit).
///
/// Thread safety: acknowledgements arrive on the tasks' loops; state is behind a mutex.
final class CheckpointCoordinator: CheckpointAcknowledger {
    /// Records how long a task stopped processing to snapshot its operators.
    func recordPause(microseconds: Int64) {
        if microseconds > longestPause.value { longestPause.set(microseconds) }
    }

    /// A task of the job.
    struct TaskID: Hashable, Sendable {
        var name: String
        var subtask: Int
    }

    private struct InFlight {
        var barrier: CheckpointBarrier
        var answered: Set<TaskID> = []
        var parts: [CheckpointPart] = []
        var declined: String?
        var startedNanos: UInt64
        var triggeredAtMillis: Int64
    }

    /// Hands a checkpoint to the writer thread. `@unchecked Sendable`: set before the thread
    /// starts, taken once by it.
    private final class FlightBox: @unchecked Sendable {
        private var flight: InFlight?
        init(_ flight: InFlight) { self.flight = flight }
        func take() -> InFlight {
            defer { flight = nil }
            return flight!
        }
    }

    private struct State {
        var inFlight: InFlight?
        var nextID: Int64
        var writing = false
        /// The last checkpoint of this run that completed (incremental keyed state builds on it).
        var lastCompleted: Int64?
        /// Finished tasks with their final parts (sources: their final positions).
        var finished: [TaskID: [CheckpointPart]] = [:]
    }

    let store: CheckpointStore
    /// Called (on the writer thread) after each checkpoint is committed, with its id.
    private let onComplete: @Sendable (Int64) -> Void
    private let jobName: String
    private let parallelism: Int
    private let maxParallelism: Int
    private let taskCount: Int
    private let state: Mutex<State>
    private let writerIdle = Mutex<OneShotLatch?>(nil)
    private let completed: Counter
    private let failed: Counter
    private let lastDuration: Gauge
    private let lastSize: Gauge
    private let longestPause: Gauge
    private let writerNiceness: Int32
    private let incremental: Bool
    private let largestSize: Gauge
    private let longestDuration: Gauge
    /// CPU time the writer threads spent encoding and writing checkpoints: on a saturated
    /// machine most of what checkpointing costs the job's throughput.
    private let writerCPU: Counter

    init(settings: CheckpointSettings, jobName: String, parallelism: Int, maxParallelism: Int, taskCount: Int,
         metrics: MetricsRegistry, onComplete: @escaping @Sendable (Int64) -> Void) throws {
        self.onComplete = onComplete
        store = try CheckpointStore(directory: settings.directory, retained: settings.retained)
        writerNiceness = settings.writerNiceness
        incremental = settings.incremental
        self.jobName = jobName
        self.parallelism = parallelism
        self.maxParallelism = maxParallelism
        self.taskCount = taskCount
        state = Mutex(State(nextID: try store.nextID()))
        completed = metrics.counter("checkpoints_completed", operator: "checkpoints")
        failed = metrics.counter("checkpoints_failed", operator: "checkpoints")
        lastDuration = metrics.gauge("last_checkpoint_duration_ms", operator: "checkpoints")
        lastSize = metrics.gauge("last_checkpoint_size_bytes", operator: "checkpoints")
        longestPause = metrics.gauge("longest_snapshot_pause_us", operator: "checkpoints")
        largestSize = metrics.gauge("largest_checkpoint_size_bytes", operator: "checkpoints")
        longestDuration = metrics.gauge("longest_checkpoint_duration_ms", operator: "checkpoints")
        writerCPU = metrics.counter("checkpoint_writer_cpu_us", operator: "checkpoints")
    }

    /// Starts a checkpoint (or a savepoint) unless one is in flight or the job is
    /// finishing; returns its barrier.
    func trigger(savepoint: Bool = false) -> CheckpointBarrier? {
        state.withLock { s -> CheckpointBarrier? in
            guard s.finished.count < taskCount, s.inFlight == nil, !s.writing else { return nil }
            let barrier = CheckpointBarrier(id: s.nextID, isSavepoint: savepoint, previousCompletedID: s.lastCompleted,
                                            incremental: incremental)
            s.nextID += 1
            s.inFlight = InFlight(barrier: barrier, startedNanos: MonotonicClock.nowNanoseconds(),
                                  triggeredAtMillis: WallClock.nowMilliseconds())
            return barrier
        }
    }

    /// A task finished: it takes no more barriers, and later checkpoints include its final
    /// parts instead (a finished source is restored as finished, at the end of its input).
    func taskFinished(_ task: TaskID, finalParts: [CheckpointPart]) {
        complete { s in
            s.finished[task] = finalParts
        }
    }

    func acknowledge(checkpointID: Int64, task: String, subtask: Int, parts: [CheckpointPart], pause: Duration) {
        let (seconds, attoseconds) = pause.components
        recordPause(microseconds: seconds * 1_000_000 + attoseconds / 1_000_000_000_000)
        complete { s in
            guard s.inFlight?.barrier.id == checkpointID else { return }
            s.inFlight!.answered.insert(TaskID(name: task, subtask: subtask))
            s.inFlight!.parts.append(contentsOf: parts)
        }
    }

    func decline(checkpointID: Int64, task: String, subtask: Int, error: any Error) {
        complete { s in
            guard s.inFlight?.barrier.id == checkpointID else { return }
            s.inFlight!.answered.insert(TaskID(name: task, subtask: subtask))
            if s.inFlight!.declined == nil { s.inFlight!.declined = "\(task) (subtask \(subtask)): \(error)" }
        }
    }

    /// Applies `record`, then finishes the checkpoint in flight if every task has answered
    /// it or finished.
    private func complete(_ record: (inout State) -> Void) {
        let ready = state.withLock { s -> InFlight? in
            record(&s)
            guard var flight = s.inFlight else { return nil }
            let missing = taskCount - flight.answered.count
                - s.finished.keys.filter { !flight.answered.contains($0) }.count
            guard missing == 0 else { return nil }
            for (task, parts) in s.finished where !flight.answered.contains(task) {
                flight.parts += parts.map { part in
                    var restamped = part
                    restamped.checkpointID = flight.barrier.id
                    return restamped
                }
            }
            s.inFlight = nil
            if flight.declined == nil { s.writing = true }
            return flight
        }
        guard let ready else { return }
        let checkpointID = ready.barrier.id
        if let reason = ready.declined {
            failed.increment()
            printToStandardError("runnel: checkpoint \(checkpointID) aborted: \(reason)")
            return
        }
        let latch = OneShotLatch()
        writerIdle.withLock { $0 = latch }
        // The writer takes the checkpoint out of the box, so that nothing else holds its parts
        // (and the state frozen for them) while it writes.
        let box = FlightBox(ready)
        NativeThread.spawnDetached(name: "runnel-checkpoint") { [self] in
            if writerNiceness != 0 { NativeThread.lowerCurrentPriority(by: writerNiceness) }
            let cpuAtStart = NativeThread.currentThreadCPUMicroseconds()
            // One writer at a time (`writing`): the counter has one writer thread at a time.
            defer { writerCPU.increment(by: Int(NativeThread.currentThreadCPUMicroseconds() - cpuAtStart)) }
            var completed = false
            do {
                try write(box.take())
                completed = true
                onComplete(checkpointID)
            } catch {
                failed.increment()
                printToStandardError("runnel: checkpoint \(checkpointID) failed and was discarded: \(error)")
            }
            state.withLock { s in
                if completed { s.lastCompleted = checkpointID }
                s.writing = false
            }
            latch.open()
        }
    }

    /// Writes and commits a checkpoint whose parts are all in; a failed one is removed.
    ///
    /// Each part is dropped as soon as it is encoded, which releases the state frozen for it
    /// (until then the tasks copy what they write of it). Parts with state go first, those
    /// with fewer entries first: they tend to be window contents, which change all the time,
    /// while the large ones (deduplication keys) are mostly added to. Parts without state
    /// entries (source positions, sinks, whose parts sync files) go last.
    private func write(_ flight: consuming InFlight) throws {
        let id = flight.barrier.id
        let pending = try store.begin(id: id)
        do {
            var files: [(order: Int, file: CheckpointManifest.File, entry: CheckpointManifest.StateEntry)] = []
            let dependsOn = Set(flight.parts.flatMap(\.dependsOn)).sorted()
            // File names in (step, subtask) order, whatever order the parts are written in.
            var used = Set<String>()
            var parts = flight.parts.sorted(by: { ($0.step, $0.subtask) < ($1.step, $1.subtask) }).enumerated().map { index, part in
                (order: index, name: Self.fileName(step: part.step, subtask: part.subtask, taken: &used), part: part)
            }
            flight.parts = []
            // Popped from the end: parts with state first, fewest entries first; then parts
            // without (source positions, and sinks, whose part syncs their file: I/O that
            // would otherwise keep every later part's state frozen while it waits).
            func rank(_ part: CheckpointPart, _ order: Int) -> (Int, Int, Int) {
                (part.stateEntries == 0 ? 1 : 0, part.stateEntries, order)
            }
            parts.sort { rank($0.part, $0.order) > rank($1.part, $1.order) }
            // Every part is encoded before any file is written, and dropped once encoded: until
            // then the tasks copy what they write of its state (per-entry copy-on-write), and
            // written one after the other each part would hold its state through the earlier
            // parts' writes and fsyncs as well.
            var encoded: [(order: Int, name: String, payload: [UInt8], entry: CheckpointManifest.StateEntry)] = []
            encoded.reserveCapacity(parts.count)
            while let (order, name, part) = parts.popLast() {
                encoded.append((order, name, try part.encoded(), .init(step: part.step, subtask: part.subtask, file: name,
                                                                      keyGroups: part.keyGroups, summary: part.summary)))
            }
            for (order, name, payload, entry) in encoded {
                files.append((order, try pending.write(name: name, payload: payload), entry))
                SnapshotBuffers.recycle(payload)
            }
            files.sort { $0.order < $1.order }
            let manifest = CheckpointManifest(
                id: id, kind: flight.barrier.isSavepoint ? .savepoint : .checkpoint, createdAtMillis: flight.triggeredAtMillis,
                jobName: jobName, parallelism: parallelism, maxParallelism: maxParallelism, files: files.map(\.file),
                states: files.map(\.entry), dependsOn: dependsOn)
            try pending.commit(manifest)
            completed.increment()
            let duration = Int64((MonotonicClock.nowNanoseconds() - flight.startedNanos) / 1_000_000)
            lastDuration.set(duration)
            lastSize.set(Int64(manifest.totalSize))
            if duration > longestDuration.value { longestDuration.set(duration) }
            if Int64(manifest.totalSize) > largestSize.value { largestSize.set(Int64(manifest.totalSize)) }
        } catch {
            pending.abort()
            throw error
        }
    }

    /// Once every task has finished: the final checkpoint, holding each task's finished
    /// parts (sources at their end, sinks' last output awaiting commit). Written and
    /// committed before returning its id; nil when tasks are still running.
    func finalCheckpoint() throws -> Int64? {
        waitForWriter()
        let flight = state.withLock { s -> InFlight? in
            guard s.finished.count == taskCount, s.inFlight == nil else { return nil }
            let barrier = CheckpointBarrier(id: s.nextID)
            s.nextID += 1
            var flight = InFlight(barrier: barrier, startedNanos: MonotonicClock.nowNanoseconds(),
                                  triggeredAtMillis: WallClock.nowMilliseconds())
            flight.parts = s.finished.values.flatMap { parts in
                parts.map { part in
                    var restamped = part
                    restamped.checkpointID = barrier.id
                    return restamped
                }
            }
            return flight
        }
        guard let flight else { return nil }
        try write(flight)
        return flight.barrier.id
    }

    /// Waits until a checkpoint being written is committed or discarded.
    func waitForWriter() {
        writerIdle.withLock { $0 }?.wait()
    }

    /// A file name for a part: the step name with anything but letters, digits, `-`, `_`
    /// and `.` replaced, then the subtask.
    static func fileName(step: String, subtask: Int, taken: inout Set<String>) -> String {
        let safe = String(step.unicodeScalars.map { scalar -> Character in
            let ok = (scalar.properties.isAlphabetic && scalar.isASCII) || ("0"..."9").contains(scalar) || "-_.".unicodeScalars.contains(scalar)
            return ok ? Character(scalar) : "_"
        })
        var name = "\(safe.hasPrefix(".") || safe.hasPrefix("_") ? "s" + safe : safe)-\(subtask).state"
        var n = 1
        while taken.contains(name) {
            n += 1
            name = "\(safe)-\(subtask)-\(n).state"
        }
        taken.insert(name)
        return name
    }
}
