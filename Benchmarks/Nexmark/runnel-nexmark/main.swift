import ArgumentParser
import RunnelCheckpoint
import RunnelCore
import RunnelJSON
import RunnelNexmark
import RunnelOperators
import RunnelRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Runs Nexmark queries on Runnel over the in-process generator and reports events/s and
/// events/s per core (events over CPU seconds), with and without checkpoints, as the median
/// and spread of several runs (use a release build).
@main
struct RunnelNexmarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runnel-nexmark",
        abstract: "Nexmark q0 q1 q5 q7 q8 q11 q12 on Runnel: events/s and events/s per core, with and without checkpoints.")

    @Option(help: "Queries to run, comma-separated (q0,q1,q5,q7,q8,q11,q12), or all.")
    var queries = "all"

    @Option(help: "Events per run.")
    var events = 10_000_000

    @Option(help: "Runs per configuration (the median and the spread are reported).")
    var runs = 3

    @Option(help: "Subtasks per step (default: the number of cores).")
    var parallelism = EventLoopGroup.defaultLoopCount

    @Option(help: "Checkpoints: off, on, or both (each query without, then with).")
    var checkpoints = "both"

    @Option(name: .customLong("checkpoint-interval"), help: "Seconds between checkpoints when they are on.")
    var checkpointInterval = 30.0

    @Option(help: "Random seed of the generated events.")
    var seed: UInt64 = 0

    @Flag(help: "A tiny run of every query in both modes, for CI: checks the benchmark still works.")
    var smoke = false

    @Option(name: .customLong("write-events"), help: "Write --events generated events to this file as NDJSON (for Flink) and exit.")
    var writeEvents: String?

    @Option(help: "Read the events from this NDJSON file (as --write-events writes it) instead of generating them.")
    var input: String?

    @Option(name: .customLong("results-file"), help: "Write the results of the (single) query to this file, a line of tab-separated fields each.")
    var resultsFile: String?

    func validate() throws {
        guard ["off", "on", "both"].contains(checkpoints) else { throw ValidationError("--checkpoints must be off, on or both") }
        guard events > 0, runs > 0, parallelism > 0, checkpointInterval > 0 else { throw ValidationError("counts and the interval must be positive") }
    }

    func run() throws {
        var configuration = NexmarkConfiguration()
        configuration.seed = seed
        if let writeEvents {
            let generator = NexmarkGenerator(configuration: configuration)
            let output = try SharedFileOutput(path: writeEvents)
            var json = JSONWriter(capacity: 1 << 20)
            for n in 0..<Int64(events) {
                NexmarkJSON.write(generator.event(n), into: &json)
                if json.count >= 1 << 20 {
                    try json.withBytes { try output.append($0) }
                    json.removeAll()
                }
            }
            try json.withBytes { try output.append($0) }
            try output.sync()
            return
        }
        let selected: [NexmarkQuery] = queries == "all" ? NexmarkQuery.allCases : try queries.split(separator: ",").map {
            guard let q = NexmarkQuery(rawValue: String($0)) else { throw ValidationError("unknown query \($0)") }
            return q
        }
        guard resultsFile == nil || selected.count == 1 else { throw ValidationError("--results-file needs a single query") }
        let count = input.map { _ in 0 } ?? (smoke ? 20_000 : events)
        let runs = smoke ? 1 : self.runs
        let modes: [Bool] = smoke || checkpoints == "both" ? [false, true] : [checkpoints == "on"]
        print("Nexmark on Runnel: \(input.map { "events from \($0)" } ?? "\(count) generated events") per run, parallelism \(parallelism), \(runs) run(s) each; "
              + "checkpoints every \(checkpointInterval) s where on")
        print("")
        print("| query | checkpoints | events/s, median (min–max) | events/s per core, median (min–max) | checkpoints taken | results | checksum |")
        print("|---|---|---:|---:|---:|---:|---|")
        for query in selected {
            for withCheckpoints in modes {
                var rates: [Double] = [], perCore: [Double] = []
                var last = (count: 0, checksum: UInt64(0), checkpoints: 0)
                for _ in 0..<runs {
                    let directory = "/tmp/runnel-nexmark-checkpoints-\(getpid())"
                    defer { try? DurableFiles.removeTree(directory) }
                    let (graph, totals) = if let input {
                        try query.plan(source: NDJSONFileSource(path: input) { NexmarkLineDecoder() }, resultsPath: resultsFile)
                    } else {
                        try query.plan(source: NexmarkSource(count: Int64(count), configuration: configuration), resultsPath: resultsFile)
                    }
                    var options = JobRunner.Options(parallelism: parallelism)
                    if withCheckpoints {
                        options.checkpoints = CheckpointSettings(directory: directory,
                                                                 interval: .milliseconds(Int64((checkpointInterval * 1000).rounded())))
                    }
                    let cpuBefore = Self.cpuSeconds()
                    let result = try JobRunner(graph: graph, options: options).run()
                    let cpu = Self.cpuSeconds() - cpuBefore
                    let eventsRead = input == nil ? count : result.counter("records_out", step: "nexmark")
                    rates.append(Double(eventsRead) / result.wallSeconds)
                    perCore.append(Double(eventsRead) / max(cpu, 1e-9))
                    let (n, checksum) = totals()
                    last = (n, checksum, result.counter("checkpoints_completed", step: "checkpoints"))
                }
                let checksum = query.isDeterministic ? String(last.checksum, radix: 16) : "(processing time)"
                print("| \(query.rawValue) | \(withCheckpoints ? "every \(checkpointInterval) s" : "off") | \(Self.spread(rates)) | "
                      + "\(Self.spread(perCore)) | \(withCheckpoints ? String(last.checkpoints) : "–") | \(last.count) | \(checksum) |")
            }
        }
    }

    /// CPU time (user + system) of this process so far, in seconds.
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// `median (min–max)` in thousands.
    static func spread(_ values: [Double]) -> String {
        let sorted = values.sorted()
        func k(_ x: Double) -> String { "\(Int((x / 1000).rounded())) k" }
        return sorted.count == 1 ? k(sorted[0]) : "\(k(sorted[sorted.count / 2])) (\(k(sorted[0]))–\(k(sorted[sorted.count - 1])))"
    }
}
