import CreatorAnalyticsKit
import Foundation
import RunnelCheckpoint
import RunnelCore
import RunnelOperators
import RunnelRuntime
import RunnelTesting
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

        var checkpointed = ReplayConfiguration(inputPath: input, outputPath: dir.path("chk-out"), parallelism: parallelism)
        checkpointed.checkpoints = CheckpointSettings(directory: dir.path("checkpoints"), interval: .milliseconds(5), retained: 1000,
                                                          incremental: true)
        checkpointed.linesPerSecond = 50_000
        let summary = try ReplayJob.run(checkpointed)

        // Barriers and snapshots change nothing in the results (with checkpoints the output
        // is a directory of committed part files).
        let committed = try ReplayCrashTests.committedLines(dir.path("chk-out")).sorted()
        #expect(committed == ReplayE2E.readLines(dir.path("plain.ndjson")).sorted())
        #expect(summary.checkpointsCompleted >= 1, "the run was long enough for a checkpoint")

        let store = try CheckpointStore(directory: dir.path("checkpoints"), create: false)
        let ids = try store.completedIDs()
        #expect(ids.count == summary.checkpointsCompleted)
        #expect(try store.latestValid() != nil)
        // A checkpoint taken while every task ran and after the sources had read something
        // (under load the first trigger may come before the first read; the last ones record
        // finished tasks instead of their state).
        // Of those, the one whose deduplication state is largest (its parts' summaries say
        // "N state entries").
        func dedupEntries(_ m: CheckpointManifest) -> Int {
            m.states.filter { $0.step == ReplayJob.Step.dedup }.reduce(0) { $0 + (Int($1.summary.prefix { $0.isNumber }) ?? 0) }
        }
        let chosen = try ids.map { try store.load(store.path(of: $0)) }.filter { checkpoint in
            let m = checkpoint.manifest
            return m.states.filter { $0.step == ReplayJob.Step.dedup }.count == parallelism
                && m.states.filter { $0.step == ReplayJob.Step.read }.allSatisfy { !$0.summary.hasSuffix("line 1") }
        }.max { dedupEntries($0.manifest) < dedupEntries($1.manifest) }
        let latest = try #require(chosen, "a checkpoint taken mid-run")
        let manifest = latest.manifest
        #expect(manifest.parallelism == parallelism)
        // Every source reader recorded its position; every keyed step covers all key groups.
        let sources = manifest.states.filter { $0.step == ReplayJob.Step.read }
        #expect(sources.count == parallelism)
        #expect(sources.allSatisfy { $0.summary.hasPrefix("block ") || $0.summary == "finished" })
        for step in [ReplayJob.Step.dedup, ReplayJob.Step.postViews, ReplayJob.Step.sessions] {
            let parts = manifest.states.filter { $0.step == step }.sorted { $0.subtask < $1.subtask }
            #expect(parts.count == parallelism, "\(step)")
            #expect(parts.map(\.keyGroups.lowerBound) == parts.indices.map { KeyGroupAssignment(parallelism: parallelism).keyGroups(ofSubtask: $0).lowerBound })
            #expect(parts.last?.keyGroups.upperBound == 128)
        }
        // The window operators (tumbling views, event-time sessions, no allowed lateness)
        // write their watermark but no timers: restore rebuilds those from the windows.
        for step in [ReplayJob.Step.postViews, ReplayJob.Step.sessions] {
            var windows = 0
            for part in manifest.states where part.step == step {
                windows += Int(part.summary.prefix { $0.isNumber }) ?? 0
                var reader = BinaryReader(try #require(latest.payload(of: part.file)))
                _ = try reader.readBytes()
                let timers = InternalTimerService<String, TimeWindow>(processingTimeService: ManualClock(start: 0))
                let watermark = try timers.restore(from: [try reader.readBytes()], keyGroups: part.keyGroups,
                                                   assignment: KeyGroupAssignment(parallelism: parallelism))
                #expect(watermark != nil && watermark! > Watermark.initial, "\(step): the watermark is kept")
                #expect(timers.timerCounts == (0, 0), "\(step): no timers written")
            }
            #expect(windows > 0, "\(step) held windows at the checkpoint")
        }
        // The dedup state decodes into a backend declaring the same state.
        let assignment = KeyGroupAssignment(parallelism: 1)
        let backend = KeyedStateBackend<EventIDKey>(assignment: assignment, keyGroups: 0..<128)
        let seen = backend.valueState(ValueStateDescriptor<Bool>("seen", ttl: StateTTL(.seconds(3600), timeDomain: .eventTime)))
        func dedupSnapshots(_ checkpoint: RestoredCheckpoint) throws -> [[UInt8]] {
            try checkpoint.manifest.states.filter { $0.step == ReplayJob.Step.dedup }.map { part in
                var reader = BinaryReader(try #require(checkpoint.payload(of: part.file)))
                return try reader.readBytes()
            }
        }
        // Incremental: key groups written as deltas are rebuilt from the checkpoints before.
        var earlier: [Int64: [[UInt8]]] = [:]
        for dependency in latest.dependencies { earlier[dependency.manifest.id] = try dedupSnapshots(dependency) }
        #expect(latest.dependencies.map(\.manifest.id) == manifest.dependsOn)
        try backend.restore(from: try dedupSnapshots(latest), earlier: earlier)
        try backend.finishRestore()
        #expect(backend.entryCount == dedupEntries(manifest))
        _ = seen
        // The deduplication state grows by a fraction each interval: later checkpoints build
        // on earlier ones (incremental) rather than writing it all again.
        #expect(try ids.contains { !(try store.load(store.path(of: $0)).manifest.dependsOn.isEmpty) })
    }
}

