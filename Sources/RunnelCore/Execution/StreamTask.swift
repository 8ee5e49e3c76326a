/// What a task asks of its runtime after a step.
public enum TaskStepResult: Sendable, Equatable {
    /// Run again soon (after other work on the loop).
    case moreWork
    /// Run again when woken (input arrived or a full output drained).
    case waitForWakeup
    /// Run again after this many milliseconds, or when woken.
    case sleep(milliseconds: Int64)
    /// The task is done.
    case finished
}

/// One subtask of one chain of operators: its input (a source split or an input gate),
/// the operators chained behind it, and the exchange senders at its end.
///
/// A runtime runs `step` on the task's own thread whenever it is woken; a step does a
/// bounded amount of work (so tasks sharing a loop interleave) and ships its output
/// batches before returning.
///
/// Thread safety: used only on the thread of the loop it is placed on, except
/// ``installWaker(_:)`` which is called before the job starts.
public final class StreamTask {
    /// A human-readable name: the chained steps and the subtask index.
    public let name: String
    /// The subtask index (the runtime places subtask `i` on loop `i mod loops`).
    public let subtask: Int
    var source: (any SourceDriver)?
    var input: (any InputDriver)?
    var outputs: [any OutputDriver] = []
    var failure: (any Error)?
    var closeActions: [() -> Void] = []
    /// The operators' snapshot actions, in chain order.
    var snapshotActions: [(CheckpointBarrier) throws -> CheckpointPart?] = []
    /// What the operators contribute to checkpoints once the task has finished.
    var finishedSnapshotActions: [() throws -> CheckpointPart?] = []
    /// Run when a checkpoint is complete on disk.
    var completionActions: [(Int64) throws -> Void] = []
    /// Whether the task reads a source (checkpoint barriers are injected into such tasks).
    public var isSource: Bool { source != nil }
    /// Receives this task's checkpoint parts (set by the runtime when checkpointing is on).
    public var checkpointAcknowledger: (any CheckpointAcknowledger)?
    private var isIdle = false
    /// When the source last emitted a record (`nil`: not yet; idleness counts from the first step).
    private var lastRecordTime: Timestamp?
    private var recordsSeen = 0
    private let clock: any ProcessingTimeService
    /// The largest number of input batches seen queued at the start of a step (metrics:
    /// proves that backpressure bounds the queues).
    var maxQueuedGauge: Gauge?
    /// Batches left queued after the last step (metrics: queue depth now).
    var queuedGauge: Gauge?
    /// The task's watermark in epoch milliseconds (metrics: watermark lag). Set once per
    /// step, not per watermark, so the hot path pays one relaxed store per step at most.
    var watermarkGauge: Gauge?
    /// Whether the task has finished.
    public private(set) var isFinished = false

    /// Records a source split reads per step.
    public var recordsPerStep = 4096
    /// Input batches a task drains per step.
    public var batchesPerStep = 32
    /// How long the input gate, waking from all-idle, counts the inputs still idle (see
    /// ``InputGate``): long enough for the other subtasks of the upstream step to wake.
    public var idleWakeHoldMilliseconds: Int64 = 1000

    /// Whether the processing-time timers held until the task runs were handed to its loop.
    private var timersReleased = false

    /// Hands the timers scheduled before the first step (see ``TaskProcessingTimeService``)
    /// to the loop the task runs on.
    private func releaseHeldTimers() {
        timersReleased = true
        (clock as? TaskProcessingTimeService)?.release()
    }

    init(name: String, subtask: Int, clock: any ProcessingTimeService) {
        self.name = name
        self.subtask = subtask
        self.clock = clock
    }

    /// Connects the task's channels to the waker that schedules it.
    public func installWaker(_ waker: any TaskWaker) {
        input?.setConsumerWaker(waker)
        for o in outputs { o.setProducerWaker(waker) }
        // Idleness travels on: a task whose inputs are all idle is idle for its consumers.
        input?.setIdleHandler { [unowned self] idle in
            for o in self.outputs { o.broadcastIdle(idle) }
        }
        input?.setBarrierHandler { [unowned self] barrier in self.checkpoint(barrier) }
        if idleWakeHoldMilliseconds > 0 {
            let clock = self.clock
            input?.configureWakeHold(milliseconds: idleWakeHoldMilliseconds, now: { clock.currentTime }) { [weak self] time in
                self?.clock.schedule(at: time) { [weak self] _ in self?.input?.recheckWakeHold() }
            }
        }
    }

    /// The checkpoint parts of a finished task, which later checkpoints include for it (a
    /// finished task takes no more barriers): a marker saying the task finished, and what
    /// its operators registered for this case (a source's final position, a sink's files
    /// awaiting commit).
    public func finishedCheckpointParts() throws -> [CheckpointPart] {
        let marker = CheckpointPart(checkpointID: 0, step: name, subtask: subtask, payload: [], summary: "finished")
        return [marker] + (try finishedSnapshotActions.compactMap { try $0() })
    }

    /// A checkpoint is complete on disk: operators commit what it covers. A failure fails
    /// the task (output that cannot be committed must not be reported as written) and is
    /// returned.
    @discardableResult
    public func notifyCheckpointComplete(_ checkpointID: Int64) -> (any Error)? {
        var first: (any Error)?
        for action in completionActions {
            do {
                try action(checkpointID)
            } catch {
                if first == nil { first = error }
                if failure == nil { failure = error }
            }
        }
        return first
    }

