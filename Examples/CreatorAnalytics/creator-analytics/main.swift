import Foundation
import ArgumentParser
import CreatorAnalyticsKit
import RunnelCheckpoint
import RunnelOperators
import RunnelRuntime
import RunnelJSON

#if canImport(Glibc)
import Glibc
#endif

/// `creator-analytics`: real-time analytics for a creator publishing platform, on Runnel.
@main
struct CreatorAnalytics: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "creator-analytics",
        abstract: "Real-time analytics for a creator publishing platform, built on Runnel.",
        subcommands: [Replay.self, Serve.self, Generate.self, Load.self, Checkpoints.self, Schema.self])
}

/// Replays an NDJSON file of events through the analytics job.
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate, deduplicate, count post views per minute and sessionize an NDJSON event file.")

    @Option(help: "NDJSON file of creator-platform events.")
    var input: String

    @Option(help: "Where result lines go (NDJSON; '-' for standard output).")
    var output: String

    @Option(name: .customLong("dead-letter"), help: "Where rejected lines go, with reason and line number.")
    var deadLetter: String?

    @Option(help: "Subtasks per step (default: number of cores).")
    var parallelism: Int = EventLoopGroup.defaultLoopCount

    @Option(name: .customLong("out-of-orderness"), help: "Bound on event-time disorder, in seconds.")
    var outOfOrderness: Double = 5

    @Option(name: .customLong("checkpoint-dir"),
            help: "Take checkpoints into this directory; OUT (and the dead-letter path) then become directories of committed part-*.ndjson files.")
    var checkpointDir: String?

    @Option(name: .customLong("checkpoint-interval"), help: "Seconds between checkpoints (fractions allowed).")
    var checkpointInterval: Double = 10

    @Option(help: "Restore from 'latest' (the newest valid checkpoint in --checkpoint-dir) or a checkpoint's path.")
    var restore: String?

    @Flag(name: .customLong("incremental-checkpoints"),
          help: "Write keyed state with small entries as its changes since the previous checkpoint (by default every checkpoint holds all state in full).")
    var incrementalCheckpoints = false

    @Option(help: "Read at most this many events per second (for demos and tests).")
    var rate: Double?

    func validate() throws {
        guard parallelism >= 1 && parallelism <= 128 else { throw ValidationError("--parallelism must be between 1 and 128") }
        guard outOfOrderness >= 0 else { throw ValidationError("--out-of-orderness must not be negative") }
        guard checkpointInterval > 0 else { throw ValidationError("--checkpoint-interval must be positive") }
        guard rate.map({ $0 > 0 }) ?? true else { throw ValidationError("--rate must be positive") }
        guard restore == nil || checkpointDir != nil else { throw ValidationError("--restore needs --checkpoint-dir") }
    }

    func run() throws {
        var config = ReplayConfiguration(
            inputPath: input, outputPath: output, deadLetterPath: deadLetter, parallelism: parallelism,
            outOfOrderness: .milliseconds(Int64((outOfOrderness * 1000).rounded())))
        if let checkpointDir {
            config.checkpoints = CheckpointSettings(directory: checkpointDir,
                                                    interval: .milliseconds(max(1, Int64((checkpointInterval * 1000).rounded()))),
                                                    incremental: incrementalCheckpoints)
        }
        config.restore = restore
        config.linesPerSecond = rate
        do {
            let summary = try ReplayJob.run(config, handleSignals: true) { printToStandardError("creator-analytics: \($0)") }
            printToStandardError(summary.description)
        } catch let error as JobRunner.RunError {
            printToStandardError("creator-analytics: \(error)")
            if case .stoppedWithSavepoint = error { return }  // a clean stop: restore continues it
            throw ExitCode(130)
        }
    }
}

/// Lists and describes the checkpoints of a job, for operators of the system.
struct Checkpoints: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the checkpoints in a checkpoint directory, or describe one.",
        subcommands: [List.self, Describe.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per complete checkpoint (oldest first), checked against its checksums.")

        @Argument(help: "The checkpoint directory (--checkpoint-dir of the job).")
        var directory: String

        func run() throws {
            let lines = try CheckpointCatalog.list(try CheckpointStore(directory: directory, create: false))
            if lines.isEmpty { printToStandardError("no complete checkpoint in \(directory)") }
            for line in lines { print(line) }
        }
    }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Describe one checkpoint as JSON: id, time, size, files, and each operator's state and source offsets.")

        @Argument(help: "A checkpoint (DIR/chk-<id>), or a checkpoint directory for its latest valid checkpoint.")
        var path: String

        func run() throws {
            let checkpoint: RestoredCheckpoint
            if path.split(separator: "/").last?.hasPrefix("chk-") == true {
                checkpoint = try CheckpointStore.load(path)
            } else {
                let store = try CheckpointStore(directory: path, create: false)
                guard let latest = try store.latestValid(report: { printToStandardError($0) }) else {
                    printToStandardError("no valid checkpoint in \(path)")
                    throw ExitCode(1)
                }
                checkpoint = latest
            }
            print(CheckpointCatalog.describe(checkpoint))
        }
    }
}

