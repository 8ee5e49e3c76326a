import RunnelCheckpoint
import RunnelCore
import RunnelJSON
import RunnelOperators
import RunnelRuntime

/// What `creator-analytics replay` is asked to do.
public struct ReplayConfiguration: Sendable {
    /// The NDJSON events to read.
    public var inputPath: String
    /// Where result lines go (`-` for standard output).
    public var outputPath: String
    /// Where rejected lines go, if anywhere.
    public var deadLetterPath: String?
    /// Subtasks per step.
    public var parallelism: Int
    /// The out-of-orderness bound of event time.
    public var outOfOrderness: Duration
    /// Length of the post-view windows.
    public var viewWindow: Duration = .seconds(60)
    /// Allowed lateness of the post-view windows (none by default: the replay contract).
    public var viewLateness: Duration = .zero
    /// Inactivity gap that closes a session.
    public var sessionGap: Duration = .seconds(30 * 60)
    /// How long an event id is remembered for deduplication (event time).
    public var dedupTTL: Duration = .seconds(3600)
    /// Periodic checkpoints, if any. With checkpoints, the output and dead-letter paths are
    /// directories of committed `part-*.ndjson` files (exactly-once output).
    public var checkpoints: CheckpointSettings?
    /// `latest` or a checkpoint's path: where to restore from (needs `checkpoints`).
    public var restore: String?
    /// Lines per second the source reads (for demos and tests); nil for as fast as possible.
    public var linesPerSecond: Double?

    /// Creates a configuration with the contract's defaults.
    public init(inputPath: String, outputPath: String, deadLetterPath: String? = nil,
                parallelism: Int = EventLoopGroup.defaultLoopCount, outOfOrderness: Duration = .seconds(5)) {
        self.inputPath = inputPath
        self.outputPath = outputPath
        self.deadLetterPath = deadLetterPath
        self.parallelism = parallelism
        self.outOfOrderness = outOfOrderness
    }
}

/// Why a replay cannot start.
public enum ReplayError: Error, CustomStringConvertible {
    /// `--restore` without `--checkpoint-dir`.
    case restoreWithoutCheckpoints
    /// Checkpoints exist but none passes its checks: starting from empty state would
    /// silently double-count, so the job refuses.
    case noValidCheckpoint(directory: String)

    public var description: String {
        switch self {
        case .restoreWithoutCheckpoints: return "--restore needs --checkpoint-dir"
        case .noValidCheckpoint(let directory):
            return "no checkpoint in \(directory) can be restored (all are corrupt); refusing to start from empty state"
        }
    }
}

/// The counts a replay prints at the end.
public struct ReplaySummary: Sendable, CustomStringConvertible {
    /// Lines read.
    public var eventsRead: Int
    /// Lines that were valid events.
    public var valid: Int
    /// Lines rejected to the dead letters.
    public var invalid: Int
    /// Valid events dropped as duplicates of an earlier `event_id`.
    public var duplicates: Int
    /// Events that arrived too late for a window (counted once per window step they missed).
    public var late: Int
    /// Result lines written.
    public var resultsWritten: Int
    /// Wall time in seconds.
    public var wallSeconds: Double
    /// Peak resident set size in bytes.
    public var peakResidentBytes: UInt64
    /// Checkpoints completed (0 without checkpointing).
    public var checkpointsCompleted: Int = 0
    /// The longest time a task stopped processing to snapshot its operators, in microseconds.
    public var longestSnapshotPauseMicroseconds: Int64 = 0
    /// The longest duration (trigger to commit) and the largest size of a checkpoint.
    public var longestCheckpointMilliseconds: Int64 = 0
    public var largestCheckpointBytes: Int64 = 0
    /// CPU time spent encoding and writing checkpoints (on the writer thread), in seconds.
    public var checkpointWriterCPUSeconds: Double = 0
    /// When the run was restored: seconds spent decoding the checkpoint into the operators.
    public var restoreSeconds: Double?

    /// Lines per second of wall time.
    public var eventsPerSecond: Double { wallSeconds > 0 ? Double(eventsRead) / wallSeconds : 0 }

