import RunnelCheckpoint
import RunnelCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Runs a job graph on libuv event loops, one loop per worker thread.
///
/// Subtask `i` of every step runs on loop `i mod loops`; tasks on one loop interleave
/// step by step, tasks on different loops exchange batches through bounded channels
/// woken by `uv_async`. `run()` blocks the calling thread until every task finished
/// (bounded input), a task failed, or the job was cancelled (``cancel()``, or SIGINT /
/// SIGTERM when ``Options/handleSignals`` is set).
///
/// Thread safety: `run()` once, from one thread; `cancel()` from any thread.
public final class JobRunner: Sendable {
    /// How to run the job.
    public struct Options: Sendable {
        /// Subtasks per step (default: one per core).
        public var parallelism: Int
        /// Worker threads (event loops); default: the parallelism.
        public var loops: Int?
        /// Exchange tuning.
        public var plan = ExecutionPlan.Options()
        /// Cancel the job on SIGINT and SIGTERM.
        public var handleSignals = false
        /// Periodic checkpoints to a directory; nil for none.
        public var checkpoints: CheckpointSettings?
        /// A checkpoint to start from (read and checked with `CheckpointStore`); nil for a fresh start.
        public var restore: RestoredCheckpoint?

        /// Creates options.
        public init(parallelism: Int = EventLoopGroup.defaultLoopCount, loops: Int? = nil, handleSignals: Bool = false) {
            self.parallelism = parallelism
            self.loops = loops
            self.handleSignals = handleSignals
        }
    }

    /// What a finished run reports.
    public struct Result: Sendable {
        /// Counters of every step summed over subtasks.
        public var counters: [MetricsRegistry.Name: Int]
        /// Gauges at the end of the run (the largest value over subtasks).
        public var gauges: [MetricsRegistry.Name: Int64] = [:]
        /// Wall time of the run in seconds.
        public var wallSeconds: Double
        /// Of that, the time spent creating the tasks: opening sources and sinks and, when
        /// restoring, decoding every operator's state from the checkpoint.
        public var setupSeconds: Double = 0
        /// Peak resident set size of the process in bytes.
        public var peakResidentBytes: UInt64
        /// Allocator statistics at the end (nil when jemalloc is not the allocator).
        public var allocator: AllocatorStatistics?

        /// The total of one counter of one step.
        public func counter(_ metric: String, step: String) -> Int {
            counters[MetricsRegistry.Name(operatorName: step, metric: metric)] ?? 0
        }
    }

    /// Why a run ended without finishing its input.
    public enum RunError: Error, CustomStringConvertible {
        /// `cancel()` was called or a signal arrived.
        case cancelled(signal: Int32?)
        /// SIGTERM with checkpointing on: a savepoint was taken and the job stopped; restoring
        /// it continues where the job stopped.
        case stoppedWithSavepoint(id: Int64, path: String)

        public var description: String {
            switch self {
            case .cancelled(let signal?): return "job cancelled by signal \(signal)"
            case .cancelled(nil): return "job cancelled"
            case .stoppedWithSavepoint(let id, let path): return "job stopped with savepoint \(id) (\(path))"
            }
        }
    }

    private struct State {
        var failure: (any Error)?
        var cancelled: RunError?
        var remaining = 0
        var started = false
    }

    /// The job.
    public let graph: JobGraph
    /// The options.
    public let options: Options
    /// Metrics of the running job (readable while it runs).
    public let metrics = MetricsRegistry()
    private let state = Mutex(State())
    private let done = OneShotLatch()

    /// Prepares a run.
    public init(graph: JobGraph, options: Options = Options()) {
        precondition(options.parallelism > 0)
        self.graph = graph
        self.options = options
    }

    /// Cancels the job (any thread); `run()` then throws ``RunError/cancelled(signal:)``.
    public func cancel(signal: Int32? = nil) {
        stop(with: .cancelled(signal: signal))
    }

    private func stop(with reason: RunError) {
        state.withLock { if $0.cancelled == nil { $0.cancelled = reason } }
        done.open()
    }

