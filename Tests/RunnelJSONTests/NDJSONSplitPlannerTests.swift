import RunnelJSON
import Testing

@Suite("NDJSONSplitPlanner")
struct NDJSONSplitPlannerTests {
    @Test("splits tile the file at line starts and know their first line number")
    func tilesAtLineStarts() throws {
        var random = SeededGenerator(seed: 11)
        for round in 0..<5 {
            let content = randomContent(lines: 400, maxLength: 150, finalNewline: round % 2 == 1, using: &random)
            let file = try TemporaryFile(contents: content)
            let expected = ExpectedLine.lines(of: content)
            let lineAt = Dictionary(uniqueKeysWithValues: expected.map { ($0.offset, $0.lineNumber) })
            for n in 1...9 {
                let splits = try NDJSONSplitPlanner.plan(path: file.path, splits: n)
                #expect(splits.count == n)
                #expect(splits.first?.start == 0)
                #expect(splits.last?.end == Int64(content.count))
                for k in 0..<n {
                    let split = splits[k]
                    if k > 0 { #expect(split.start == splits[k - 1].end) }
                    if split.start < Int64(content.count) {
                        #expect(lineAt[split.start] == split.firstLineNumber, "split \(k) of \(n)")
                    }
                    // Boundaries move forward only: split k starts at or after its nominal point.
                    let nominal = Int64(content.count) * Int64(k) / Int64(n)
                    #expect(split.start >= nominal)
                }
                // Roughly equal: no split is much larger than its share plus one long line.
                let share = Int64(content.count) / Int64(n)
                #expect(splits.allSatisfy { $0.end - $0.start <= share + 700 })
            }
        }
    }

    @Test("small and degenerate files give empty splits")
    func degenerate() throws {
        let empty = try TemporaryFile("")
        let none = try NDJSONSplitPlanner.plan(path: empty.path, splits: 4)
        #expect(none == Array(repeating: FileSplit(start: 0, end: 0, firstLineNumber: 1), count: 4))

        let one = try TemporaryFile("{\"only\":true}\n")
        let splits = try NDJSONSplitPlanner.plan(path: one.path, splits: 3)
        #expect(splits[0] == FileSplit(start: 0, end: 14, firstLineNumber: 1))
        #expect(splits[1].isEmpty && splits[2].isEmpty)
        #expect(splits.allSatisfy { $0.end <= 14 })

        let noNewline = try TemporaryFile("abc")
        let tail = try NDJSONSplitPlanner.plan(path: noNewline.path, splits: 2)
        #expect(tail == [FileSplit(start: 0, end: 3, firstLineNumber: 1), FileSplit(start: 3, end: 3, firstLineNumber: 1)])
    }

    @Test("line numbers of later splits count every earlier newline")
    func lineNumbers() throws {
        let text = (1...1000).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let file = try TemporaryFile(text)
        let splits = try NDJSONSplitPlanner.plan(path: file.path, splits: 4)
        for split in splits where !split.isEmpty {
            let reader = try NDJSONFileReader(path: file.path, split: split)
            let first = try #require(try reader.nextLine())
            #expect(String(decoding: first.bytes, as: UTF8.self) == "line \(split.firstLineNumber)")
        }
    }

    @Test("a missing file throws")
    func missing() {
        #expect(throws: FileIOError.self) {
            _ = try NDJSONSplitPlanner.plan(path: "/nonexistent/runnel.ndjson", splits: 2)
        }
    }
}
