import RunnelCore

/// Runs a job graph on the calling thread, deterministically, with a ``ManualClock``:
/// the test harness for operators and whole jobs (SwiftNIO's embedded event loop, for
/// Runnel).
///
/// Every subtask of every step runs here, round-robin, through the same tasks, channels
/// and exchanges as on the libuv runtime; only threads and real time are missing.
public final class EmbeddedRunner {
    private final class Flag: TaskWaker, @unchecked Sendable {
        // @unchecked: single-threaded by construction (embedded runner).
        var raised = true
        func wake() { raised = true }
    }

    /// The instantiated job.
    public let plan: ExecutionPlan
    /// The processing-time clock of every task.
    public let clock: ManualClock
    private let flags: [Flag]
    private var sleepingUntil: [Timestamp?]

    /// Instantiates `graph` with `parallelism` subtasks per step.
    public init(graph: JobGraph, parallelism: Int = 1, clock: ManualClock = ManualClock(),
                options: ExecutionPlan.Options = ExecutionPlan.Options()) throws {
        self.clock = clock
        self.plan = try ExecutionPlan(graph: graph, parallelism: parallelism, options: options) { _ in clock }
        self.flags = plan.tasks.map { _ in Flag() }
        self.sleepingUntil = plan.tasks.map { _ in nil }
        for (task, flag) in zip(plan.tasks, flags) { task.installWaker(flag) }
    }

    /// Whether every task has finished.
    public var isFinished: Bool { plan.tasks.allSatisfy(\.isFinished) }

    /// Runs tasks until none can make progress without time passing.
    /// - Returns: the number of task steps run.
    @discardableResult
    public func runUntilIdle(maxSteps: Int = 10_000_000) throws -> Int {
        var steps = 0
        while true {
            var ranAny = false
            for (i, task) in plan.tasks.enumerated() where !task.isFinished {
                let due = flags[i].raised || (sleepingUntil[i].map { $0 <= clock.currentTime } ?? false)
                guard due else { continue }
                flags[i].raised = false
                sleepingUntil[i] = nil
                steps += 1
                precondition(steps <= maxSteps, "job did not settle within \(maxSteps) steps")
                ranAny = true
                switch try task.step() {
                case .moreWork: flags[i].raised = true
                case .waitForWakeup, .finished: break
                case .sleep(let ms): sleepingUntil[i] = clock.currentTime + max(ms, 1)
                }
            }
            if !ranAny { break }
        }
        return steps
    }

    /// Runs a bounded job to completion, advancing the clock when tasks only wait for time.
    public func runToCompletion(maxTimeAdvance: Duration = .seconds(3600)) throws {
        let deadline = clock.currentTime + maxTimeAdvance.milliseconds
        while true {
            try runUntilIdle()
            if isFinished { return }
            let next = sleepingUntil.compactMap { $0 }.min()
            guard let next, next <= deadline else {
                throw EmbeddedRunnerError.stalled(unfinished: plan.tasks.filter { !$0.isFinished }.map(\.name))
            }
            clock.advance(to: max(next, clock.currentTime))
        }
    }

    /// Advances the clock (firing processing-time timers) and runs until idle.
    public func advanceTime(by duration: Duration) throws {
        clock.advance(by: duration)
        try runUntilIdle()
    }
}

/// Why an embedded run could not finish.
public enum EmbeddedRunnerError: Error, CustomStringConvertible {
    /// Tasks neither progressed nor waited for time.
    case stalled(unfinished: [String])

    public var description: String {
        switch self {
        case .stalled(let names): return "job stalled; unfinished tasks: \(names.joined(separator: ", "))"
        }
    }
}
