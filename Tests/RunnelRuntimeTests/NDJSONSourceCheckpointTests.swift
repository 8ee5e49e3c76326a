import Foundation
import RunnelCheckpoint
import RunnelCore
import RunnelJSON
import RunnelOperators
import RunnelRuntime
import Synchronization
import Testing

/// The blocks each decoder (one per subtask) saw lines of.
private final class BlocksSeen: Sendable {
    private let blocks = Mutex<[Int: Set<Int64>]>([:])
    private let decoders = Atomic<Int>(0)
    func newDecoder() -> Int { decoders.add(1, ordering: .relaxed).newValue }
    func saw(_ block: Int64, decoder: Int) { blocks.withLock { _ = $0[decoder, default: []].insert(block) } }
    var byDecoder: [Set<Int64>] { blocks.withLock { Array($0.values) } }
}

/// Decodes a line `<number>:<padding>` into its line number, or -1 when the text does not
/// match the number the reader gave the line (a wrongly numbered line).
private final class NumberedLineDecoder: LineDecoder {
    let seen: BlocksSeen
    let id: Int
    let blockSize: Int64
    init(seen: BlocksSeen, blockSize: Int64) {
        self.seen = seen
        self.blockSize = blockSize
        id = seen.newDecoder()
    }
    func decode(_ line: NDJSONLine) -> Int64? {
        seen.saw(line.offset / blockSize, decoder: id)
        let text = String(decoding: line.bytes, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":"), let n = Int64(text[..<colon]) else { return -1 }
        return n == line.lineNumber ? n : -1
    }
}

/// The file source's readers take blocks from a shared queue during a real multi-threaded
/// run, with checkpoints every few milliseconds: a checkpoint must record every unread line
/// exactly once however the hand-outs and the readers' snapshots interleave.
@Suite(.timeLimit(.minutes(2))) struct NDJSONSourceCheckpointTests {
    @Test("readers sharing a queue of small blocks, checkpointed every 2 ms, restore at any parallelism to exactly the unread lines",
          arguments: [(3, 2), (2, 3), (3, 1), (1, 3)])
    func restoresExactly(from: Int, to: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-ndjson-queue-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = 10_000
        var text = ""
        for n in 1...lines { text += "\(n):" + String(repeating: "x", count: n * 7919 % 61) + "\n" }
        let input = dir + "/lines.ndjson"
        try text.write(toFile: input, atomically: true, encoding: .utf8)

        func job(_ sink: CollectSink<Int64>, throttled: Bool, seen: BlocksSeen = BlocksSeen()) throws -> JobGraph {
            let env = StreamEnvironment(name: "queue")
            // Blocks of 1 KiB: about 320 hand-outs, many of them while a checkpoint is under way.
            env.source("read", NDJSONFileSource(path: input, blockSize: 1024, linesPerSecond: throttled ? 20_000 : nil) {
                NumberedLineDecoder(seen: seen, blockSize: 1024)
            }, watermarks: .boundedOutOfOrderness(.seconds(1)) { $0 })
            .sink("collect", sink)
            return try env.build()
        }
        let full = CollectSink<Int64>()
        var options = JobRunner.Options(parallelism: from)
        options.checkpoints = CheckpointSettings(directory: dir + "/checkpoints", interval: .milliseconds(2), retained: 1000)
        let seen = BlocksSeen()
        try JobRunner(graph: try job(full, throttled: true, seen: seen), options: options).run()
        #expect(full.results.sorted() == Array(1...Int64(lines)), "every line once, numbered right")
        if from > 1 {
            // Taken on request, not dealt round-robin: some reader read blocks that dealing
            // would have given to different readers.
            #expect(seen.byDecoder.contains { Set($0.map { $0 % Int64(from) }).count > 1 }, "the readers share a queue")
        }

        let store = try CheckpointStore(directory: dir + "/checkpoints", create: false)
        let ids = try store.completedIDs()
        try #require(ids.count >= 20, "many checkpoints were taken")
        // The last checkpoint is taken as the readers finish: finished readers contribute
        // their final (empty) records to it.
        for id in [ids[ids.count / 4], ids[ids.count / 2], ids[ids.count * 3 / 4], ids[ids.count - 1]] {
            let covered = try #require(full.resultsBefore(checkpoint: id))
            let rest = CollectSink<Int64>()
            var restore = JobRunner.Options(parallelism: to)
            restore.restore = try store.load(store.path(of: id))
            try JobRunner(graph: try job(rest, throttled: false), options: restore).run()
            let all = (covered + rest.results).sorted()
            #expect(all == Array(1...Int64(lines)),
                    "p \(from) → \(to), checkpoint \(id): \(covered.count) covered + \(rest.results.count) after, \(all.count) in all")
        }
    }
}