    /// Runs the job to its end on a fresh group of event loops.
    /// - Throws: the first error of a task, or ``RunError`` when cancelled.
    @discardableResult
    public func run() throws -> Result {
        let start = MonotonicClock.nowNanoseconds()
        let loopCount = max(1, min(options.loops ?? options.parallelism, options.parallelism))
        let group = try EventLoopGroup(loopCount: loopCount, namePrefix: "runnel-\(graph.name)")
        let clocks = group.loops.map { LoopProcessingTimeService(loop: $0) }
        let plan: ExecutionPlan
        var setupNanos: UInt64 = 0
        do {
            var planOptions = options.plan
            if let checkpoint = options.restore { planOptions.restored = Self.restoredState(checkpoint) }
            plan = try ExecutionPlan(graph: graph, parallelism: options.parallelism, options: planOptions, metrics: metrics) {
                clocks[$0 % loopCount]
            }
            setupNanos = MonotonicClock.nowNanoseconds() - start
        } catch {
            // Opening a source or sink failed: the loops are already running; stop them.
            group.shutdownGracefully()
            throw error
        }
        state.withLock { $0.remaining = plan.tasks.count }
        if plan.tasks.isEmpty { done.open() }
        /// Tells every task (on its loop) that a checkpoint is complete; set once the drivers exist.
        let completionNotifier = UncheckedBox<(@Sendable (Int64) -> Void)?>(nil)
        let coordinator: CheckpointCoordinator?
        if let settings = options.checkpoints {
            do {
                let notify = completionNotifier
                coordinator = try CheckpointCoordinator(
                    settings: settings, jobName: graph.name, parallelism: options.parallelism,
                    maxParallelism: KeyGroupAssignment.defaultMaxParallelism, taskCount: plan.tasks.count, metrics: metrics,
                    onComplete: { id in notify.value?(id) })
            } catch {
                group.shutdownGracefully()
                throw error
            }
            for task in plan.tasks { task.checkpointAcknowledger = coordinator }
        } else {
            coordinator = nil
        }

        // Tasks and their drivers move to their loops; each is touched only there from now on.
        let drivers = UncheckedBox(plan.tasks.map { task in
            TaskDriver(task: task, loop: group.loop(at: task.subtask % loopCount),
                       onFinished: { [self] in
                           if let coordinator {
                               do {
                                   coordinator.taskFinished(.init(name: task.name, subtask: task.subtask),
                                                            finalParts: try task.finishedCheckpointParts())
                               } catch {
                                   taskFailed(error)
                               }
                           }
                           taskFinished()
                       },
                       onFailure: { [self] error in taskFailed(error) })
        })
        let savepoint = Mutex<Int64?>(nil)
        completionNotifier.value = { [self] id in
            let stopping = savepoint.withLock { $0 == id }
            let committed = CountdownLatch(count: stopping ? drivers.value.count : 0)
            for d in drivers.value {
                let driver = UncheckedBox(d)
                d.loop.execute {
                    driver.value.task.notifyCheckpointComplete(id)
                    if stopping { committed.countDown() }
                }
            }
            if stopping, let coordinator {
                // Stop once the sinks committed what the savepoint covers.
                committed.wait()
                stop(with: .stoppedWithSavepoint(id: id, path: coordinator.store.path(of: id)))
            }
        }
        /// Injects a barrier into every source task (on loop 0).
        let injectBarrier: @Sendable (CheckpointBarrier) -> Void = { barrier in
            for d in drivers.value where d.task.isSource {
                // The driver is touched only on its own loop.
                let driver = UncheckedBox(d)
                d.loop.execute { driver.value.inject(barrier) }
            }
        }
        let savepointRetry = UncheckedBox<LoopTimer?>(nil)
        let signals = UncheckedBox<SignalWatcher?>(nil)
        let allocatorTimer = UncheckedBox<LoopTimer?>(nil)
        let checkpointTimer = UncheckedBox<LoopTimer?>(nil)
        let allocated = metrics.gauge("allocator_allocated_bytes", operator: "runtime")
        let resident = metrics.gauge("allocator_resident_bytes", operator: "runtime")
        let sampleAllocator: @Sendable () -> Void = {
            guard let stats = AllocatorStatistics.current() else { return }
            allocated.set(Int64(stats.allocatedBytes))
            resident.set(Int64(stats.residentBytes))
        }
        sampleAllocator()

        // Phase 1: wire every wake-up before any task runs, so no wake-up is lost.
        let wired = CountdownLatch(count: loopCount)
        for (index, loop) in group.loops.enumerated() {
            loop.execute { [self] in
                for d in drivers.value where d.loop === loop {
                    do { try d.installWakeup() } catch { taskFailed(error) }
                }
                if index == 0 && options.handleSignals {
                    signals.value = try? SignalWatcher(loop: loop) { [self] sig in
                        // SIGTERM with checkpoints: stop with a savepoint (a second SIGTERM cancels).
                        guard sig == SIGTERM, let coordinator, savepoint.withLock({ $0 == nil }) else {
                            cancel(signal: sig)
                            return
                        }
                        func attempt() {
                            if let barrier = coordinator.trigger(savepoint: true) {
                                savepoint.withLock { $0 = barrier.id }
                                savepointRetry.value?.cancel()
                                injectBarrier(barrier)
                            } else if savepointRetry.value == nil {
                                // A checkpoint is in flight: try again shortly.
                                savepointRetry.value = loop.scheduleTimer(afterMilliseconds: 5, repeatMilliseconds: 5) { attempt() }
                            }
                        }
                        savepoint.withLock { $0 = -1 }
                        attempt()
                    }
                }
                if index == 0 {
                    // jemalloc's statistics, sampled into the job's metrics once a second.
                    allocatorTimer.value = loop.scheduleTimer(afterMilliseconds: 1000, repeatMilliseconds: 1000, sampleAllocator)
                    if let coordinator, let settings = options.checkpoints {
                        let interval = UInt64(max(1, settings.interval.milliseconds))
                        checkpointTimer.value = loop.scheduleTimer(afterMilliseconds: interval, repeatMilliseconds: interval) {
                            guard savepoint.withLock({ $0 == nil }), let barrier = coordinator.trigger() else { return }
                            injectBarrier(barrier)
                        }
                    }
                }
                wired.countDown()
            }
        }
        wired.wait()
        // Phase 2: start every task.
        for loop in group.loops {
            loop.execute {
                for d in drivers.value where d.loop === loop { d.schedule() }
            }
        }
        done.wait()
        if let coordinator, state.withLock({ $0.failure == nil && $0.cancelled == nil }) {
            // Every task finished: the final checkpoint covers the sinks' last output, then
            // the sinks commit it. (A crash before this commit restores the final checkpoint
            // and finishes the commit; a crash before it is written replays from the last one.)
            do {
                if let id = try coordinator.finalCheckpoint() {
                    let committed = CountdownLatch(count: drivers.value.count)
                    let failures = Mutex<[any Error]>([])
                    for d in drivers.value {
                        let driver = UncheckedBox(d)
                        d.loop.execute {
                            if let error = driver.value.task.notifyCheckpointComplete(id) { failures.withLock { $0.append(error) } }
                            committed.countDown()
                        }
                    }
                    committed.wait()
                    if let error = failures.withLock({ $0.first }) { taskFailed(error) }
                }
            } catch {
                taskFailed(error)
            }
        }

        // Stop tasks on their loops, then the loops.
        let stopped = CountdownLatch(count: loopCount)
        for (index, loop) in group.loops.enumerated() {
            loop.execute {
                for d in drivers.value where d.loop === loop { d.stop() }
                if index == 0 {
                    signals.value?.stop()
                    allocatorTimer.value?.cancel()
                    checkpointTimer.value?.cancel()
                    savepointRetry.value?.cancel()
                }
                stopped.countDown()
            }
        }
        stopped.wait()
        group.shutdownGracefully()
        coordinator?.waitForWriter()

        let (failure, cancelled) = state.withLock { ($0.failure, $0.cancelled) }
        if let failure { throw failure }
        if let cancelled { throw cancelled }
        sampleAllocator()
        let seconds = Double(MonotonicClock.nowNanoseconds() - start) / 1e9
        var result = Result(counters: metrics.counterTotals(), wallSeconds: seconds,
                            peakResidentBytes: AllocatorStatistics.peakResidentSetBytes(), allocator: AllocatorStatistics.current())
        result.gauges = metrics.gaugeValues().mapValues { $0.max() ?? 0 }
        result.setupSeconds = Double(setupNanos) / 1e9
        return result
    }

