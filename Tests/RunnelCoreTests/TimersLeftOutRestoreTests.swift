import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// A checkpoint part of a window operator that left its timers out (flags byte 1) can be
/// restored only by an operator that rebuilds them from its windows; any other refuses,
/// naming the step, instead of running with windows that never fire.
@Suite struct TimersLeftOutRestoreTests {
    /// A keyed operator's part: empty keyed state and timer snapshots, then `flags`.
    static func part(step: String, flags: UInt8?) -> CheckpointPart {
        var writer = BinaryWriter()
        var state = BinaryWriter()
        state.write(0)
        state.write(128)
        state.writeVarUInt(0)
        writer.writeBytes(state.bytes)
        var timers = BinaryWriter()
        timers.writeVarInt(1_000)
        timers.write(0)
        timers.write(128)
        for _ in 0..<2 {
            for group in 0..<128 {
                timers.write(group)
                timers.writeBytes([0] as [UInt8])
            }
        }
        writer.writeBytes(timers.bytes)
        if let flags { writer.writeByte(flags) }
        return CheckpointPart(checkpointID: 7, step: step, subtask: 0, keyGroups: 0..<128, payload: writer.bytes)
    }

    static func graph(earlyFiring: Bool) throws -> JobGraph {
        let env = StreamEnvironment(name: "timers-left-out")
        let windows = env.source("clicks", RestorableClicks(), watermarks: .monotonousTimestamps { $0.time })
            .keyBy { $0.user }
            .window(TumblingWindows(.seconds(10)))
        if earlyFiring {
            windows.trigger(EarlyFiringTrigger(every: .seconds(1))).aggregate("count", CountAggregate<Click>())
                .sink("collect", CollectSink<WindowResult<String, Int>>())
        } else {
            windows.aggregate("count", CountAggregate<Click>()).sink("collect", CollectSink<WindowResult<String, Int>>())
        }
        return try env.build()
    }

    static func options(_ part: CheckpointPart) -> ExecutionPlan.Options {
        var options = ExecutionPlan.Options()
        options.restored = RestoredState(checkpointID: 7, parallelism: 1, parts: ["count": [part]])
        return options
    }

    @Test func anOperatorThatCannotRebuildTimersRefusesTheRestore() throws {
        #expect {
            _ = try EmbeddedRunner(graph: try Self.graph(earlyFiring: true), options: Self.options(Self.part(step: "count", flags: 1)))
        } throws: { error in
            "\(error)".contains("step 'count'") && error is TimersNotRebuildable
        }
    }

    @Test("the same part restores where timers can be rebuilt; parts that kept their timers restore anywhere")
    func otherwiseTheRestoreGoesAhead() throws {
        _ = try EmbeddedRunner(graph: try Self.graph(earlyFiring: false), options: Self.options(Self.part(step: "count", flags: 1)))
        // Format 2 (no flags byte) and format 3 with timers kept.
        _ = try EmbeddedRunner(graph: try Self.graph(earlyFiring: true), options: Self.options(Self.part(step: "count", flags: nil)))
        _ = try EmbeddedRunner(graph: try Self.graph(earlyFiring: true), options: Self.options(Self.part(step: "count", flags: 0)))
        #expect(throws: SnapshotDecodingError.self) {
            _ = try EmbeddedRunner(graph: try Self.graph(earlyFiring: false), options: Self.options(Self.part(step: "count", flags: 2)))
        }
    }
}

/// A source that emits one click and can be restored (to nothing: the tests restore only
/// the window step's state).
struct RestorableClicks: Source {
    final class Reader: SourceReader {
        var done = false
        func read(into output: SourceOutput<Click>, limit: Int) throws -> SourceReadStatus {
            if !done { output.emit(Click(user: "u", time: 5)) }
            done = true
            return .finished
        }
        func checkpointPosition() throws -> (payload: [UInt8], summary: String) { ([], "one click") }
        func restore(from positions: [[UInt8]]) throws { done = true }
    }

    func createReader(subtask: Int, parallelism: Int) throws -> Reader { Reader() }
}
