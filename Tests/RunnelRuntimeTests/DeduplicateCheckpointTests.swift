import Foundation
import RunnelCheckpoint
import RunnelCore
import RunnelJSON
import RunnelOperators
import RunnelRuntime
import Testing

/// An event of the test input: an id that repeats, and the line's number as its time.
private struct Sighting: Sendable, Hashable {
    var id: String
    var time: Int64
}

/// Decodes a line `<id>` into a sighting at the line's number (milliseconds).
private final class SightingDecoder: LineDecoder {
    func decode(_ line: NDJSONLine) -> Sighting? {
        Sighting(id: String(decoding: line.bytes, as: UTF8.self), time: line.lineNumber)
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

    @Test("a checkpoint of either form restores into the other, at another parallelism, keeping each id once",
          arguments: [(Form.function, Form.builtIn, 2, 3), (.builtIn, .function, 3, 2), (.builtIn, .builtIn, 2, 1)])
    func restoresAcrossForms(from: Form, to: Form, fromParallelism: Int, toParallelism: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-dedup-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 8,000 sightings of 1,500 ids: each id seen about five times, spread over the input.
        let lines = 8_000
        let distinct = 1_500
        var text = ""
        for n in 0..<lines { text += "id-\((n &* 7919) % distinct)\n" }
        let input = dir + "/sightings.ndjson"
        try text.write(toFile: input, atomically: true, encoding: .utf8)

        func job(_ form: Form, _ sink: CollectSink<String>, throttled: Bool) throws -> JobGraph {
            let env = StreamEnvironment(name: "dedup-checkpoints")
            let keyed = env.source("read", NDJSONFileSource(path: input, blockSize: 4096, linesPerSecond: throttled ? 16_000 : nil) {
                SightingDecoder()
            }, watermarks: .boundedOutOfOrderness(.seconds(1)) { $0.time })
            .keyBy { $0.id }
            let ttl = StateTTL(.seconds(3600), timeDomain: .eventTime)
            let kept = switch form {
            case .function: keyed.process("dedup", Deduplicate<String, Sighting>(ttl: ttl))
            case .builtIn: keyed.deduplicate("dedup", ttl: ttl)
            }
            kept.map("id") { $0.id }.sink("collect", sink)
            return try env.build()
        }
        let full = CollectSink<String>()
        var options = JobRunner.Options(parallelism: fromParallelism)
        options.checkpoints = CheckpointSettings(directory: dir + "/checkpoints", interval: .milliseconds(5), retained: 1000)
        try JobRunner(graph: try job(from, full, throttled: true), options: options).run()
        let everyId = Set((0..<distinct).map { "id-\($0)" })
        #expect(full.results.count == distinct && Set(full.results) == everyId, "\(from): each id once")

        let store = try CheckpointStore(directory: dir + "/checkpoints", create: false)
        let ids = try store.completedIDs()
        try #require(ids.count >= 10, "many checkpoints were taken")
        for id in [ids[ids.count / 4], ids[ids.count / 2], ids[ids.count * 3 / 4]] {
            let covered = try #require(full.resultsBefore(checkpoint: id))
            let rest = CollectSink<String>()
            var restore = JobRunner.Options(parallelism: toParallelism)
            restore.restore = try store.load(store.path(of: id))
            try JobRunner(graph: try job(to, rest, throttled: false), options: restore).run()
            let all = covered + rest.results
            let what = "\(from) p \(fromParallelism) → \(to) p \(toParallelism), checkpoint \(id): "
                + "\(covered.count) kept before + \(rest.results.count) after, \(Set(all).count) distinct"
            #expect(all.count == distinct && Set(all) == everyId, "\(what)")
        }
    }
}