/// Exactly-once state: a run restored from any checkpoint produces exactly the output the
/// checkpoint does not cover. The collect sink records, for each checkpoint, which records
/// had reached it before the barrier; those plus everything the restored run emits must
/// equal the output of the uninterrupted run, as a multiset: nothing lost, nothing doubled.
@Suite struct ReplayRestoreTests {
    @Test("restoring from early, middle and late checkpoints gives the rest of the output exactly once",
          arguments: [1, 2])
    func restoreGivesTheRest(parallelism: Int) throws {
        let dir = try E2ETempDir("replay-restore")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 17, count: 40_000).write(to: URL(fileURLWithPath: input))
        let config = ReplayConfiguration(inputPath: input, outputPath: "", parallelism: parallelism)

        let full = CollectSink<ReplayResult>()
        var options = JobRunner.Options(parallelism: parallelism)
        options.checkpoints = CheckpointSettings(directory: dir.path("checkpoints"), interval: .milliseconds(5), retained: 1000,
                                                          incremental: true)
        // Throttled so that the run lasts long enough for several checkpoints however busy
        // the machine is (the checkpoint writer runs at a lower priority than the tasks).
        var throttled = config
        throttled.linesPerSecond = 50_000
        try JobRunner(graph: try ReplayJob.build(throttled, results: full), options: options).run()
        let expected = full.results.map { "\($0)" }.sorted()
        #expect(expected.count > 1000)