/// Writes the summary where it does not mix with results sent to standard output.
func printToStandardError(_ line: String, newline: Bool = true) {
    let bytes = Array((line + (newline ? "\n" : "")).utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}

/// Runs the collector, the live feed, health and metrics on one port, with the live job.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect events over HTTP, run the analytics job on them live, and push results to WebSocket subscribers.",
        discussion: """
        Every option can also come from an environment variable (RUNNEL_ and the option's name in capitals with _, \
        e.g. RUNNEL_PORT=9090, RUNNEL_DEMO=true) or from a YAML file given with --config (the option names as keys, \
        e.g. "port: 9090"). A flag wins over the environment, which wins over the file, which wins over the defaults.
        """)

    @Option(help: "A YAML file of options (see below).")
    var config: String?

    @Option(help: "Port to listen on (0: any free port; the chosen one is printed). Default 8080.")
    var port: Int?

    @Option(help: "Address to listen on. Default 127.0.0.1.")
    var host: String?

    @Option(name: .customLong("auth-secret-file"), help: "File holding the HMAC secret of feed tokens (else RUNNEL_AUTH_SECRET).")
    var authSecretFile: String?

    @Flag(name: .customLong("insecure-no-auth"),
          help: "Serve the feed without tokens on any address: every client sees everything. (Without a secret, serve on a loopback address needs no tokens anyway.)")
    var insecureNoAuth = false

    @Option(help: "Subtasks per step of the live job. Default: the number of cores.")
    var parallelism: Int?

    @Option(name: .customLong("coalesce-ms"),
            help: "Milliseconds between live (partial) window results: how often the job fires early and how long the feed coalesces a key's partial updates (10 or more). Default 250.")
    var coalesceMilliseconds: Int?

    @Option(name: .customLong("data-dir"),
            help: "Directory of the collector's durable event log (log/), the job's checkpoints (checkpoints/, restored from on start) and the committed final results (results/part-*.ndjson). Default .runnel.")
    var dataDir: String?

    @Option(name: .customLong("checkpoint-interval"),
            help: "Seconds between checkpoints, and so how often final results are committed to results/ (fractions allowed). Default 10.")
    var checkpointInterval: Double?

    @Option(name: .customLong("log-retention-mb"), help: "MiB of collected events the log keeps before deleting its oldest segments. Default 1024.")
    var logRetentionMB: Int?

    @Option(name: .customLong("dead-letter"),
            help: "File where rejected events go, one JSON line each with reason and category, IP addresses truncated ('none' keeps none). Default DATA-DIR/dead-letters.ndjson.")
    var deadLetter: String?

    @Option(name: .customLong("queue-capacity"), help: "Events the job may be behind the collector (503 with Retry-After beyond). Default 100000.")
    var queueCapacity: Int?

    @Flag(help: "Feed generated platform traffic (stamped from now on) through the collector, so the dashboard is alive at once.")
    var demo = false

    @Option(name: .customLong("demo-rate"), help: "Events per second of --demo traffic. Default 500.")
    var demoRate: Int?

    /// The options as given by flags, the environment, the file and the defaults, in that order.
    struct Settings {
        /// The service's defaults, which are the command's.
        private static let service = LiveService.Configuration(authSecret: nil)
        var host = service.host, port = service.port, parallelism = service.parallelism, authSecretFile: String?
        var insecureNoAuth = false, coalesceMilliseconds = Int(service.coalesceInterval.milliseconds)
        var dataDir = service.dataDirectory, deadLetter: String?
        var checkpointInterval = Double(service.checkpointInterval.milliseconds) / 1000, logRetentionMB = Int(service.logRetentionBytes >> 20)
        var queueCapacity = service.queueCapacity, demo = false, demoRate = 500
    }

    func settings() throws -> Settings {
        let environment = ProcessInfo.processInfo.environment
        let file = try config.map { try ServeConfigFile.load($0) } ?? ServeConfigFile()
        func other(_ key: String) -> String? { file.value(key, environment: environment) }
        func integer(_ key: String, _ flag: Int?) throws -> Int? {
            if let flag { return flag }
            guard let text = other(key) else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(key) must be an integer (got '\(text)')") }
            return value
        }
        func boolean(_ key: String, _ flag: Bool) throws -> Bool {
            if flag { return true }
            guard let text = other(key) else { return false }
            guard let value = Bool(text) else { throw ValidationError("\(key) must be true or false (got '\(text)')") }
            return value
        }
        var s = Settings()
        s.host = host ?? other("host") ?? s.host
        s.port = try integer("port", port) ?? s.port
        s.parallelism = try integer("parallelism", parallelism) ?? s.parallelism
        s.authSecretFile = authSecretFile ?? other("auth-secret-file")
        s.insecureNoAuth = try boolean("insecure-no-auth", insecureNoAuth)
        s.coalesceMilliseconds = try integer("coalesce-ms", coalesceMilliseconds) ?? s.coalesceMilliseconds
        s.dataDir = dataDir ?? other("data-dir") ?? s.dataDir
        s.deadLetter = deadLetter ?? other("dead-letter") ?? (s.dataDir + "/dead-letters.ndjson")
        if let text = checkpointInterval.map { "\($0)" } ?? other("checkpoint-interval") {
            guard let value = Double(text), value > 0 else { throw ValidationError("checkpoint-interval must be a positive number of seconds (got '\(text)')") }
            s.checkpointInterval = value
        }
        s.logRetentionMB = try integer("log-retention-mb", logRetentionMB) ?? s.logRetentionMB
        guard s.logRetentionMB > 0 else { throw ValidationError("--log-retention-mb must be positive (got \(s.logRetentionMB))") }
        s.queueCapacity = try integer("queue-capacity", queueCapacity) ?? s.queueCapacity
        s.demo = try boolean("demo", demo)
        s.demoRate = try integer("demo-rate", demoRate) ?? s.demoRate
        guard s.coalesceMilliseconds >= 10 else { throw ValidationError("--coalesce-ms must be at least 10 (got \(s.coalesceMilliseconds))") }
        guard s.demoRate > 0 else { throw ValidationError("--demo-rate must be positive (got \(s.demoRate))") }
        guard s.queueCapacity > 0 else { throw ValidationError("--queue-capacity must be positive (got \(s.queueCapacity))") }
        guard s.parallelism > 0 else { throw ValidationError("--parallelism must be positive (got \(s.parallelism))") }
        return s
    }

    func run() throws {
        let s: Settings
        do { s = try settings() } catch let error as ServeConfigFile.Invalid { throw ValidationError(error.description) }
        var secret: [UInt8]?
        if let authSecretFile = s.authSecretFile {
            let text = try String(contentsOfFile: authSecretFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            secret = Array(text.utf8)
        } else if let value = ProcessInfo.processInfo.environment["RUNNEL_AUTH_SECRET"], !value.isEmpty {
            secret = Array(value.utf8)
        }
        if secret?.isEmpty ?? true {
            secret = nil
            if s.insecureNoAuth {
                printToStandardError("creator-analytics: WARNING: --insecure-no-auth: the feed is open to anyone who can connect, with every topic")
            } else if ["127.0.0.1", "::1", "localhost"].contains(s.host) {
                // Out of the box on this machine: only local clients can connect.
                printToStandardError("creator-analytics: no feed secret (RUNNEL_AUTH_SECRET or --auth-secret-file): the feed is open, "
                    + "with every topic, to clients on this machine (\(s.host)) only")
            } else {
                throw ValidationError("no feed secret: set RUNNEL_AUTH_SECRET or --auth-secret-file, or pass --insecure-no-auth "
                    + "(serving on \(s.host), which is not a loopback address)")
            }
        }
        let service = try LiveService(configuration: .init(host: s.host, port: s.port, parallelism: s.parallelism, authSecret: secret,
                                                           queueCapacity: s.queueCapacity,
                                                           coalesceInterval: .milliseconds(s.coalesceMilliseconds),
                                                           deadLetterPath: s.deadLetter == "none" ? nil : s.deadLetter,
                                                           demoEventsPerSecond: s.demo ? s.demoRate : nil, dataDirectory: s.dataDir,
                                                           checkpointInterval: .milliseconds(max(1, Int64((s.checkpointInterval * 1000).rounded()))),
                                                           logRetentionBytes: Int64(s.logRetentionMB) << 20))
        printToStandardError("creator-analytics: serving on http://\(s.host):\(service.port) (POST /v1/events, GET /v1/feed, /healthz, /metrics)")
        do {
            try service.run(handleSignals: true) { printToStandardError("creator-analytics: \($0)") }
        } catch let error as JobRunner.RunError {
            switch error {
            case .cancelled:
                printToStandardError("creator-analytics: stopped")
            case .stoppedWithSavepoint(let id, let path):
                printToStandardError("creator-analytics: stopped with savepoint \(id) (\(path)); the next start continues from it")
            }
        }
    }
}

