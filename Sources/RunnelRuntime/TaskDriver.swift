import RunnelCore

/// Runs one ``StreamTask`` on its event loop: steps it when woken, yields between steps
/// so that tasks sharing the loop interleave, and sleeps on a timer when its source
/// waits for data.
///
/// Thread safety: created and used on the loop's thread; only the waker crosses threads.
final class TaskDriver {
    let task: StreamTask
    let loop: EventLoop
    private var wakeup: LoopWakeup?
    private var scheduled = false
    private var sleepTimer: LoopTimer?
    private let onFinished: () -> Void
    private let onFailure: (any Error) -> Void
    private var done = false

    init(task: StreamTask, loop: EventLoop, onFinished: @escaping () -> Void, onFailure: @escaping (any Error) -> Void) {
        self.task = task
        self.loop = loop
        self.onFinished = onFinished
        self.onFailure = onFailure
    }

    /// Creates the task's wake-up handle and wires it to the task's channels (loop thread).
    func installWakeup() throws {
        let wakeup = try LoopWakeup(loop: loop) { [weak self] in self?.schedule() }
        self.wakeup = wakeup
        task.installWaker(WakeupWaker(wakeup))
    }

    /// Requests a step on a later loop iteration (coalesced).
    func schedule() {
        guard !scheduled, !done else { return }
        scheduled = true
        loop.executeSoon { [self] in
            scheduled = false
            runStep()
        }
    }

    /// Stops stepping (cancellation) and releases handles.
    /// Injects a checkpoint barrier into the (source) task between two steps.
    func inject(_ barrier: CheckpointBarrier) {
        guard !done else { return }
        task.checkpoint(barrier)
        schedule()
    }

    func stop() {
        done = true
        sleepTimer?.cancel()
        sleepTimer = nil
        wakeup?.close()
        wakeup = nil
        task.close()
    }

    private func runStep() {
        guard !done else { return }
        do {
            switch try task.step() {
            case .moreWork:
                schedule()
            case .waitForWakeup:
                break
            case .sleep(let ms):
                sleepTimer?.cancel()
                sleepTimer = loop.scheduleTimer(afterMilliseconds: UInt64(max(1, ms))) { [weak self] in
                    self?.sleepTimer?.cancel()
                    self?.sleepTimer = nil
                    self?.schedule()
                }
            case .finished:
                done = true
                onFinished()
            }
        } catch {
            done = true
            onFailure(error)
        }
    }
}

/// Adapts a ``LoopWakeup`` to the core's ``TaskWaker``.
final class WakeupWaker: TaskWaker {
    let wakeup: LoopWakeup
    init(_ wakeup: LoopWakeup) { self.wakeup = wakeup }
    func wake() { _ = wakeup.signal() }
}
