import ArgumentParser
import CreatorAnalyticsKit
import RunnelCheckpoint
import RunnelJSON
import RunnelOperators
import RunnelRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Throughput benchmark of the creator replay job.
///
/// Generates creator-platform events (~500 bytes each) once, then measures each
/// configuration in a fresh child process (so peak RSS is that configuration's own):
/// JSON decode + validate only (one thread), and the full replay job at parallelism 1 and 2.
/// Reports the median and spread of events/s over the runs, and the peak RSS. A second
/// table gives checkpoint and restore times of keyed state by number of keys
/// (`StateCheckpointBenchmark`).
@main
struct RunnelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runnel-bench",
        abstract: "Throughput of JSON decoding and of the creator replay job (use a release build).")

    @Option(help: "Events to generate.")
    var events = 1_000_000

    @Option(help: "Use this NDJSON file instead of generating one.")
    var input: String?

    @Option(help: "Runs per configuration (median is reported).")
    var runs = 3

    @Option(help: "Random seed of the generated events.")
    var seed: UInt64 = 42

    @Option(help: "Keyed-state sizes (comma-separated key counts) of the checkpoint/restore table.")
    var stateKeys = "1000000,10000000"

    @Option(help: "Seconds between checkpoints in the replay-with-checkpoints row.")
    var checkpointInterval = 1.0

    @Option(help: "Subscriber counts (comma-separated) of the feed fan-out table (the server and the clients run in two processes).")
    var subscribers = "1,100,1000,10000"

    @Option(help: "Which tables: all, replay (throughput), overhead (checkpoints against none, rounds in alternating order), state (checkpoint/restore by keys) or fanout (live feed).")
    var tables = "all"

    @Flag(help: "A tiny run of every configuration, for CI: checks the benchmark still works.")
    var smoke = false

    @Option(help: .hidden)
    var child: String?

    @Option(help: .hidden)
    var parallelism = 1

    @Option(help: .hidden)
    var resultFile: String?

    @Option(help: .hidden)
    var port = 0

    @Option(help: .hidden)
    var messages = 0

    @Option(help: .hidden)
    var updates = 0

    @Option(help: .hidden)
    var timesFile: String?

    func run() throws {
        if let child {
            try runChild(mode: child)
            return
        }
        guard ["all", "replay", "overhead", "state", "fanout"].contains(tables) else {
            throw ValidationError("--tables must be all, replay, overhead, state or fanout")
        }
        if tables == "all" || tables == "replay" { try replayTable() }
        if tables == "overhead" || (tables == "all" && smoke) { try overheadTable() }
        if tables == "all" || tables == "state" { try stateTable() }
        if tables == "all" || tables == "fanout" { try fanOutTable() }
    }

    /// Throughput of decoding and of the replay job.
    private func replayTable() throws {
        let runs = smoke ? 1 : self.runs
        let path = try inputPath()
        defer { if input == nil { unlink(path) } }
        let lines = try countLines(path)
        var size = stat()
        stat(path, &size)
        print("input: \(lines) events, \(size.st_size / 1_048_576) MiB (\(size.st_size / Int(max(lines, 1))) bytes/event)")
        print("")
        print("| configuration | events/s (median) | min – max | peak RSS |")
        print("|---|---:|---:|---:|")
        // Checkpointed runs write committed part files to disk, so their baseline is the same
        // job writing its output to a file (the plain rows write to /dev/null).
        let configurations = [
            ("decode + validate (1 thread)", "decode", 1), ("replay p=1", "replay", 1), ("replay p=2", "replay", 2),
            ("replay p=2, output to a file", "replay-file", 2),
            ("replay p=2, output to files, checkpoint every \(checkpointInterval) s (--incremental-checkpoints)", "replay-checkpoints", 2),
            ("replay p=2, output to files, checkpoint every \(checkpointInterval) s (full, the default)", "replay-checkpoints-full", 2),
        ]
        // Rounds of every configuration in turn, rather than all runs of one and then the
        // next: the VM's speed drifts by ±15 % over minutes, and interleaving puts each
        // configuration in the same conditions as its neighbours (the checkpoint overhead
        // is taken per round, against the p=2 run just before).
        var rates = Array(repeating: [Double](), count: configurations.count)
        var peaks = Array(repeating: 0, count: configurations.count)
        for _ in 0..<runs {
            for (index, (_, mode, p)) in configurations.enumerated() {
                let run = try spawnChild(mode: mode, arguments: [
                    "--input", path, "--parallelism", String(p), "--checkpoint-interval", String(checkpointInterval),
                ])
                rates[index].append(Double(lines) / run.seconds)
                peaks[index] = max(peaks[index], run.peakKiB)
            }
        }
        for (index, (label, _, _)) in configurations.enumerated() {
            let sorted = rates[index].sorted()
            print("| \(label) | \(Int(sorted[sorted.count / 2])) | \(Int(sorted.first!)) – \(Int(sorted.last!)) | \(peaks[index] / 1024) MiB |")
        }
        print("")
        for (index, kind) in [(4, "incremental"), (5, "full")] {
            let losses = zip(rates[index], rates[3]).map { 100 * (1 - $0 / $1) }.sorted()
            print("Checkpoint overhead per round, \(kind) (against p=2 with output to a file in the same round): "
                + "median \(String(format: "%.1f", losses[losses.count / 2])) % (\(losses.map { String(format: "%.1f", $0) }.joined(separator: ", ")))")
        }
    }

    /// The checkpoint overhead alone: rounds of the replay job at p=2 writing its output to
    /// a file, the same with full checkpoints (the default) and with incremental ones, in
    /// alternating order (base, full, incremental; then incremental, full, base; …) so that
    /// a drift of the VM's speed within a round does not favour one configuration. Reports,
    /// per round and over all rounds, the loss of events/s and the extra CPU time (user +
    /// system) against the base run of the same round.
    private func overheadTable() throws {
        let rounds = smoke ? 1 : runs
        let path = try inputPath()
        defer { if input == nil { unlink(path) } }
        let lines = Double(try countLines(path))
        let modes = ["replay-file", "replay-checkpoints-full", "replay-checkpoints"]
        print("Checkpoint overhead, p=2, checkpoint every \(checkpointInterval) s, \(Int(lines)) events, \(rounds) rounds "
            + "(base: output to a file; full: the default; incremental: --incremental-checkpoints)")
        print("")
        print("| round | base events/s | full | loss | incremental | loss | base CPU s | full CPU s | extra | writer | incremental CPU s | extra | writer |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        var times = Array(repeating: [Double](), count: modes.count)
        var cpus = Array(repeating: [Double](), count: modes.count)
        // The checkpoint writer thread's share of the run's CPU time: measured within one
        // run, so free of the VM's drift between runs that the loss suffers from.
        var writerShares = Array(repeating: [Double](), count: modes.count)
        for round in 0..<rounds {
            let order = round % 2 == 0 ? Array(modes.indices) : Array(modes.indices.reversed())
            for index in order {
                let resultFile = "/tmp/runnel-bench-overhead-\(getpid()).txt"
                defer { unlink(resultFile) }
                let checkpointed = index > 0
                let run = try spawnChild(mode: modes[index], arguments: [
                    "--input", path, "--parallelism", "2", "--checkpoint-interval", String(checkpointInterval),
                ] + (checkpointed ? ["--result-file", resultFile] : []))
                times[index].append(run.seconds)
                cpus[index].append(run.cpuSeconds)
                let writerSeconds = checkpointed ? Double(try Self.readFigures(resultFile)["writer_cpu_us"] ?? 0) / 1e6 : 0
                writerShares[index].append(writerSeconds / run.cpuSeconds)
            }
            func pct(_ x: Double) -> String { String(format: "%.1f %%", 100 * x) }
            let (t, c, w) = (times.map { $0[round] }, cpus.map { $0[round] }, writerShares.map { $0[round] })
            print("| \(round + 1) | \(Int(lines / t[0])) | \(Int(lines / t[1])) | \(pct(1 - t[0] / t[1])) | \(Int(lines / t[2])) | \(pct(1 - t[0] / t[2])) "
                + "| \(String(format: "%.1f", c[0])) | \(String(format: "%.1f", c[1])) | \(pct(c[1] / c[0] - 1)) | \(pct(w[1])) "
                + "| \(String(format: "%.1f", c[2])) | \(pct(c[2] / c[0] - 1)) | \(pct(w[2])) |")
        }
        print("")
        func median(_ xs: [Double]) -> Double {
            let s = xs.sorted()
            return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
        }
        for (index, kind) in [(1, "full"), (2, "incremental")] {
            let losses = zip(times[0], times[index]).map { 1 - $0 / $1 }
            let extra = zip(cpus[0], cpus[index]).map { $1 / $0 - 1 }
            // Pooled: all rounds' events over all rounds' time, for each configuration.
            let pooled = 1 - times[0].reduce(0, +) / times[index].reduce(0, +)
            let pooledCPU = cpus[index].reduce(0, +) / cpus[0].reduce(0, +) - 1
            print("\(kind): throughput loss median \(String(format: "%.1f", 100 * median(losses))) %, pooled \(String(format: "%.1f", 100 * pooled)) %; "
                + "extra CPU median \(String(format: "%.1f", 100 * median(extra))) %, pooled \(String(format: "%.1f", 100 * pooledCPU)) %; "
                + "checkpoint writer's share of CPU median \(String(format: "%.1f", 100 * median(writerShares[index]))) %")
        }
    }

    /// Checkpoint and restore of keyed state by number of keys (median of the runs).
    private func stateTable() throws {
        let counts = smoke ? [10_000] : try stateKeys.split(separator: ",").map { word -> Int in
            guard let n = Int(word.trimmingPrefix(" ")), n > 0 else { throw ValidationError("bad key count '\(word)'") }
            return n
        }
        let runs = smoke ? 1 : self.runs
        print("")
        print("Keyed state checkpoint and restore (one subtask, 128 key groups, value state with TTL, 24-byte keys; median of \(runs)):")
        print("")
        print("| keys | checkpoint size | pause at barrier | encode | write + fsync + commit | first writes after | restore: read + verify | restore: decode "
            + "| delta (10 % changed): size | pause | encode | restore: decode full + 5 deltas | peak RSS |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for keys in counts {
            var samples: [[String: Int64]] = []
            var peak = 0
            for _ in 0..<runs {
                let resultFile = "/tmp/runnel-bench-state-\(getpid()).txt"
                defer { unlink(resultFile) }
                let rssKiB = try spawnChild(mode: "state", arguments: ["--state-keys", String(keys), "--result-file", resultFile]).peakKiB
                peak = max(peak, rssKiB)
                samples.append(try Self.readFigures(resultFile))
            }
            func median(_ name: String) -> Int64 {
                let values = samples.map { $0[name] ?? 0 }.sorted()
                return values[values.count / 2]
            }
            func ms(_ name: String) -> String { Self.milliseconds(median(name)) }
            print("| \(keys) | \(Double(median("bytes") * 10 / 1_048_576) / 10) MiB | \(ms("pause_us")) | \(ms("encode_us")) | \(ms("write_us")) "
                + "| \(ms("cow_us")) | \(ms("read_us")) | \(ms("decode_us")) "
                + "| \(Double(median("delta_bytes") * 10 / 1_048_576) / 10) MiB | \(ms("delta_pause_us")) | \(ms("delta_encode_us")) "
                + "| \(ms("chain_decode_us")) | \(peak / 1024) MiB |")
        }
    }

    /// Deliveries/s of the live feed by number of subscribers (each in a fresh child).
    private func fanOutTable() throws {
        let counts = smoke ? [10] : try subscribers.split(separator: ",").map { word -> Int in
            guard let n = Int(word.trimmingPrefix(" ")), n > 0 else { throw ValidationError("bad subscriber count '\(word)'") }
            return n
        }
        print("")
        print("Live feed fan-out over loopback (server and clients in two processes, ~150-byte messages to one topic):")
        print("")
        print("| subscribers | deliveries | deliveries/s | memory per connection: server | clients | latency at | p50 | p99 | max |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in counts {
            let resultFile = "/tmp/runnel-bench-fanout-\(getpid()).txt"
            defer { unlink(resultFile) }
            _ = try spawnChild(mode: "fanout", arguments: ["--subscribers", String(n), "--result-file", resultFile] + (smoke ? ["--smoke"] : []))
            let f = try Self.readFigures(resultFile)
            let deliveries = f["deliveries"] ?? 0, us = max(f["micros"] ?? 1, 1)
            print("| \(n) | \(deliveries) | \(deliveries * 1_000_000 / us) | \(Self.kibibytes(f["server_bytes_per_connection"] ?? 0)) "
                + "| \(Self.kibibytes(f["client_bytes_per_connection"] ?? 0)) "
                + "| \(f["latency_rate"] ?? 0) deliveries/s | \(Self.milliseconds(f["p50_us"] ?? 0)) | \(Self.milliseconds(f["p99_us"] ?? 0)) "
                + "| \(Self.milliseconds(f["max_us"] ?? 0)) |")
        }
    }

    private static func kibibytes(_ bytes: Int64) -> String {
        "\(Double(bytes * 10 / 1024) / 10) KiB"
    }

    private static func milliseconds(_ us: Int64) -> String {
        us < 10_000 ? "\(Double(us / 10) / 100) ms" : "\(us / 1000) ms"
    }

    private static func readFigures(_ path: String) throws -> [String: Int64] {
        var text = ""
        try NDJSONFileReader(path: path).forEachLine { line in text += String(decoding: line.bytes, as: UTF8.self) }
        var figures: [String: Int64] = [:]
        for word in text.split(separator: " ") {
            let parts = word.split(separator: "=")
            if parts.count == 2, let value = Int64(parts[1]) { figures[String(parts[0])] = value }
        }
        guard !figures.isEmpty else { throw ValidationError("benchmark child wrote no figures") }
        return figures
    }

    /// The events file: `--input`, or one generated now (the caller removes it).
    private func inputPath() throws -> String {
        if let input { return input }
        let count = smoke ? 2_000 : events
        let path = "/tmp/runnel-bench-\(getpid())-\(count).ndjson"
        try generate(count: count, to: path)
        return path
    }

    private func generate(count: Int, to path: String) throws {
        let file = try SharedFileOutput(path: path)
        try CreatorTrafficGenerator(seed: seed).generate(count: count) { chunk in try file.append(chunk) }
    }

    private func countLines(_ path: String) throws -> Int {
        var n = 0
        try NDJSONFileReader(path: path).forEachLine { _ in n += 1 }
        return n
    }

    /// Runs one configuration in a child process; returns its wall time, CPU time (user +
    /// system) and peak RSS (KiB).
    private func spawnChild(mode: String, arguments: [String]) throws -> (seconds: Double, cpuSeconds: Double, peakKiB: Int) {
        let exe = "/proc/self/exe"
        let args = [CommandLine.arguments[0], "--child", mode] + arguments
        var cargs = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let start = MonotonicClock.nowNanoseconds()
        let rc = posix_spawn(&pid, exe, nil, nil, &cargs, environ)
        guard rc == 0 else { throw ValidationError("posix_spawn failed: \(rc)") }
        var status: Int32 = 0
        var usage = rusage()
        _ = wait4(pid, &status, 0, &usage)
        let seconds = Double(MonotonicClock.nowNanoseconds() - start) / 1e9
        guard status == 0 else { throw ValidationError("\(mode) child failed with status \(status)") }
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (seconds, cpu, usage.ru_maxrss)
    }

    private func runChild(mode: String) throws {
        if mode == "fanout-clients" {
            guard let n = Int(subscribers), let timesFile else { throw ValidationError("--subscribers N and --times-file are required") }
            try FanOutClients(port: port, subscribers: n, messages: messages, updates: updates, timesPath: timesFile).run()
            return
        }
        if mode == "fanout" {
            guard let n = Int(subscribers), let resultFile else { throw ValidationError("--subscribers N and --result-file are required") }
            // One socket per subscriber: raise the open-file limit to what is allowed.
            var limit = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            limit.rlim_cur = limit.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            let messages = smoke ? 20 : min(200_000, max(200, 2_000_000 / n))
            var benchmark = FanOutBenchmark(subscribers: n, messages: messages)
            if smoke { benchmark.latencySeconds = 0.2 }
            let f = try benchmark.run()
            let output = try SharedFileOutput(path: resultFile)
            let micros = Int64(f.seconds * 1_000_000)
            try output.append(Array(("deliveries=\(f.deliveries) micros=\(micros) server_bytes_per_connection=\(f.serverBytesPerConnection) "
                + "client_bytes_per_connection=\(f.clientBytesPerConnection) "
                + "latency_rate=\(f.latencyRate) p50_us=\(f.latencyMicros.p50) p99_us=\(f.latencyMicros.p99) max_us=\(f.latencyMicros.max)\n").utf8))
            try output.sync()
            return
        }
        if mode == "state" {
            guard let keys = Int(stateKeys), let resultFile else { throw ValidationError("--state-keys N and --result-file are required") }
            let directory = "/tmp/runnel-bench-state-checkpoints-\(getpid())"
            defer { removeTree(directory) }
            let figures = try StateCheckpointBenchmark(keys: keys, directory: directory).run()
            let output = try SharedFileOutput(path: resultFile)
            try output.append(Array((figures.line + "\n").utf8))
            try output.sync()
            return
        }
        guard let input else { throw ValidationError("--input is required") }
        switch mode {
        case "decode":
            let decoder = CreatorEventDecoder()
            var valid = 0
            try NDJSONFileReader(path: input).forEachLine { line in
                if case .valid = decoder.decode(line.bytes) { valid += 1 }
            }
            if valid == 0 { throw ValidationError("no valid events decoded") }
        case "replay":
            let config = ReplayConfiguration(inputPath: input, outputPath: "/dev/null", parallelism: parallelism)
            let summary = try ReplayJob.run(config)
            if summary.resultsWritten == 0 { throw ValidationError("replay produced no results") }
        case "replay-file":
            let output = "/tmp/runnel-bench-output-\(getpid()).ndjson"
            defer { unlink(output) }
            let config = ReplayConfiguration(inputPath: input, outputPath: output, parallelism: parallelism)
            let summary = try ReplayJob.run(config)
            if summary.resultsWritten == 0 { throw ValidationError("replay produced no results") }
        case "replay-checkpoints", "replay-checkpoints-full":
            // With checkpoints the output is a directory of committed part files.
            let directory = "/tmp/runnel-bench-checkpoints-\(getpid())"
            let output = "/tmp/runnel-bench-output-\(getpid())"
            var config = ReplayConfiguration(inputPath: input, outputPath: output, parallelism: parallelism)
            config.checkpoints = CheckpointSettings(directory: directory, interval: .milliseconds(Int64(checkpointInterval * 1000)),
                                                    incremental: mode == "replay-checkpoints")
            defer {
                removeTree(directory)
                removeTree(output)
            }
            let summary = try ReplayJob.run(config)
            if summary.resultsWritten == 0 { throw ValidationError("replay produced no results") }
            if let resultFile {
                let output = try SharedFileOutput(path: resultFile)
                try output.append(Array(("writer_cpu_us=\(Int64(summary.checkpointWriterCPUSeconds * 1e6)) "
                    + "checkpoints=\(summary.checkpointsCompleted)\n").utf8))
                try output.sync()
            }
            if ProcessInfoLite.verbose {
                let line = Array((summary.description + "\n").utf8)
                _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            }
        default:
            throw ValidationError("unknown mode \(mode)")
        }
    }
}

/// Removes a directory tree, for the benchmark's scratch checkpoints (a missing one is fine;
/// a failure to remove scratch files does not stop the benchmark).
func removeTree(_ path: String) {
    try? DurableFiles.removeTree(path)
}

/// Whether the child prints its summary (`RUNNEL_BENCH_VERBOSE=1`).
enum ProcessInfoLite {
    static var verbose: Bool { getenv("RUNNEL_BENCH_VERBOSE").map { String(cString: $0) == "1" } ?? false }
}
