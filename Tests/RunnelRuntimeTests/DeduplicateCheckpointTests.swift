import Foundation
import RunnelCheckpoint
import RunnelCore
import RunnelJSON
import RunnelOperators
import RunnelRuntime
import Testing

/// An event of the test input: an id that repeats, and its time (ten lines a millisecond).
private struct Sighting: Sendable, Hashable {
    var id: String
    var time: Int64
}

/// Decodes a line `<id>@<time>` into a sighting at that time (milliseconds), or a line
/// `<id>` into one at a tenth of the line's number.
private final class SightingDecoder: LineDecoder {
    func decode(_ line: NDJSONLine) -> Sighting? {
        let text = String(decoding: line.bytes, as: UTF8.self)
        guard let at = text.firstIndex(of: "@") else { return Sighting(id: text, time: line.lineNumber / 10) }
        return Sighting(id: String(text[..<at]), time: Int64(text[text.index(after: at)...])!)
    }
}

/// Deduplication's state in real checkpoints, taken during a multi-threaded run: restored
/// into a job with the other form of the step (the `Deduplicate` function or the built-in
/// `deduplicate`), at another parallelism, every id is still kept exactly once.
@Suite(.timeLimit(.minutes(2))) struct DeduplicateCheckpointTests {
    enum Form: Sendable, CustomStringConvertible {
        case function, builtIn
        var description: String { self == .function ? "function" : "built-in" }
    }

    /// Writes the test input: one id a line, `id(n)` on line `n`.
    static func writeInput(in dir: String, lines: Int, id: (Int) -> String) throws -> String {
        var text = ""
        for n in 0..<lines { text += id(n) + "\n" }
        let input = dir + "/sightings.ndjson"
        try text.write(toFile: input, atomically: true, encoding: .utf8)
        return input
    }

    /// The job: sightings read from `input`, deduplicated by id with `form`, their ids collected.
    static func job(_ form: Form, input: String, ttl: StateTTL, _ sink: CollectSink<String>, linesPerSecond: Double?) throws -> JobGraph {
        let env = StreamEnvironment(name: "dedup-checkpoints")
        let keyed = env.source("read", NDJSONFileSource(path: input, blockSize: 4096, linesPerSecond: linesPerSecond) {
            SightingDecoder()
        }, watermarks: .boundedOutOfOrderness(.milliseconds(100)) { $0.time })
        .keyBy { $0.id }
        let kept = switch form {
        case .function: keyed.process("dedup", Deduplicate<String, Sighting>(ttl: ttl))
        case .builtIn: keyed.deduplicate("dedup", ttl: ttl)
        }
        kept.map("id") { $0.id }.sink("collect", sink)
        return try env.build()
    }

    /// For the checkpoints a quarter, half and three quarters into the run that wrote `dir`:
    /// the results of that run the checkpoint covers, and those of `job` restored from it.
    static func restoredRuns(_ dir: String, full: CollectSink<String>, atLeast checkpoints: Int, parallelism: Int,
                             job: (CollectSink<String>) throws -> JobGraph) throws -> [(id: Int64, covered: [String], rest: [String])] {
        let store = try CheckpointStore(directory: dir + "/checkpoints", create: false)
        let ids = try store.completedIDs()
        try #require(ids.count >= checkpoints, "checkpoints were taken: \(ids.count)")
        return try [ids[ids.count / 4], ids[ids.count / 2], ids[ids.count * 3 / 4]].map { id in
            let covered = try #require(full.resultsBefore(checkpoint: id))
            let rest = CollectSink<String>()
            var restore = JobRunner.Options(parallelism: parallelism)
            restore.restore = try store.load(store.path(of: id))
            try JobRunner(graph: try job(rest), options: restore).run()
            return (id, covered, rest.results)
        }
    }

    static func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-dedup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test("a checkpoint of either form restores into the other, at another parallelism, keeping each id once",
          arguments: [(Form.function, Form.builtIn, 2, 3), (.builtIn, .function, 3, 2), (.builtIn, .builtIn, 2, 1)])
    func restoresAcrossForms(from: Form, to: Form, fromParallelism: Int, toParallelism: Int) throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 8,000 sightings of 1,500 ids (each about five times, spread over the input),
        // remembered for longer than the input spans.
        let distinct = 1_500
        let input = try Self.writeInput(in: dir, lines: 8_000) { n in "id-\((n &* 7919) % distinct)" }
        let ttl = StateTTL(.seconds(3600), timeDomain: .eventTime)
        let full = CollectSink<String>()
        var options = JobRunner.Options(parallelism: fromParallelism)
        options.checkpoints = CheckpointSettings(directory: dir + "/checkpoints", interval: .milliseconds(5), retained: 1000)
        try JobRunner(graph: try Self.job(from, input: input, ttl: ttl, full, linesPerSecond: 16_000), options: options).run()
        let everyId = Set((0..<distinct).map { "id-\($0)" })
        #expect(full.results.count == distinct && Set(full.results) == everyId, "\(from): each id once")

        let restored = try Self.restoredRuns(dir, full: full, atLeast: 10, parallelism: toParallelism) { rest in
            try Self.job(to, input: input, ttl: ttl, rest, linesPerSecond: nil)
        }
        for (id, covered, rest) in restored {
            let all = covered + rest
            let what = "\(from) p \(fromParallelism) → \(to) p \(toParallelism), checkpoint \(id): "
                + "\(covered.count) kept before + \(rest.count) after, \(Set(all).count) distinct"
            #expect(all.count == distinct && Set(all) == everyId, "\(what)")
        }
    }

    @Test("ids forgotten by a short TTL across a restore: at p = 1 the restored run continues the uninterrupted one exactly",
          arguments: [(Form.function, Form.builtIn), (.builtIn, .function), (.builtIn, .builtIn)])
    func expiryAcrossARestore(from: Form, to: Form) throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 4,096 ids, each seen in a burst of four sightings 50 ms apart every 4 s, the bursts
        // of successive ids starting about 1 ms apart: at any point of the input some ids
        // come back after 4 s. With a TTL of 1 s, a burst's later sightings are duplicates
        // and the next burst's first is kept, whenever watermarks come: the source sends one
        // every read step (at most 4,096 lines, 1 s here), 100 ms behind its newest sighting.
        // So the results are the same however the reads fall (throttled or not, from the
        // start or from a checkpoint), and the first records read after a restore, judged
        // before any new watermark, need the restored one: one kept per burst.
        let (distinct, period, bursts) = (4_096, 4_000, 5)
        var sightings: [(time: Int, id: Int)] = []
        for burst in 0..<bursts {
            for id in 0..<distinct {
                for k in 0..<4 { sightings.append((burst * period + id * period / distinct + 50 * k, id)) }
            }
        }
        sightings.sort { ($0.time, $0.id) < ($1.time, $1.id) }
        let input = try Self.writeInput(in: dir, lines: sightings.count) { n in "id-\(sightings[n].id)@\(sightings[n].time)" }
        let ttl = StateTTL(.seconds(1), timeDomain: .eventTime)
        let full = CollectSink<String>()
        var options = JobRunner.Options(parallelism: 1)
        options.checkpoints = CheckpointSettings(directory: dir + "/checkpoints", interval: .milliseconds(5), retained: 1000)
        // Unthrottled, so that the source reads whole steps (few watermarks, so few sweeps of
        // expired entries): entries expired before a checkpoint are still in it, and only the
        // restored watermark tells the first records read after the restore that they expired.
        try JobRunner(graph: try Self.job(from, input: input, ttl: ttl, full, linesPerSecond: nil), options: options).run()
        #expect(full.results.count == distinct * bursts, "one kept a burst: \(full.results.count)")

        let restored = try Self.restoredRuns(dir, full: full, atLeast: 4, parallelism: 1) { rest in
            try Self.job(to, input: input, ttl: ttl, rest, linesPerSecond: nil)
        }
        for (id, covered, rest) in restored {
            #expect(covered + rest == full.results,
                    "\(from) → \(to), checkpoint \(id): \(covered.count) before + \(rest.count) after, against \(full.results.count)")
        }
    }
}