    /// The parts of a checkpoint by step, for the operators to restore from.
    static func restoredState(_ checkpoint: RestoredCheckpoint) -> RestoredState {
        func partsByStep(_ checkpoint: RestoredCheckpoint) -> [String: [CheckpointPart]] {
            let m = checkpoint.manifest
            var parts: [String: [CheckpointPart]] = [:]
            for entry in m.states {
                parts[entry.step, default: []].append(CheckpointPart(
                    checkpointID: m.id, step: entry.step, subtask: entry.subtask, keyGroups: entry.keyGroups,
                    payload: checkpoint.payload(of: entry.file) ?? [], summary: entry.summary))
            }
            return parts
        }
        var earlier: [Int64: [String: [CheckpointPart]]] = [:]
        for dependency in checkpoint.dependencies { earlier[dependency.manifest.id] = partsByStep(dependency) }
        return RestoredState(checkpointID: checkpoint.manifest.id, parallelism: checkpoint.manifest.parallelism,
                             parts: partsByStep(checkpoint), earlierParts: earlier)
    }

    private func taskFinished() {
        let last = state.withLock { s -> Bool in
            s.remaining -= 1
            return s.remaining == 0
        }
        if last { done.open() }
    }

    private func taskFailed(_ error: any Error) {
        state.withLock { if $0.failure == nil { $0.failure = error } }
        done.open()
    }
}

/// Carries a value that is only ever used on one thread at a time, with a happens-before
/// edge (a loop submission) between uses, across a `@Sendable` boundary.
final class UncheckedBox<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// Blocks until `count` count-downs happened.
final class CountdownLatch: Sendable {
    private let remaining: Mutex<Int>
    private let latch = OneShotLatch()
    init(count: Int) {
        remaining = Mutex(count)
        if count == 0 { latch.open() }
    }
    func countDown() {
        let zero = remaining.withLock { r -> Bool in
            r -= 1
            return r == 0
        }
        if zero { latch.open() }
    }
    func wait() { latch.wait() }
}