/// Posts events to a running collector at a target rate, with a progress bar.
struct Load: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post events to a collector (serve) at a target rate, with a progress bar; batches refused with 503, or not answered (the collector restarting), are sent again.")

    @Option(help: "The collector's URL.")
    var url = "http://127.0.0.1:8080/v1/events"

    @Option(help: "NDJSON file of events to send (default: generate --events of them, stamped from now on).")
    var input: String?

    @Option(help: "Events to generate when there is no --input.")
    var events = 100_000

    @Option(help: "Random seed of generated events.")
    var seed: UInt64 = 1

    @Option(help: "Events per second (0: as fast as the collector takes them).")
    var rate: Double = 5_000

    @Option(name: .customLong("batch-size"), help: "Events per request.")
    var batchSize = 500

    @Option(name: .customLong("give-up-after"), help: "Seconds without an answer from the collector (down or restarting) before giving up.")
    var giveUpAfter: Double = 60

    func validate() throws {
        guard batchSize > 0 else { throw ValidationError("--batch-size must be positive") }
        guard giveUpAfter >= 0 else { throw ValidationError("--give-up-after must not be negative") }
        guard rate >= 0 else { throw ValidationError("--rate must not be negative") }
        guard input != nil || events > 0 else { throw ValidationError("--events must be positive") }
    }

    func run() throws {
        let bar = ProgressBar(total: input == nil ? events : nil)
        let loader = EventLoader(client: try CollectorClient(url: url), rate: rate, batchSize: batchSize, giveUpAfter: giveUpAfter) { bar.show($0) }
        if let input {
            try NDJSONFileReader(path: input).forEachLine { line in try loader.add(UnsafeRawBufferPointer(line.bytes)) }
        } else {
            var profile = TrafficProfile()
            profile.startMillis = Int64(Date().timeIntervalSince1970 * 1000)
            if rate > 0 { profile.eventsPerSecond = rate }
            let generator = CreatorTrafficGenerator(seed: seed, profile: profile)
            var line: [UInt8] = []
            for _ in 0..<events {
                line.removeAll(keepingCapacity: true)
                generator.nextLine(into: &line)
                try loader.add(line)
            }
        }
        let totals = try loader.finish()
        bar.finish(totals)
    }
}

