import RunnelJSON
import Testing

/// One line as the tests expect it: content bytes, start offset, 1-based number.
struct ExpectedLine: Equatable, CustomStringConvertible {
    var bytes: [UInt8]
    var offset: Int64
    var lineNumber: Int64

    var description: String { "#\(lineNumber)@\(offset):\(bytes.count)B" }

    /// A line as a reader handed it out (copied: the view is valid only during its call).
    init(_ line: NDJSONLine) {
        self.init(bytes: Array(line.bytes), offset: line.offset, lineNumber: line.lineNumber)
    }

    init(bytes: [UInt8], offset: Int64, lineNumber: Int64) {
        self.bytes = bytes
        self.offset = offset
        self.lineNumber = lineNumber
    }

    /// The model of line splitting: segments between "\n"s, no segment after a
    /// final "\n", one trailing "\r" removed per line.
    static func lines(of content: [UInt8]) -> [ExpectedLine] {
        var result: [ExpectedLine] = []
        var start = 0
        var number: Int64 = 1
        while start < content.count {
            var end = start
            while end < content.count && content[end] != 0x0A { end += 1 }
            var stop = end
            if stop > start && content[stop - 1] == 0x0D { stop -= 1 }
            result.append(ExpectedLine(bytes: Array(content[start..<stop]), offset: Int64(start), lineNumber: number))
            number += 1
            start = end + 1
        }
        return result
    }
}

/// Random NDJSON-ish content: random lengths (some far longer than small
/// chunks), CRLF endings, empty lines, optionally no final newline.
func randomContent(lines: Int, maxLength: Int, finalNewline: Bool, using random: inout SeededGenerator) -> [UInt8] {
    var content: [UInt8] = []
    for index in 0..<lines {
        let roll = Int.random(in: 0..<10, using: &random)
        let length = roll == 0 ? 0 : (roll == 1 ? Int.random(in: 0...(maxLength * 4), using: &random)
                                                : Int.random(in: 0...maxLength, using: &random))
        for _ in 0..<length {
            content.append(UInt8.random(in: 0x20...0x7E, using: &random))
        }
        if Int.random(in: 0..<4, using: &random) == 0 { content.append(0x0D) }
        if index < lines - 1 || finalNewline { content.append(0x0A) }
    }
    return content
}

func readAll(_ reader: NDJSONFileReader) throws -> [ExpectedLine] {
    var lines: [ExpectedLine] = []
    try reader.forEachLine { line in
        lines.append(ExpectedLine(line))
    }
    return lines
}

@Suite("NDJSONFileReader")
struct NDJSONFileReaderTests {
    @Test("whole file: every line, CRLF stripped, empty lines kept, last line without newline")
    func wholeFile() throws {
        let text = "{\"a\":1}\n\r\n\n{\"b\":2}\r\nplain\rmid\nlast"
        let file = try TemporaryFile(text)
        let reader = try NDJSONFileReader(path: file.path, chunkSize: 4)
        let lines = try readAll(reader)
        #expect(lines == ExpectedLine.lines(of: Array(text.utf8)))
        #expect(lines.map { String(decoding: $0.bytes, as: UTF8.self) } == ["{\"a\":1}", "", "", "{\"b\":2}", "plain\rmid", "last"])
        #expect(reader.isFinished)
        #expect(reader.position == NDJSONPosition(offset: Int64(text.utf8.count), lineNumber: 7))
    }

    @Test("empty file and a file of one newline")
    func degenerateFiles() throws {
        let empty = try TemporaryFile("")
        #expect(try readAll(NDJSONFileReader(path: empty.path)).isEmpty)
        let newline = try TemporaryFile("\n")
        #expect(try readAll(NDJSONFileReader(path: newline.path)) == [ExpectedLine(bytes: [], offset: 0, lineNumber: 1)])
    }

    @Test("arbitrary (unaligned) ranges still cover every line exactly once")
    func unalignedRanges() throws {
        var random = SeededGenerator(seed: 99)
        for round in 0..<8 {
            let content = randomContent(lines: 120, maxLength: 90, finalNewline: round % 3 != 0, using: &random)
            let file = try TemporaryFile(contents: content)
            let expected = ExpectedLine.lines(of: content)
            for n in 1...7 {
                // Random cut points, including ones that land on newlines and line starts.
                var cuts = (0..<(n - 1)).map { _ in Int64.random(in: 0...Int64(content.count), using: &random) }
                cuts.sort()
                let bounds = [0] + cuts + [Int64(content.count)]
                var seen: [ExpectedLine] = []
                for k in 0..<n {
                    let range = bounds[k]..<bounds[k + 1]
                    // The first line of the range is the first one starting at or after its lower bound.
                    let first = expected.first { $0.offset >= range.lowerBound }?.lineNumber ?? Int64(expected.count + 1)
                    let reader = try NDJSONFileReader(path: file.path, range: range, firstLineNumber: first,
                                                      chunkSize: Int.random(in: 8...64, using: &random))
                    let lines = try readAll(reader)
                    #expect(lines.allSatisfy { range.contains($0.offset) })
                    seen += lines
                }
                #expect(seen == expected, "round \(round), cuts \(cuts)")
            }
        }
    }

