import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Idleness across unions and task boundaries (found in review).
@Suite struct IdlenessPropagationTests {
    private func unionJob(parallelism: Int, splits: Int, idleness: Duration, start: Timestamp = 10_000) throws -> UnionWindowJob.Parts {
        try UnionWindowJob.make(parallelism: parallelism, splits: splits, idleness: idleness, start: start)
    }

    /// An idle input plus an ended input make the gate emit the end-of-time watermark
    /// although the idle input is still open: its later records are all dropped as late.
    @Test func idleAndEndedInputsDoNotEndTime() throws {
        let (a, b, runner, sink) = try unionJob(parallelism: 1, splits: 1, idleness: .milliseconds(100))
        try runner.runUntilIdle()
        a.push([Ev("a", 1)])
        try runner.pump()
        try runner.pump(200)   // A goes idle
        try runner.pump(200)
        b.push([Ev("b", 5)])
        b.finish()
        try runner.pump()
        try runner.pump()
        // A is idle but not finished; it sends more data in window [0,10) / [10,20)
        a.push([Ev("a", 12)])
        try runner.pump()
        a.push([Ev("a", 30)])
        a.finish()
        try runner.pump(); try runner.pump()
        #expect(runner.metric("late_records", "sum") == 0, "fired: \(sink.firedSorted)")
        #expect(sink.firedSorted.contains(Fired("a", 10, 20, 1)), "fired: \(sink.firedSorted)")
    }

    /// A task whose inputs are all idle never tells its consumers: a union subtask whose
    /// splits are both idle holds back every downstream window.
    @Test func idlenessPropagatesThroughUnion() throws {
        let (a, b, runner, sink) = try unionJob(parallelism: 2, splits: 2, idleness: .milliseconds(100))
        try runner.runUntilIdle()
        for t in stride(from: Int64(1), through: 100, by: 10) {
            a.push([Ev("a", t)], split: 0)
            b.push([Ev("b", t)], split: 0)
            try runner.pump(50)
        }
        try runner.pump(500)
        try runner.pump(500)
        #expect(!sink.fired.isEmpty)
    }

    /// Control: the same job fires when one split of subtask 1 has data.
    @Test func unionFiresWhenOneSplitOfEverySubtaskIsActive() throws {
        let (a, b, runner, sink) = try unionJob(parallelism: 2, splits: 2, idleness: .milliseconds(100))
        try runner.runUntilIdle()
        for t in stride(from: Int64(1), through: 100, by: 10) {
            a.push([Ev("a", t)], split: 0); a.push([Ev("c", t)], split: 1)
            b.push([Ev("b", t)], split: 0)
            try runner.pump(50)
        }
        try runner.pump(500)
        #expect(!sink.fired.isEmpty)
    }

}