    public var description: String {
        let eps = Int(eventsPerSecond.rounded())
        let wall = (wallSeconds * 1000).rounded() / 1000
        return "events read \(eventsRead), valid \(valid), invalid \(invalid), duplicates \(duplicates), late \(late), "
            + "results written \(resultsWritten), wall time \(wall) s, events/s \(eps), peak RSS \(peakResidentBytes / (1 << 20)) MiB"
            + (checkpointsCompleted > 0
                ? ", checkpoints \(checkpointsCompleted) (largest \(largestCheckpointBytes / 1024) KiB, longest \(longestCheckpointMilliseconds) ms, "
                    + "longest pause \(Double(longestSnapshotPauseMicroseconds) / 1000) ms, "
                    + "writer CPU \((checkpointWriterCPUSeconds * 1000).rounded() / 1000) s)"
                : "")
            + (restoreSeconds.map { ", state restored in \(($0 * 1000).rounded() / 1000) s" } ?? "")
    }
}

/// The replay job: validate, deduplicate, count post views per minute and sessionize.
///
/// ```
/// read-events ─▶ validate ─┬─▶ (dead letters) ─▶ dead-letter-file
///                          └─▶ keyBy event_id ─▶ dedup ─┬─▶ views-only ─▶ keyBy post_id ─▶ post-views (1 min tumbling) ─▶ results
///                                                       └─▶ keyBy user/session ─▶ sessions (30 min gap) ─▶ results
/// ```
public enum ReplayJob {
    /// Step names, which key metrics (and checkpoint state).
    public enum Step {
        public static let read = "read-events"
        public static let validate = "validate"
        public static let deadLetters = "dead-letter-file"
        public static let dedup = "dedup"
        public static let postViews = "post-views"
        public static let sessions = "sessions"
        public static let viewResults = "post-views-file"
        public static let sessionResults = "sessions-file"
    }

    /// Builds the job graph, writing results to `config.outputPath`.
    public static func build(_ config: ReplayConfiguration) throws -> JobGraph {
        // Check the input before the output files are created (and truncated): a mistyped
        // --input must not wipe earlier results.
        _ = try NDJSONFileReader(path: config.inputPath, range: 0..<0)
        if config.checkpoints != nil {
            return try build(config, results: TransactionalNDJSONFileSink<ReplayResult>(
                directory: config.outputPath, prefix: "results") { r, json in r.encode(into: &json) })
        }
        let output = try SharedFileOutput(path: config.outputPath)
        return try build(config, results: NDJSONFileSink<ReplayResult>(file: output) { r, json in r.encode(into: &json) })
    }

    /// Builds the job graph with results going to `results` (`config.outputPath` unused).
    public static func build<Results: Sink>(_ config: ReplayConfiguration, results: Results) throws -> JobGraph
    where Results.Input == ReplayResult {
        _ = try NDJSONFileReader(path: config.inputPath, range: 0..<0)
        let env = StreamEnvironment(name: "creator-replay")
        let lines = env.source(
            Step.read,
            NDJSONFileSource(path: config.inputPath, linesPerSecond: config.linesPerSecond) { CreatorLineDecoder() },
            watermarks: .boundedOutOfOrderness(config.outOfOrderness) { $0.timestamp })
        let validated = lines.process(Step.validate, SplitValidEvents())
        if let path = config.deadLetterPath {
            let letters = validated.sideOutput(SplitValidEvents.deadLetters)
            if config.checkpoints != nil {
                letters.sink(Step.deadLetters, try TransactionalNDJSONFileSink<DeadLetter>(directory: path, prefix: "dead-letters") {
                    letter, json in letter.encode(into: &json)
                })
            } else {
                letters.sink(Step.deadLetters, try NDJSONFileSink<DeadLetter>(path: path) { letter, json in letter.encode(into: &json) })
            }
        }
        let ttl = StateTTL(config.dedupTTL, timeDomain: .eventTime)
        let events = validated
            .keyBy { $0.eventKey }
            .deduplicate(Step.dedup, ttl: ttl)


        // Replay events cross the exchanges as they are (plain values; see `PostViewFields`).
        events
            .filter("post-view") { $0.name == .postViewed && $0.viewedPost != nil }
            .keyBy { $0.viewedPost ?? "" }  // the fallback is never taken: the filter keeps views of a post
            .window(TumblingWindows(config.viewWindow))
            .allowedLateness(config.viewLateness)
            .aggregate(Step.postViews, PostViewsAggregate<ReplayEvent>())
            .map("post-views-record") { r in
                ReplayResult.postViews(PostViews(
                    windowStart: r.window.start, windowEnd: r.window.end, postId: r.key,
                    creatorId: r.value.creatorId ?? "", views: r.value.views, uniqueViewers: r.value.viewers.count))
            }
            .sink(Step.viewResults, results)

        events
            .filter("session-activity") { $0.visitor != nil }
            .keyBy { $0.visitor ?? "" }  // the fallback is never taken: the filter keeps events with a visitor
            .window(SessionWindows(gap: config.sessionGap))
            .aggregate(Step.sessions, SessionAggregate<ReplayEvent>())
            .map("session-record") { r in
                ReplayResult.session(SessionSummary(
                    sessionKey: r.key, start: r.value.start, end: r.value.end, events: r.value.events,
                    postViews: r.value.postViews, distinctPosts: r.value.posts.count))
            }
            .sink(Step.sessionResults, results)
        return try env.build()
    }

