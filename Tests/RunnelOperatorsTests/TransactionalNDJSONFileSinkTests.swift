#if canImport(Glibc)
import Glibc
#endif
import RunnelCore
import RunnelJSON
import RunnelOperators
import Testing

/// The two-phase commit of the transactional NDJSON sink, driven by hand: what is visible
/// after each step, including checkpoints aborted before their files were synced and
/// restores after a crash.
@Suite struct TransactionalNDJSONFileSinkTests {
    private static func makeDirectory() -> String {
        var template = Array("/tmp/runnel-txsink-XXXXXX".utf8CString)
        return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    private static func sink(_ directory: String) throws -> TransactionalNDJSONFileSink<Int> {
        try TransactionalNDJSONFileSink(directory: directory, prefix: "n") { value, json in
            json.beginObject()
            json.key("n")
            json.int(value)
            json.endObject()
        }
    }

    /// Names in the directory: (visible, hidden).
    private static func listing(_ directory: String) -> (visible: [String], hidden: [String]) {
        var visible: [String] = []
        var hidden: [String] = []
        guard let dir = opendir(directory) else { return ([], []) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            if name.hasPrefix(".") { hidden.append(name) } else { visible.append(name) }
        }
        return (visible.sorted(), hidden.sorted())
    }

    /// The numbers in the visible part files, sorted.
    private static func committedValues(_ directory: String) throws -> [Int] {
        var values: [Int] = []
        for name in listing(directory).visible {
            try NDJSONFileReader(path: directory + "/" + name).forEachLine { line in
                let text = String(decoding: line.bytes, as: UTF8.self)
                values.append(Int(text.dropFirst(5).dropLast())!)
            }
        }
        return values.sorted()
    }

    private static func removeTree(_ directory: String) {
        for name in listing(directory).visible + listing(directory).hidden { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    @Test("records become visible only when the checkpoint covering them completes")
    func commitAfterCompletion() throws {
        let directory = Self.makeDirectory()
        defer { Self.removeTree(directory) }
        let writer = try Self.sink(directory).createWriter(subtask: 0, parallelism: 1)
        try writer.restore(from: [])
        for n in 0..<100 { try writer.write(n, timestamp: 0) }
        let part = try #require(try writer.prepareCheckpoint(checkpointID: 1))
        #expect(Self.listing(directory).visible.isEmpty)
        #expect(Self.listing(directory).hidden.contains { $0.hasSuffix(".inprogress") })
        let makeDurable = try #require(part.makeDurable)
        try makeDurable()
        #expect(Self.listing(directory).hidden.allSatisfy { $0.hasSuffix(".pending") })
        for n in 100..<150 { try writer.write(n, timestamp: 0) }
        #expect(try Self.committedValues(directory).isEmpty)
        try writer.checkpointComplete(1)
        #expect(try Self.committedValues(directory) == Array(0..<100))
        try writer.finish()
        let final = try #require(try writer.finishedState())
        #expect(!final.isEmpty)
        try writer.checkpointComplete(2)
        #expect(try Self.committedValues(directory) == Array(0..<150))
        #expect(Self.listing(directory).hidden.isEmpty)
    }

    @Test("a checkpoint aborted before its file was synced: the next completed checkpoint publishes that file too")
    func abortedCheckpointFileIsPublishedLater() throws {
        let directory = Self.makeDirectory()
        defer { Self.removeTree(directory) }
        let writer = try Self.sink(directory).createWriter(subtask: 0, parallelism: 1)
        try writer.restore(from: [])
        for n in 0..<10 { try writer.write(n, timestamp: 0) }
        // Checkpoint 1 is aborted elsewhere: its part is dropped, never made durable.
        do { _ = try writer.prepareCheckpoint(checkpointID: 1) }
        for n in 10..<20 { try writer.write(n, timestamp: 0) }
        let part = try #require(try writer.prepareCheckpoint(checkpointID: 2))
        try part.makeDurable?()
        try writer.checkpointComplete(2)
        #expect(try Self.committedValues(directory) == Array(0..<20))
        #expect(Self.listing(directory).hidden.isEmpty)
    }

    @Test("restore commits what the checkpoint lists and deletes the crashed run's other hidden files")
    func restoreAfterCrash() throws {
        let directory = Self.makeDirectory()
        defer { Self.removeTree(directory) }
        // The crashed run: checkpoint 1 complete on disk, but the process died before it
        // published the file; then more output, in progress.
        let crashed = try Self.sink(directory).createWriter(subtask: 0, parallelism: 1)
        try crashed.restore(from: [])
        for n in 0..<30 { try crashed.write(n, timestamp: 0) }
        let part = try #require(try crashed.prepareCheckpoint(checkpointID: 1))
        try part.makeDurable?()
        for n in 30..<40 { try crashed.write(n, timestamp: 0) }
        _ = try crashed.prepareCheckpoint(checkpointID: 2)
        crashed.close()
        #expect(try Self.committedValues(directory).isEmpty)

        // The restored run (another sink instance: another run token).
        let restored = try Self.sink(directory).createWriter(subtask: 0, parallelism: 1)
        try restored.restore(from: [part.payload])
        #expect(try Self.committedValues(directory) == Array(0..<30))
        #expect(Self.listing(directory).hidden.isEmpty)
        for n in 30..<40 { try restored.write(n, timestamp: 0) }
        try restored.finish()
        try restored.checkpointComplete(3)
        #expect(try Self.committedValues(directory) == Array(0..<40))
    }
}
