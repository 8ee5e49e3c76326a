import RunnelCore
@testable import RunnelJSON
@testable import RunnelOperators
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Keeps each line's number and text.
private final class NumberedLines: LineDecoder {
    func decode(_ line: NDJSONLine) -> String? { "\(line.lineNumber):" + String(decoding: line.bytes, as: UTF8.self) }
}

@Suite("NDJSONFileSource and the shared mapping")
struct NDJSONFileSourceMappingTests {
    /// A file of `lines` lines in the working directory of this test run.
    static func file(_ name: String, lines: Int) throws -> String {
        let path = "/tmp/runnel-source-mapping-\(getpid())-\(name).ndjson"
        let text = (1...lines).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: 150 + $0 % 50))\"}" }.joined(separator: "\n") + "\n"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        _ = text.utf8.withContiguousStorageIfAvailable { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return path
    }

    @Test("the readers of one job share one mapping, read every line once with its number, and give back what all are past")
    func readersShareOneMapping() throws {
        // Over 16 MiB: more than two of the mapping's 8 MiB granules.
        let path = try Self.file("shared", lines: 100_000)
        defer { unlink(path) }
        let source = NDJSONFileSource(path: path, blockSize: 64 << 10) { NumberedLines() }
        let shared = SharedStepState()
        let readers = try (0..<2).map { try source.createReader(subtask: $0, parallelism: 2, shared: shared) }
        let mapping = try #require(readers[0].file.mapping)
        #expect(readers[1].file.mapping === mapping)
        #expect(mapping.readers == 2)
        let decoder = NumberedLines()
        var lines: [String] = []
        var turn = 0
        while !readers.allSatisfy(\.file.isFinished) {
            _ = try readers[turn % 2].file.readLines(upTo: 500) { if let l = decoder.decode($0) { lines.append(l) } }
            turn += 1
        }
        #expect(lines.count == 100_000)
        #expect(Set(lines).count == 100_000)
        #expect(lines.allSatisfy { l in
            let number = l.prefix { $0 != ":" }
            return l.contains("{\"n\":\(number),")
        })
        // Everything read by both: given back up to the last whole granule of the file.
        #expect(mapping.releasedBelow >= 16 << 20)
        #expect(mapping.releasedBelow == mapping.size / Int64(mapping.releaseGranule) * Int64(mapping.releaseGranule))
    }

    @Test("a file whose size reads as 0, or that is not a regular file, is read without a mapping, as before")
    func unmappableFilesAreRead() throws {
        #expect(NDJSONFileSource<NumberedLines>.mapping(of: "/proc/self/mountinfo", readers: 1) == nil)
        let source = NDJSONFileSource(path: "/proc/self/mountinfo") { NumberedLines() }
        let reader = try source.createReader(subtask: 0, parallelism: 1)
        #expect(reader.file.mapping == nil)
        var count = 0
        while try reader.file.readLines(upTo: 100, { _ in count += 1 }) > 0 {}
        #expect(count > 0, "the lines of a /proc file")

        let empty = try Self.file("empty", lines: 1)
        defer { unlink(empty) }
        #expect(truncate(empty, 0) == 0)
        #expect(NDJSONFileSource<NumberedLines>.mapping(of: empty, readers: 1) == nil)
        let regular = try Self.file("regular", lines: 3)
        defer { unlink(regular) }
        #expect(NDJSONFileSource<NumberedLines>.mapping(of: regular, readers: 1) != nil)
    }
}