/// The load's progress on standard error: a bar redrawn in place on a terminal, a line
/// every five seconds otherwise (logs, CI).
final class ProgressBar {
    private let total: Int?
    private let terminal = isatty(STDERR_FILENO) != 0
    private var lastShown = Date.distantPast

    init(total: Int?) { self.total = total }

    func show(_ p: EventLoader.Progress) {
        let now = Date()
        guard now.timeIntervalSince(lastShown) >= (terminal ? 0.2 : 5) else { return }
        lastShown = now
        printToStandardError(line(p), newline: !terminal)
    }

    func finish(_ p: EventLoader.Progress) {
        if terminal { printToStandardError(line(p), newline: true) }
        printToStandardError("creator-analytics: sent \(p.sent) events in \(String(format: "%.1f", p.seconds)) s "
            + "(\(Int(p.rate)) events/s): \(p.accepted) accepted, \(p.rejected) rejected, \(p.retries) batches retried after 503")
    }

    private func line(_ p: EventLoader.Progress) -> String {
        var text = ""
        if let total, total > 0 {
            let done = min(1, Double(p.sent) / Double(total))
            let width = 30, filled = Int(done * Double(width))
            text = "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "] "
                + String(format: "%3.0f%% ", done * 100)
        }
        text += "\(p.sent) sent, \(Int(p.rate))/s, \(p.rejected) rejected, \(p.retries) retries"
        return terminal ? "\r" + text + "   " : text
    }
}

/// Prints the event contract as a JSON Schema document.
struct Schema: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the JSON Schema of the events clients send (the collector checks events against the same rules).",
        discussion: "The repository publishes this output as \(CreatorEventSchema.publishedPath).")

    func run() throws {
        print(CreatorEventSchema.jsonSchemaDocument(), terminator: "")
    }
}

/// Writes generated platform traffic as NDJSON.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write realistic creator-platform events as NDJSON (deterministic for a seed).")

    @Option(help: "Number of lines to write.")
    var events: Int

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Output file (default: standard output).")
    var output: String?

    @Option(name: .customLong("late-share"), help: "Share of events that arrive far behind the watermark (late data).")
    var lateShare: Double = 0

    func run() throws {
        var profile = TrafficProfile()
        profile.lateShare = lateShare
        let generator = CreatorTrafficGenerator(seed: seed, profile: profile)
        let file = try SharedFileOutput(path: output ?? "-")
        try generator.generate(count: events) { chunk in try file.append(chunk) }
        try file.sync()
    }
}
