import Foundation
import RunnelCore
import RunnelJSON
import RunnelLog
import RunnelOperators
import RunnelRuntime
import Synchronization
import Testing

/// A fresh directory under the temporary directory, removed by `remove()`.
struct LogTestDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "runnel-log-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Lines as text.
final class TextLineDecoder: LineDecoder {
    func decode(_ line: NDJSONLine) -> String? { String(decoding: line.bytes, as: UTF8.self) }
}

extension DurableLog {
    /// Appends `lines` as one frame and waits until it is durable.
    @discardableResult
    func appendAndWait(_ lines: [String], partition: Int) throws -> Int64 {
        let payload = Array(lines.map { $0 + "\n" }.joined().utf8)
        let result = Mutex<Result<Int64, DurableLogError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        append(partition: partition, payload: payload, records: lines.count) { r in
            result.withLock { $0 = r }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

/// Everything a job over `log` reads, once the log is closed.
func readAll(_ log: DurableLog, parallelism: Int) throws -> [String] {
    let env = StreamEnvironment(name: "log-read")
    let sink = CollectSink<String>()
    env.source("log", DurableLogSource(log: log) { TextLineDecoder() }, watermarks: .monotonousTimestamps { _ in 0 })
        .sink("collect", sink)
    _ = try JobRunner(graph: try env.build(), options: .init(parallelism: parallelism)).run()
    return sink.results
}

@Suite struct DurableLogTests {
    @Test("appended frames are read back in order per partition, across segment files, by a job at any parallelism")
    func appendAndRead() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 3, segmentBytes: 300))
        var expected: [String] = []
        for i in 0..<30 {
            let lines = (0..<3).map { "{\"n\":\(i * 3 + $0)}" }
            try log.appendAndWait(lines, partition: i % 3)
            expected += lines
        }
        #expect(log.appendedSinceOpen.records == 90)
        let segments = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/p-0").filter { $0.hasSuffix(".seg") }
        #expect(segments.count > 1, "small segments roll over: \(segments)")
        log.close()
        for p in [1, 2, 4] {
            let read = try readAll(log, parallelism: p)
            #expect(read.sorted() == expected.sorted(), "parallelism \(p)")
        }
        // Within a partition, order is kept.
        let reopened = try DurableLog(configuration: .init(directory: dir.path, partitions: 7))
        #expect(reopened.partitionCount == 3, "an existing log keeps its partition count")
        reopened.close()
        let read = try readAll(reopened, parallelism: 1)
        let partition0 = read.filter { line in Int(line.dropFirst(5).dropLast())! / 3 % 3 == 0 }
        #expect(partition0 == expected.filter { line in Int(line.dropFirst(5).dropLast())! / 3 % 3 == 0 })
    }