    /// Snapshots every operator of the task for `barrier` and sends the barrier on.
    ///
    /// Runs when the barrier has arrived on every input (for a source task: when the
    /// runtime injects it between two reads). Operators in a task are chained into direct
    /// calls, so all of them have processed exactly the records before the barrier.
    public func checkpoint(_ barrier: CheckpointBarrier) {
        let started = ContinuousClock.now
        var parts: [CheckpointPart] = []
        var failure: (any Error)?
        for action in snapshotActions {
            do {
                if let part = try action(barrier) { parts.append(part) }
            } catch {
                failure = error
                break
            }
        }
        if let failure {
            checkpointAcknowledger?.decline(checkpointID: barrier.id, task: name, subtask: subtask, error: failure)
        } else {
            checkpointAcknowledger?.acknowledge(checkpointID: barrier.id, task: name, subtask: subtask, parts: parts,
                                                pause: started.duration(to: .now))
        }
        for o in outputs { o.broadcastBarrier(barrier) }
        flushOutputs()
    }

    private var isBackpressured: Bool {
        for o in outputs where o.isBackpressured { return true }
        return false
    }

    /// Batches waiting in the task's input channels.
    public var queuedInputBatches: Int { input?.queuedBatches ?? 0 }

    /// Does a bounded amount of work.
    /// - Throws: the first error raised by a reader, operator or sink of the task.
    public func step() throws -> TaskStepResult {
        if !timersReleased { releaseHeldTimers() }
        if let failure { throw failure }
        guard !isFinished else { return .finished }
        defer { flushOutputs() }
        if let source {
            if isBackpressured { return .waitForWakeup }
            let status = try source.step(limit: recordsPerStep)
            if let failure { throw failure }
            let emitted = source.recordsEmitted
            let producedRecords = emitted != recordsSeen
            if producedRecords {
                recordsSeen = emitted
                markActive()
            }
            if let watermarkGauge, source.lastWatermark != watermarkGauge.value {
                watermarkGauge.set(source.lastWatermark)
            }
            switch status {
            case .more:
                return .moreWork
            case .waiting(let retry):
                if !producedRecords { checkIdleness(source) }
                return .sleep(milliseconds: retry)
            case .finished:
                isFinished = true
                return .finished
            }
        }
        guard let input else {
            isFinished = true
            return .finished
        }
        if let maxQueuedGauge {
            let queued = Int64(input.queuedBatches)
            if queued > maxQueuedGauge.value { maxQueuedGauge.set(queued) }
        }
        let drained = input.drain(maxBatches: batchesPerStep) { !isBackpressured }
        queuedGauge?.set(Int64(input.queuedBatches))
        if let watermarkGauge, input.currentWatermark != watermarkGauge.value {
            watermarkGauge.set(input.currentWatermark)
        }
        if let failure { throw failure }
        if input.isFinished {
            isFinished = true
            return .finished
        }
        if isBackpressured { return .waitForWakeup }
        if drained == batchesPerStep || input.hasPendingInput { return .moreWork }
        return .waitForWakeup
    }

    /// Ships buffered output (also after a processing-time timer ran outside a step).
    public func flushOutputs() {
        for o in outputs { o.flushAll() }
    }

    /// Releases sources and sinks (a sink that did not finish keeps what it wrote).
    public func close() {
        source?.close()
        for action in closeActions { action() }
        closeActions = []
    }

    private func markActive() {
        lastRecordTime = clock.currentTime
        if isIdle {
            isIdle = false
            for o in outputs { o.broadcastIdle(false) }
        }
    }

    private func checkIdleness(_ source: any SourceDriver) {
        guard let timeout = source.idleTimeoutMilliseconds, !isIdle else { return }
        let now = clock.currentTime
        guard let last = lastRecordTime else {
            lastRecordTime = now
            return
        }
        if now - last >= timeout {
            isIdle = true
            for o in outputs { o.broadcastIdle(true) }
        }
    }
}

/// Wraps a loop's processing-time service so that output produced by a timer callback is
/// shipped right after the callback (timers run outside task steps).
///
/// Timers scheduled before the task's first step — those a restored checkpoint brings
/// back, rebuilt while the tasks are created on the job's starting thread — are held and
/// handed to the loop's service at that step, on the loop (``release()``): a loop timer may
/// only be set on its loop, and one that fired at once could run the operator there while
/// its restore went on elsewhere, or before every channel of the job was wired.
final class TaskProcessingTimeService: ProcessingTimeService {
    let base: any ProcessingTimeService
    weak var task: StreamTask?
    /// Timers scheduled before the task started; nil once it has.
    private var held: [(time: Timestamp, callback: (Timestamp) -> Void)]? = []

    init(base: any ProcessingTimeService) { self.base = base }

    var currentTime: Timestamp { base.currentTime }

    /// The task runs on its loop now: schedules the timers held until then.
    func release() {
        guard let timers = held else { return }
        held = nil
        for timer in timers { schedule(at: timer.time, timer.callback) }
    }

    func schedule(at time: Timestamp, _ callback: @escaping (Timestamp) -> Void) {
        if held != nil {
            held!.append((time, callback))
            return
        }
        base.schedule(at: time) { [weak self] now in
            callback(now)
            self?.task?.flushOutputs()
        }
    }
}