    /// Runs the job on libuv loops and returns its summary; `report` receives notices
    /// (which checkpoint is restored, or that there is none).
    public static func run(_ config: ReplayConfiguration, handleSignals: Bool = false,
                           report: (String) -> Void = { _ in }) throws -> ReplaySummary {
        var options = JobRunner.Options(parallelism: config.parallelism, handleSignals: handleSignals)
        options.checkpoints = config.checkpoints
        if let restore = config.restore {
            guard let settings = config.checkpoints else { throw ReplayError.restoreWithoutCheckpoints }
            options.restore = try restoredCheckpoint(restore, settings: settings, report: report)
        }
        let runner = JobRunner(graph: try build(config), options: options)
        let result = try runner.run()
        var summary = summary(result)
        if options.restore != nil { summary.restoreSeconds = result.setupSeconds }
        return summary
    }

    /// The checkpoint `restore` names (`latest`: the newest that passes its checks; nil
    /// when the directory has none at all, which `report` says).
    static func restoredCheckpoint(_ restore: String, settings: CheckpointSettings,
                                   report: (String) -> Void) throws -> RestoredCheckpoint? {
        let started = ContinuousClock.now
        func restoring(_ checkpoint: RestoredCheckpoint) -> String {
            let seconds = Double(started.duration(to: .now).components.attoseconds / 1_000_000_000_000) / 1e6
                + Double(started.duration(to: .now).components.seconds)
            let earlier = checkpoint.dependencies.isEmpty ? ""
                : ", with the \(checkpoint.dependencies.count) earlier checkpoint(s) it builds on"
            return "restoring from \(checkpoint.path) (checkpoint \(checkpoint.manifest.id)\(earlier), "
                + "\(checkpoint.restoreSize / 1024) KiB read and verified in \((seconds * 1000).rounded() / 1000) s)"
        }
        guard restore == "latest" else {
            let checkpoint = try CheckpointStore.load(restore)
            report(restoring(checkpoint))
            return checkpoint
        }
        let store = try CheckpointStore(directory: settings.directory, retained: settings.retained)
        if let latest = try store.latestValid(report: report) {
            report(restoring(latest))
            return latest
        }
        guard try store.completedIDs().isEmpty else { throw ReplayError.noValidCheckpoint(directory: settings.directory) }
        report("no checkpoint in \(settings.directory); starting from the beginning")
        return nil
    }

    /// The summary of a finished run.
    public static func summary(_ result: JobRunner.Result) -> ReplaySummary {
        let valid = result.counter("valid", step: Step.validate)
        let invalid = result.counter("invalid", step: Step.validate)
        return ReplaySummary(
            eventsRead: valid + invalid,
            valid: valid,
            invalid: invalid,
            duplicates: result.counter("duplicates", step: Step.dedup),
            late: result.counter("late_records", step: Step.postViews) + result.counter("late_records", step: Step.sessions),
            resultsWritten: result.counter("records_in", step: Step.viewResults) + result.counter("records_in", step: Step.sessionResults),
            wallSeconds: result.wallSeconds,
            peakResidentBytes: result.peakResidentBytes,
            checkpointsCompleted: result.counter("checkpoints_completed", step: "checkpoints"),
            longestSnapshotPauseMicroseconds: result.gauges[.init(operatorName: "checkpoints", metric: "longest_snapshot_pause_us")] ?? 0,
            longestCheckpointMilliseconds: result.gauges[.init(operatorName: "checkpoints", metric: "longest_checkpoint_duration_ms")] ?? 0,
            largestCheckpointBytes: result.gauges[.init(operatorName: "checkpoints", metric: "largest_checkpoint_size_bytes")] ?? 0,
            checkpointWriterCPUSeconds: Double(result.counter("checkpoint_writer_cpu_us", step: "checkpoints")) / 1e6)
    }
}