    @Test("a torn frame at the end (a crash mid-append) is cut off on open; appends go on after the last whole frame")
    func tornTail() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 1))
        try log.appendAndWait(["a", "b"], partition: 0)
        let end = try log.appendAndWait(["c"], partition: 0)
        log.close()
        let segment = dir.path + "/p-0/00000000000000000000.seg"
        // Half of a third frame: a header promising more than follows.
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        handle.seekToEndOfFile()
        let torn = Array(try Data(contentsOf: URL(fileURLWithPath: segment)).prefix(26))
        handle.write(Data(torn))
        handle.closeFile()

        let reopened = try DurableLog(configuration: .init(directory: dir.path, partitions: 1))
        #expect(reopened.recoveredTornBytes == 26)
        #expect(reopened.durableEnd(of: 0) == end)
        try reopened.appendAndWait(["d"], partition: 0)
        reopened.close()
        #expect(try readAll(reopened, parallelism: 1) == ["a", "b", "c", "d"])
    }

    @Test("a frame damaged in the middle of the log fails its checksum: the reading job fails with an error naming the offset, rather than reading wrong records")
    func damagedFrame() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 1, segmentBytes: 40))
        try log.appendAndWait(["first"], partition: 0)
        try log.appendAndWait(["second"], partition: 0)
        try log.appendAndWait(["third"], partition: 0)
        log.close()
        // The first segment is complete (the log rolled past it): flip a payload byte.
        let segment = dir.path + "/p-0/00000000000000000000.seg"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes[26] ^= 0x20
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let reopened = try DurableLog(configuration: .init(directory: dir.path, partitions: 1, segmentBytes: 40))
        reopened.close()
        #expect { try readAll(reopened, parallelism: 1) } throws: { error in
            "\(error)".contains("fails its checksum") && "\(error)".contains("offset 0")
        }
    }

    @Test("retention deletes the oldest read segments beyond its size, never unread ones nor ones a recent checkpoint needs; restoring a reader to a deleted offset is refused with the reason")
    func retention() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 1, segmentBytes: 100, retentionBytes: 250))
        let source = DurableLogSource(log: log) { TextLineDecoder() }
        func position(_ offset: Int64) -> [UInt8] {
            var w = BinaryWriter()
            w.writeVarUInt(1)
            w.writeVarUInt(0)
            w.writeVarInt(offset)
            return w.bytes
        }
        func segments() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: dir.path + "/p-0").filter { $0.hasSuffix(".seg") }.count
        }
        var ends: [Int64] = []
        for i in 0..<20 { ends.append(try log.appendAndWait(["record-\(i)"], partition: 0)) }
        #expect(log.startOffset(of: 0) == 0, "nothing is deleted that no reader has read")
        let unread = try segments()
        #expect(unread > 5)

        // A reader restored at record 9 (restoring protects that offset, and enough of them
        // push out the protection of where the reader was created, the log's start) …
        let reader = try source.createReader(subtask: 0, parallelism: 1)
        for _ in 0..<DurableLog.protectedPositions { try reader.restore(from: [position(ends[9])]) }
        // … reads on to the end while more is appended.
        for i in 20..<40 { ends.append(try log.appendAndWait(["record-\(i)"], partition: 0)) }
        try reader.restore(from: [position(ends[39])])
        try log.appendAndWait(["record-40"], partition: 0)
        #expect(log.startOffset(of: 0) > 0 && log.startOffset(of: 0) <= ends[9], "the restored offset is kept: \(log.startOffset(of: 0))")

        // Checkpoints move on: the old offset falls out of the protected ones.
        for _ in 0..<DurableLog.protectedPositions { _ = try reader.checkpointPosition() }
        try log.appendAndWait(["record-41"], partition: 0)
        #expect(log.startOffset(of: 0) > ends[9])
        let kept = try segments()
        #expect(kept <= 5, "\(kept) segments kept")
        log.close()
        let read = try readAll(log, parallelism: 1)
        #expect(read.last == "record-41" && read.count < 42 && read.count >= 7)

        let late = try source.createReader(subtask: 0, parallelism: 1)
        #expect { try late.restore(from: [position(0)]) } throws: { "\($0)".contains("retention") }
    }

    @Test("a reader restores its partitions' offsets from readers of a run at another parallelism; offsets beyond the log are refused")
    func restorePositions() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 4))
        var ends: [Int64] = []
        for p in 0..<4 { ends.append(try log.appendAndWait(["x\(p)"], partition: p)) }
        let source = DurableLogSource(log: log) { TextLineDecoder() }
        // Two readers of a run at parallelism 2 recorded partitions {0, 2} and {1, 3}.
        func position(_ pairs: [(Int, Int64)]) -> [UInt8] {
            var w = BinaryWriter()
            w.writeVarUInt(UInt64(pairs.count))
            for (p, o) in pairs { w.writeVarUInt(UInt64(p)); w.writeVarInt(o) }
            return w.bytes
        }
        let recorded = [position([(0, ends[0]), (2, 0)]), position([(1, ends[1]), (3, ends[3])])]
        let reader = try source.createReader(subtask: 1, parallelism: 3)  // partition 1 (and 4, which does not exist)
        try reader.restore(from: recorded)
        #expect(reader.positions.map(\.partition) == [1] && reader.positions.map(\.offset) == [ends[1]])
        let other = try source.createReader(subtask: 2, parallelism: 3)
        try other.restore(from: recorded)
        #expect(other.positions.map(\.offset) == [0])
        let (payload, summary) = try other.checkpointPosition()
        #expect(summary == "partition 2 at 0")
        #expect(payload == position([(2, 0)]))
        let beyond = try source.createReader(subtask: 0, parallelism: 1)
        #expect { try beyond.restore(from: [position([(0, ends[0] + 1000)])]) } throws: { "\($0)".contains("not the log this job read") }
        log.close()
    }

    @Test("one process at a time: a second opener is refused while the log is open, and may open it once it is closed")
    func exclusive() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 1))
        #expect { try DurableLog(configuration: .init(directory: dir.path, partitions: 1)) } throws: { "\($0)".contains("in use by another process") }
        log.close()
        let again = try DurableLog(configuration: .init(directory: dir.path, partitions: 1))
        again.close()
    }

    @Test("damage in the middle of the last segment, with whole frames after it, is not cut off on open (they were acknowledged): the log refuses to open")
    func damageBeforeWholeFrames() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 1))
        try log.appendAndWait(["first"], partition: 0)
        try log.appendAndWait(["second"], partition: 0)
        log.close()
        let segment = dir.path + "/p-0/00000000000000000000.seg"
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: segment)))
        bytes[25] ^= 0x01  // in the first frame's payload
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        #expect { try DurableLog(configuration: .init(directory: dir.path, partitions: 1)) } throws: {
            "\($0)".contains("damaged frame at offset 0") && "\($0)".contains("refusing")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: segment)).count == bytes.count, "nothing was cut")
    }

    @Test("appends after close fail; a closed log's readers finish once they have read everything")
    func closeBehaviour() throws {
        let dir = try LogTestDirectory()
        defer { dir.remove() }
        let log = try DurableLog(configuration: .init(directory: dir.path, partitions: 2))
        try log.appendAndWait(["one"], partition: 1)
        log.close()
        #expect(throws: DurableLogError.self) { try log.appendAndWait(["two"], partition: 0) }
        #expect(try readAll(log, parallelism: 2) == ["one"])
        #expect(log.backlogBytes == 0)
    }
}
