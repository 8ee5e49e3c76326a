import CreatorAnalyticsKit
import Foundation
import RunnelCheckpoint
import RunnelCore
import RunnelRuntime
import Testing

/// Checkpoints taken while the replay job runs: barriers flow through every exchange, each
/// task snapshots its operators, and complete checkpoints land on disk with every part.
@Suite struct ReplayCheckpointTests {
    @Test("checkpoints taken during a run leave results unchanged and hold every operator's state",
          arguments: [1, 2, 3])
    func checkpointsDuringARun(parallelism: Int) throws {
        let dir = try E2ETempDir("replay-chk")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 5, count: 40_000).write(to: URL(fileURLWithPath: input))

        var plain = ReplayConfiguration(inputPath: input, outputPath: dir.path("plain.ndjson"), parallelism: parallelism)
        plain.checkpoints = nil
        _ = try ReplayJob.run(plain)

        var checkpointed = ReplayConfiguration(inputPath: input, outputPath: dir.path("chk.ndjson"), parallelism: parallelism)
        checkpointed.checkpoints = CheckpointSettings(directory: dir.path("checkpoints"), interval: .milliseconds(5), retained: 1000)
        let summary = try ReplayJob.run(checkpointed)

        // Barriers and snapshots change nothing in the results.
        #expect(ReplayE2E.readLines(dir.path("chk.ndjson")).sorted() == ReplayE2E.readLines(dir.path("plain.ndjson")).sorted())
        #expect(summary.checkpointsCompleted >= 1, "the run was long enough for a checkpoint")

        let store = try CheckpointStore(directory: dir.path("checkpoints"), create: false)
        let ids = try store.completedIDs()
        #expect(ids.count == summary.checkpointsCompleted)
        #expect(try store.latestValid() != nil)
        // The first checkpoint was taken while every task ran (later ones may record some
        // tasks as finished instead of holding their state).
        let first = try store.load(store.path(of: try #require(ids.first)))
        let latest = first
        let manifest = first.manifest
        #expect(manifest.parallelism == parallelism)
        // Every source reader recorded its position; every keyed step covers all key groups.
        let sources = manifest.states.filter { $0.step == ReplayJob.Step.read }
        #expect(sources.count == parallelism)
        #expect(sources.allSatisfy { $0.summary.hasPrefix("block ") })
        for step in [ReplayJob.Step.dedup, ReplayJob.Step.postViews, ReplayJob.Step.sessions] {
            let parts = manifest.states.filter { $0.step == step }.sorted { $0.subtask < $1.subtask }
            #expect(parts.count == parallelism, "\(step)")
            #expect(parts.map(\.keyGroups.lowerBound) == parts.indices.map { KeyGroupAssignment(parallelism: parallelism).keyGroups(ofSubtask: $0).lowerBound })
            #expect(parts.last?.keyGroups.upperBound == 128)
        }
        // The dedup state decodes into a backend declaring the same state.
        let assignment = KeyGroupAssignment(parallelism: 1)
        let backend = KeyedStateBackend<EventIDKey>(assignment: assignment, keyGroups: 0..<128)
        let seen = backend.valueState(ValueStateDescriptor<Bool>("seen", ttl: StateTTL(.seconds(3600), timeDomain: .eventTime)))
        var snapshots: [[UInt8]] = []
        for part in manifest.states where part.step == ReplayJob.Step.dedup {
            var reader = BinaryReader(try #require(latest.payload(of: part.file)))
            snapshots.append(try reader.readBytes())
        }
        try backend.restore(from: snapshots)
        try backend.finishRestore()
        #expect(backend.entryCount > 0)
        _ = seen
    }
}