        let store = try CheckpointStore(directory: dir.path("checkpoints"), create: false)
        let ids = try store.completedIDs()
        try #require(ids.count >= 3, "the run was long enough for several checkpoints")
        // Restored below: the first (self-contained), the middle, the last, and the newest
        // incremental one (built on earlier checkpoints).
        let incremental = try ids.last { !(try store.load(store.path(of: $0)).manifest.dependsOn.isEmpty) }
        #expect(incremental != nil, "some checkpoint is incremental")
        for id in Set([ids[0], ids[ids.count / 2], ids[ids.count - 1]] + (incremental.map { [$0] } ?? [])).sorted() {
            let covered = try #require(full.resultsBefore(checkpoint: id), "checkpoint \(id) reached the sink")
            let rest = CollectSink<ReplayResult>()
            var restoreOptions = JobRunner.Options(parallelism: parallelism)
            restoreOptions.restore = try store.load(store.path(of: id))
            try JobRunner(graph: try ReplayJob.build(config, results: rest), options: restoreOptions).run()
            let combined = (covered + rest.results).map { "\($0)" }.sorted()
            let (missing, extra) = Self.difference(expected, combined)
            #expect(missing.isEmpty && extra.isEmpty,
                    "checkpoint \(id) of \(ids.first!)...\(ids.last!): \(covered.count) covered + \(rest.results.count) after; \(missing.count) missing (e.g. \(missing.prefix(2))), \(extra.count) extra (e.g. \(extra.prefix(2)))")
        }
    }

    @Test("a checkpoint whose windows left their timers out restores into views with allowed lateness: every window still fires")
    func restoreWithAllowedLateness() throws {
        let dir = try E2ETempDir("replay-lateness")
        let (input, full, expected, store, ids) = try Self.checkpointedRun(in: dir, seed: 23, parallelism: 2)
        let id = ids[ids.count / 2]
        let covered = try #require(full.resultsBefore(checkpoint: id))
        let rest = CollectSink<ReplayResult>()
        var restoreOptions = JobRunner.Options(parallelism: 2)
        restoreOptions.restore = try store.load(store.path(of: id))
        var config = ReplayConfiguration(inputPath: input, outputPath: "", parallelism: 2)
        config.viewLateness = .milliseconds(1)
        try JobRunner(graph: try ReplayJob.build(config, results: rest), options: restoreOptions).run()
        let (missing, _) = Self.difference(expected, (covered + rest.results).map { "\($0)" }.sorted())
        #expect(missing.isEmpty, "checkpoint \(id): \(missing.count) results missing (e.g. \(missing.prefix(2)))")
    }

    @Test("a checkpoint of views with allowed lateness restores into views without it: no window fires twice, none is lost")
    func restoreWithoutAllowedLateness() throws {
        // With lateness the views take the general window path, and a fired window stays in
        // the checkpoint until its cleanup timer; without it they take the event-time
        // windows' own path, whose end timer must then clear such a window, not fire it again.
        let dir = try E2ETempDir("replay-no-lateness")
        let (input, full, _, store, ids) = try Self.checkpointedRun(in: dir, seed: 29, parallelism: 2, viewLateness: .seconds(20))
        func windowKey(_ r: ReplayResult) -> String {
            switch r {
            case .postViews(let v): return "views \(v.postId) \(v.windowStart)"
            case .session(let s): return "session \(s.sessionKey) \(s.start)"
            }
        }
        var firings: [String: Int] = [:]
        for r in full.results { firings[windowKey(r), default: 0] += 1 }
        for id in [ids[ids.count / 3], ids[ids.count * 2 / 3]] {
            let covered = try #require(full.resultsBefore(checkpoint: id))
            let rest = CollectSink<ReplayResult>()
            var restoreOptions = JobRunner.Options(parallelism: 2)
            restoreOptions.restore = try store.load(store.path(of: id))
            try JobRunner(graph: try ReplayJob.build(ReplayConfiguration(inputPath: input, outputPath: "", parallelism: 2),
                                                     results: rest), options: restoreOptions).run()
            var combined: [String: Int] = [:]
            for r in covered + rest.results { combined[windowKey(r), default: 0] += 1 }
            let lost = firings.keys.filter { combined[$0] == nil }.sorted()
            // A window fires at most as often as with lateness (which may add late firings).
            let twice = combined.filter { $0.value > (firings[$0.key] ?? 0) }.map(\.key).sorted()
            #expect(lost.isEmpty && twice.isEmpty,
                    "checkpoint \(id): \(lost.count) windows lost (e.g. \(lost.prefix(2))), \(twice.count) fired too often (e.g. \(twice.prefix(2)))")
        }
    }

    /// A throttled run on generated events with checkpoints every 5 ms, kept: its input,
    /// its sink (which knows what each checkpoint covered), its sorted output, the store and
    /// the completed checkpoints (at least three).
    static func checkpointedRun(in dir: E2ETempDir, seed: UInt64, parallelism: Int, viewLateness: Duration = .zero) throws
        -> (input: String, full: CollectSink<ReplayResult>, expected: [String], store: CheckpointStore, ids: [Int64]) {
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: seed, count: 40_000).write(to: URL(fileURLWithPath: input))
        let full = CollectSink<ReplayResult>()
        var options = JobRunner.Options(parallelism: parallelism)
        options.checkpoints = CheckpointSettings(directory: dir.path("checkpoints"), interval: .milliseconds(5), retained: 1000)
        var throttled = ReplayConfiguration(inputPath: input, outputPath: "", parallelism: parallelism)
        throttled.linesPerSecond = 50_000
        throttled.viewLateness = viewLateness
        try JobRunner(graph: try ReplayJob.build(throttled, results: full), options: options).run()
        let store = try CheckpointStore(directory: dir.path("checkpoints"), create: false)
        let ids = try store.completedIDs()
        try #require(ids.count >= 3)
        return (input, full, full.results.map { "\($0)" }.sorted(), store, ids)
    }

    /// Multiset difference of two sorted lists: what `actual` lacks and what it has too much.
    static func difference(_ expected: [String], _ actual: [String]) -> (missing: [String], extra: [String]) {
        var counts: [String: Int] = [:]
        for e in expected { counts[e, default: 0] += 1 }
        for a in actual { counts[a, default: 0] -= 1 }
        let missing = counts.filter { $0.value > 0 }.map(\.key).sorted()
        let extra = counts.filter { $0.value < 0 }.map(\.key).sorted()
        return (missing, extra)
    }

    @Test("restoring at another parallelism (keyed state and file positions redistributed) is exact too",
          arguments: [(2, 1), (2, 3), (1, 2)])
    func restoreAtAnotherParallelism(from: Int, to: Int) throws {
        let dir = try E2ETempDir("replay-rescale")
        let (input, full, expected, store, ids) = try Self.checkpointedRun(in: dir, seed: 31, parallelism: from)
        for id in [ids[ids.count / 3], ids[ids.count * 2 / 3]] {
            let covered = try #require(full.resultsBefore(checkpoint: id))
            let rest = CollectSink<ReplayResult>()
            var restoreOptions = JobRunner.Options(parallelism: to)
            restoreOptions.restore = try store.load(store.path(of: id))
            try JobRunner(graph: try ReplayJob.build(ReplayConfiguration(inputPath: input, outputPath: "", parallelism: to),
                                                     results: rest), options: restoreOptions).run()
            let (missing, extra) = Self.difference(expected, (covered + rest.results).map { "\($0)" }.sorted())
            #expect(missing.isEmpty && extra.isEmpty,
                    "p \(from) → \(to), checkpoint \(id): \(missing.count) missing, \(extra.count) doubled")
        }
    }
}