    @Test("lines much longer than the chunk size")
    func longLines() throws {
        let long = String(repeating: "y", count: 10_000)
        let text = "short\n\(long)\r\n\(long)x\nend\n"
        let file = try TemporaryFile(text)
        let lines = try readAll(NDJSONFileReader(path: file.path, chunkSize: 64))
        #expect(lines == ExpectedLine.lines(of: Array(text.utf8)))
        #expect(lines[1].bytes.count == 10_000)
        #expect(lines[2].bytes.count == 10_001)
    }

    @Test("resume from a checkpointed position")
    func resume() throws {
        var random = SeededGenerator(seed: 1234)
        let content = randomContent(lines: 300, maxLength: 80, finalNewline: false, using: &random)
        let file = try TemporaryFile(contents: content)
        let expected = ExpectedLine.lines(of: content)
        for stopAfter in [0, 1, 57, 150, expected.count - 1, expected.count] {
            let reader = try NDJSONFileReader(path: file.path, chunkSize: 37)
            var seen: [ExpectedLine] = []
            for _ in 0..<stopAfter {
                let line = try #require(try reader.nextLine())
                seen.append(ExpectedLine(line))
            }
            let checkpoint = reader.position
            let resumed = try NDJSONFileReader(path: file.path, range: 0..<Int64(content.count),
                                               resumeAt: checkpoint.offset, lineNumber: checkpoint.lineNumber,
                                               chunkSize: 53)
            #expect(resumed.position == checkpoint)
            seen += try readAll(resumed)
            #expect(seen == expected, "stopped after \(stopAfter)")
        }
    }

    @Test("resume inside a range stops at the range's end")
    func resumeInsideRange() throws {
        var random = SeededGenerator(seed: 5)
        let content = randomContent(lines: 200, maxLength: 60, finalNewline: true, using: &random)
        let file = try TemporaryFile(contents: content)
        let expected = ExpectedLine.lines(of: content)
        let range = expected[60].offset..<expected[130].offset
        let reader = try NDJSONFileReader(path: file.path, range: range, firstLineNumber: expected[60].lineNumber, chunkSize: 29)
        _ = try reader.readLines(upTo: 10) { _ in }
        let position = reader.position
        let rest = try readAll(NDJSONFileReader(path: file.path, range: range, resumeAt: position.offset,
                                                lineNumber: position.lineNumber))
        let inRange = expected.filter { range.contains($0.offset) }
        #expect(rest == Array(inRange.dropFirst(10)))
        // A position at the range's end means the range is done.
        let done = try NDJSONFileReader(path: file.path, range: range, resumeAt: range.upperBound, lineNumber: 1)
        #expect(try done.nextLine() == nil)
    }

    @Test("readLines processes bounded batches; position tracks each line")
    func batches() throws {
        let text = (1...25).map { "{\"n\":\($0)}" }.joined(separator: "\n") + "\n"
        let file = try TemporaryFile(text)
        let reader = try NDJSONFileReader(path: file.path, chunkSize: 32)
        var total = 0
        var batches = 0
        while true {
            let handled = try reader.readLines(upTo: 10) { line in
                total += 1
                #expect(line.lineNumber == Int64(total))
            }
            if handled == 0 { break }
            batches += 1
            #expect(reader.position.lineNumber == Int64(total + 1))
        }
        #expect(total == 25)
        #expect(batches == 3)
    }

    @Test("lines are parseable in place (padding guaranteed by the buffer)")
    func parseInPlace() throws {
        let text = "{\"v\":1}\n{\"v\":2}\r\n{\"v\":3}"
        let file = try TemporaryFile(text)
        let keys = JSONKeySet(keys: ["v"])
        let parser = JSONLineParser()
        var values: [Int64] = []
        try NDJSONFileReader(path: file.path, chunkSize: 8).forEachLine { line in
            #expect(parser.parse(line.bytes, keys: keys) == .ok)
            values.append(parser[0].int64Value ?? -1)
        }
        #expect(values == [1, 2, 3])
    }

    @Test("a missing file throws FileIOError")
    func missingFile() {
        #expect(throws: FileIOError.self) {
            _ = try NDJSONFileReader(path: "/nonexistent/runnel/file.ndjson")
        }
    }
}
