import Foundation
@testable import RunnelJSON
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite("NDJSONFileMapping")
struct NDJSONFileMappingTests {
    static let page = Int(sysconf(Int32(_SC_PAGESIZE)))

    /// Every line `reader` yields, each with the position the reader reports after it.
    func linesAndPositions(_ reader: NDJSONFileReader) throws -> [(ExpectedLine, NDJSONPosition)] {
        var result: [(ExpectedLine, NDJSONPosition)] = []
        while let line = try reader.nextLine() {
            result.append((ExpectedLine(line), reader.position))
        }
        return result
    }

    @Test("a reader through a mapping yields the lines, numbers and positions a reading one does, for any range and resume point")
    func mappedReaderMatchesReading() throws {
        var random = SeededGenerator(seed: 313)
        for round in 0..<6 {
            let content = randomContent(lines: 150, maxLength: 100, finalNewline: round % 2 == 0, using: &random)
            let file = try TemporaryFile(contents: content)
            let mapping = try NDJSONFileMapping(path: file.path, readers: 1)
            let size = Int64(content.count)
            #expect(mapping.size == size)
            var ranges: [Range<Int64>] = [0..<Int64.max, 0..<size, 1..<size, (size - 1)..<size, size..<(size + 10),
                                              (size + 1)..<(size + 10), (size + 5)..<(size + 10)]
            for _ in 0..<20 {
                let a = Int64.random(in: 0...size, using: &random), b = Int64.random(in: 0...size, using: &random)
                ranges.append(min(a, b)..<max(a, b))
            }
            for range in ranges {
                let reading = try linesAndPositions(NDJSONFileReader(path: file.path, range: range, chunkSize: 32))
                let mapped = try linesAndPositions(NDJSONFileReader(path: file.path, range: range, mapping: mapping))
                #expect(mapped.map(\.0) == reading.map(\.0), "round \(round), range \(range)")
                #expect(mapped.map(\.1) == reading.map(\.1), "round \(round), range \(range)")
                // Resumed at every third reported position (and restarted there), the rest is the same.
                for (i, (_, position)) in reading.enumerated() where i % 3 == 0 {
                    let resumed = try NDJSONFileReader(path: file.path, range: range, resumeAt: position.offset,
                                                       lineNumber: position.lineNumber, mapping: mapping)
                    #expect(resumed.position == position)
                    let rest = try linesAndPositions(resumed)
                    #expect(rest.map(\.0) == reading[(i + 1)...].map(\.0))
                    #expect(rest.map(\.1) == reading[(i + 1)...].map(\.1))
                }
            }
            // The expected lines of the whole file, by the model.
            #expect(try readAll(NDJSONFileReader(path: file.path, mapping: mapping)) == ExpectedLine.lines(of: content))
        }
    }

    @Test("a line is parsed in place exactly when 64 mapped bytes follow it, else from a copy: line ends at every distance from the end of the last page",
          arguments: [-66, -65, -64, -63, -52, -51, -2, -1, 0, 1, 63])
    func padsTheLastLines(endOffset: Int) throws {
        // Files two pages long give or take `endOffset` bytes, in two forms: the last line
        // ends the file without a newline; or a line whose newline is at that distance is
        // followed by one more short line. Filler lines of varying lengths before them.
        let size = 2 * Self.page + endOffset
        for finalLine in [false, true] {
            var text = ""
            var n = 0
            // Where the line of interest ends (with a final line after it: its newline's offset).
            let end = size - (finalLine ? 12 : 0)
            while text.utf8.count < end - 60 {
                text += "{\"v\":\(n % 10)}" + String(repeating: " ", count: n % 5) + "\n"
                n += 1
            }
            text += "{\"v\":" + String(repeating: " ", count: end - 7 - text.utf8.count) + "7}"
            if finalLine { text += "\n{\"v\":8}    " }
            #expect(text.utf8.count == size)
            let file = try TemporaryFile(text)
            let mapping = try NDJSONFileMapping(path: file.path, readers: 1)
            let mapped = (text.utf8.count + Self.page - 1) / Self.page * Self.page
            let keys = JSONKeySet(keys: ["v"])
            let parser = JSONLineParser()
            var values: [Int64] = []
            try NDJSONFileReader(path: file.path, mapping: mapping).forEachLine { line in
                let end = Int(line.offset) + line.bytes.count
                #expect(mapping.contains(line.bytes.baseAddress) == (end + 64 <= mapped), "line at \(line.offset), ending at \(end)")
                #expect(parser.parse(line.bytes, keys: keys) == .ok)
                values.append(parser[0].int64Value ?? -1)
            }
            #expect(values.suffix(finalLine ? 2 : 1) == (finalLine ? [7, 8] : [7]))
            #expect(values.count == ExpectedLine.lines(of: Array(text.utf8)).count)
        }
    }

    @Test("pages given back leave the process: the mapping's resident size falls to nothing")
    func givesPagesBack() throws {
        let file = try TemporaryFile(String(repeating: "0123456789abcde\n", count: 64 * Self.page / 16))
        let mapping = try NDJSONFileMapping(path: file.path, readers: 1, releaseGranule: Self.page)
        let base = try #require(mapping.baseAddress)
        #expect(mapping.newlines(in: 0..<mapping.size) == Int64(64 * Self.page / 16))  // touches every page
        let before = try #require(Self.residentKilobytes(of: base))
        #expect(before >= 48 * Self.page / 1024, "\(before) kB resident after reading every page")
        mapping.advance(reader: 0, to: .max)
        let after = try #require(Self.residentKilobytes(of: base))
        #expect(after == 0, "\(after) kB still resident")
    }

    /// The resident size of the mapping that starts at `base`, from `/proc/self/smaps`.
    static func residentKilobytes(of base: UnsafeRawPointer) -> Int? {
        // Read with `read` until it returns 0: /proc files report a size of 0.
        let fd = open("/proc/self/smaps", O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += chunk[..<n]
        }
        let smaps = String(decoding: bytes, as: UTF8.self)
        let start = String(UInt(bitPattern: base), radix: 16)
        var inMapping = false
        for line in smaps.split(separator: "\n") {
            if let dash = line.firstIndex(of: "-"), line[..<dash].allSatisfy(\.isHexDigit) {
                inMapping = line[..<dash].drop(while: { $0 == "0" }) == start
            } else if inMapping, line.hasPrefix("Rss:") {
                return Int(line.dropFirst(4).split(separator: " ").first ?? "")
            }
        }
        return nil
    }

    @Test("only regular files are mapped: a pipe is refused (without waiting for a writer)")
    func refusesPipes() throws {
        let path = "/tmp/runnel-mapping-fifo-\(getpid())"
        #expect(mkfifo(path, 0o600) == 0)
        defer { unlink(path) }
        #expect(throws: FileIOError.self) { _ = try NDJSONFileMapping(path: path, readers: 1) }
    }

    @Test("an empty file maps to no lines")
    func emptyFile() throws {
        let file = try TemporaryFile("")
        let mapping = try NDJSONFileMapping(path: file.path, readers: 2)
        #expect(mapping.size == 0)
        #expect(try readAll(NDJSONFileReader(path: file.path, mapping: mapping)).isEmpty)
        #expect(mapping.newlines(in: 0..<100) == 0 && mapping.firstNewline(atOrAfter: 0) == nil)
        mapping.advance(reader: 0, to: .max)
        mapping.advance(reader: 1, to: .max)
        #expect(mapping.releasedBelow == 0)
    }

    @Test("pages are given back in whole granules below every reader's mark, never above")
    func releasesBehindAllReaders() throws {
        let file = try TemporaryFile(String(repeating: "x\n", count: 5 * Self.page))
        let mapping = try NDJSONFileMapping(path: file.path, readers: 2, releaseGranule: Self.page)
        let page = Int64(Self.page)
        mapping.advance(reader: 0, to: 3 * page + 5)
        #expect(mapping.releasedBelow == 0, "reader 1 is still at the start")
        mapping.advance(reader: 1, to: page + 1)
        #expect(mapping.releasedBelow == page)
        mapping.advance(reader: 1, to: 0)
        #expect(mapping.releasedBelow == page, "marks only move forward")
        mapping.advance(reader: 1, to: .max)
        #expect(mapping.releasedBelow == 3 * page)
        mapping.advance(reader: 0, to: .max)
        #expect(mapping.releasedBelow == 10 * page, "at most the mapped length")
        // Given-back pages read again from the file.
        #expect(mapping.newlines(in: 0..<(10 * page)) == 5 * page)
    }

    @Test("a line start's number follows the recorded points and spans, and only what they leave out is counted")
    func lineNumbersFollowPointsAndSpans() throws {
        // Lines "0\n", "1\n", …: line k (1-based) starts at offset 2 (k - 1).
        let file = try TemporaryFile((0..<100).map { "\($0 % 10)\n" }.joined())
        let mapping = try NDJSONFileMapping(path: file.path, readers: 3)
        #expect(mapping.lineNumber(atLineStart: 0) == 1)
        #expect(mapping.lineNumber(atLineStart: 120) == 61)
        #expect(mapping.bytesCounted == 120)
        // What was counted is kept: asked again, nothing more is counted, also for an earlier line.
        #expect(mapping.lineNumber(atLineStart: 120) == 61)
        #expect(mapping.lineNumber(at: 120, after: NDJSONPosition(offset: 40, lineNumber: 21)) == 61)
        #expect(mapping.bytesCounted == 120)
        // Deliberately wrong facts show which ones were used: from the latest point at or
        // before the target, along the spans, counting the stretches between.
        mapping.record(NDJSONPosition(offset: 130, lineNumber: 5_000))
        mapping.record(spanFrom: 140, to: 160, lines: 1_000)
        #expect(mapping.lineNumber(atLineStart: 170) == 5_000 + 5 + 1_000 + 5)
        #expect(mapping.bytesCounted == 120 + 10 + 10)
        // A span that reaches past the target is not followed: counted from its start.
        #expect(mapping.lineNumber(atLineStart: 150) == 5_005 + 5)
        #expect(mapping.bytesCounted == 140 + 10)
        // A point before the target's latest one is not used; earlier targets still are exact.
        #expect(mapping.lineNumber(atLineStart: 124) == 63)
        #expect(mapping.bytesCounted == 150 + 4)

        // Of two spans from one start the longer is kept; they are followed without counting.
        let spans = try NDJSONFileMapping(path: file.path, readers: 2)
        spans.record(spanFrom: 0, to: 20, lines: 10)
        spans.record(spanFrom: 0, to: 40, lines: 20)
        spans.record(spanFrom: 0, to: 30, lines: 15)
        spans.record(spanFrom: 40, to: 40, lines: 0)
        spans.record(spanFrom: 40, to: 200, lines: 80)
        #expect(spans.lineNumber(atLineStart: 40) == 21)
        #expect(spans.lineNumber(atLineStart: 200) == 101)
        #expect(spans.lineNumber(atLineStart: 10_000) == 101)
        #expect(spans.bytesCounted == 0)
        // Told through `advance`, under the same lock as the reader's mark.
        let told = try NDJSONFileMapping(path: file.path, readers: 2)
        told.advance(reader: 0, to: 100, span: (start: 0, end: 100, lines: 50))
        #expect(told.lineNumber(atLineStart: 100) == 51)
        #expect(told.bytesCounted == 0)
    }

    @Test("past the end of the file, the number is one more than the lines, with or without a last newline")
    func lineNumbersPastTheEnd() throws {
        for (text, lines) in [("a\nbb\nc", 3), ("a\nbb\nc\n", 3), ("\n", 1), ("x", 1)] {
            let file = try TemporaryFile(text)
            let size = Int64(text.utf8.count)
            for target in [size, size + 1, 1 << 20] {
                let mapping = try NDJSONFileMapping(path: file.path, readers: 2)
                #expect(mapping.lineNumber(atLineStart: target) == Int64(lines) + 1, "\(text.debugDescription) at \(target)")
            }
            // Counted from a point part-way, and from a span that ends at the end.
            let mapping = try NDJSONFileMapping(path: file.path, readers: 2)
            mapping.record(spanFrom: 0, to: size, lines: Int64(lines))
            #expect(mapping.lineNumber(atLineStart: size + 5) == Int64(lines) + 1)
            #expect(mapping.bytesCounted == 0)
        }
    }

    @Test("numbers resolved from random true points and spans match the file's, whatever was told")
    func lineNumbersFromRandomFacts() throws {
        var random = SeededGenerator(seed: 4_411)
        for round in 0..<6 {
            let (file, all) = try randomFile(lines: 300, maxLength: 60, finalNewline: round % 2 == 0, using: &random)
            let size = Int64(try Data(contentsOf: URL(fileURLWithPath: file.path)).count)
            // Line k (0-based) starts at starts[k]; the line after the last at the size.
            let starts = all.map(\.offset) + [size]
            func number(at offset: Int64) -> Int64 { Int64((starts.firstIndex { $0 >= offset } ?? all.count) + 1) }
            let mapping = try NDJSONFileMapping(path: file.path, readers: 3)
            for _ in 0..<400 {
                let a = Int.random(in: 0..<starts.count, using: &random)
                switch Int.random(in: 0..<4, using: &random) {
                case 0:
                    mapping.record(NDJSONPosition(offset: starts[a], lineNumber: Int64(a + 1)))
                case 1:
                    let b = Int.random(in: a..<starts.count, using: &random)
                    mapping.record(spanFrom: starts[a], to: starts[b], lines: Int64(b - a))
                default:
                    let target = Bool.random(using: &random) ? starts[a] : size + Int64.random(in: 0...3, using: &random)
                    #expect(mapping.lineNumber(atLineStart: target) == number(at: target), "round \(round), target \(target)")
                }
            }
        }
    }

    /// `readers` readers of the file at `path` sharing a queue of blocks and one mapping
    /// (which gives pages back a page at a time).
    func sharedGroup(path: String, readers: Int, blockSize: Int64) throws -> (NDJSONFileMapping, [NDJSONStripeReader]) {
        let queue = try NDJSONBlockQueue(path: path, blockSize: blockSize, readers: readers)
        let mapping = try NDJSONFileMapping(path: path, readers: readers, releaseGranule: Self.page)
        let group = try (0..<readers).map {
            try NDJSONStripeReader(path: path, reader: $0, of: readers, blockSize: blockSize, chunkSize: 128, queue: queue,
                                   mapping: mapping)
        }
        return (mapping, group)
    }

    @Test("readers sharing a queue and a mapping yield every line once with its number, and release only what all are past")
    func sharedReaders() throws {
        var random = SeededGenerator(seed: 719)
        for round in 0..<3 {
            let (file, all) = try randomFile(lines: 600, maxLength: 120, finalNewline: round != 1, using: &random)
            for readers in [1, 2, 3] {
                for blockSize: Int64 in [64, 700, 5000] {
                    let (mapping, group) = try sharedGroup(path: file.path, readers: readers, blockSize: blockSize)
                    var seen: [ExpectedLine] = []
                    while !group.allSatisfy(\.isFinished) {
                        let k = Int.random(in: 0..<readers, using: &random)
                        _ = try group[k].readLines(upTo: Int.random(in: 1...30, using: &random)) {
                            seen.append(ExpectedLine($0))
                        }
                        let lowest = group.filter { !$0.isFinished }.map(\.position.line.offset).min() ?? .max
                        #expect(mapping.releasedBelow <= lowest)
                    }
                    #expect(seen.sorted { $0.offset < $1.offset } == all, "\(readers) readers, blocks of \(blockSize)")
                    #expect(mapping.releasedBelow >= mapping.size / Int64(Self.page) * Int64(Self.page))
                }
            }
        }
    }

    @Test("readers sharing a mapping number their blocks later: kept numbers resolve exactly, at any time, and afterward with nothing counted")
    func sharedReadersNumberLater() throws {
        var random = SeededGenerator(seed: 5_303)
        for round in 0..<4 {
            let (file, all) = try randomFile(lines: 500, maxLength: 110, finalNewline: round != 1, using: &random)
            let truth = Dictionary(uniqueKeysWithValues: all.map { ($0.offset, $0.lineNumber) })
            for readers in [1, 2, 3] {
                for blockSize: Int64 in [50, 700, 4096] {
                    let (mapping, group) = try sharedGroup(path: file.path, readers: readers, blockSize: blockSize)
                    // Round 0 resolves nothing until the end; the others resolve a random
                    // share of the numbers as they are read (as a dead-letter sink does).
                    let resolveNow = round == 0 ? 0.0 : 0.1
                    var kept: [(offset: Int64, number: NDJSONLineNumber)] = []
                    while !group.allSatisfy(\.isFinished) {
                        let k = Int.random(in: 0..<readers, using: &random)
                        _ = try group[k].readLines(upTo: Int.random(in: 1...30, using: &random)) { line in
                            if Double.random(in: 0..<1, using: &random) < resolveNow {
                                #expect(line.lineNumber == truth[line.offset], "resolved while reading")
                            }
                            kept.append((line.offset, line.number))
                        }
                    }
                    let countedWhileReading = mapping.bytesCounted
                    #expect(kept.count == all.count)
                    for (offset, number) in kept.shuffled(using: &random) {
                        #expect(number.value == truth[offset], "\(readers) readers, blocks of \(blockSize), line at \(offset)")
                    }
                    #expect(mapping.bytesCounted == countedWhileReading, "once every reader is done, nothing is counted")
                    if round == 0 { #expect(countedWhileReading == 0) }
                }
            }
        }
    }

    @Test("positions at and past the end of the file number the line after the last, with or without a last newline, through a mapping or not")
    func positionsAtTheEnd() throws {
        for text in ["a\nbbbbbbbbbb", "a\nbbbbbbbbbb\n", "a\r\nbb\ncccccccccccccccc", "x"] {
            let content = Array(text.utf8)
            let file = try TemporaryFile(contents: content)
            let all = ExpectedLine.lines(of: content)
            let size = Int64(content.count)
            func number(at offset: Int64) -> Int64 { 1 + Int64(all.filter { $0.offset < offset }.count) }
            for mapped in [false, true] {
                for stripes in [2, 3] {
                    let mapping = mapped ? try NDJSONFileMapping(path: file.path, readers: stripes) : nil
                    let group = try (0..<stripes).map {
                        try NDJSONStripeReader(path: file.path, stripe: $0, of: stripes, blockSize: 4, chunkSize: 64, mapping: mapping)
                    }
                    // Where each starts, and where each ends, whatever order they read in.
                    for reader in group {
                        #expect(reader.position.line.lineNumber == number(at: reader.position.line.offset), "\(text.debugDescription)")
                    }
                    var seen: [ExpectedLine] = []
                    for reader in group.reversed() { while try reader.readLines(upTo: 3, { seen.append(ExpectedLine($0)) }) > 0 {} }
                    #expect(seen.sorted { $0.offset < $1.offset } == all)
                    // A work list of blocks past the end, and one resumed at the end (one reader,
                    // with a mapping of its own when mapped).
                    let own = mapped ? try NDJSONFileMapping(path: file.path, readers: 1) : nil
                    let pastEnd = try NDJSONStripeReader(path: file.path, stripe: 0, of: 1, blockSize: 4, chunkSize: 64,
                                                         work: [.init(block: Int(size / 4) + 2)], mapping: own)
                    #expect(pastEnd.position.line.lineNumber == number(at: size))
                    let resumed = try NDJSONStripeReader(
                        path: file.path, stripe: 0, of: 1, blockSize: 4, chunkSize: 64,
                        work: [.init(block: Int((size - 1) / 4), resume: NDJSONPosition(offset: size, lineNumber: number(at: size)))],
                        mapping: own)
                    #expect(try resumed.readLines(upTo: 5) { _ in } == 0)
                    #expect(resumed.remainingWork.allSatisfy { $0.resume.map { $0.lineNumber == number(at: $0.offset) } ?? true })
                    if let mapping { #expect(mapping.lineNumber(atLineStart: size) == number(at: size)) }
                }
            }
        }
    }

    @Test("a file reader numbers from its first line start, and when restarted to number later, through the mapping")
    func fileReaderNumbersLater() throws {
        var random = SeededGenerator(seed: 3_319)
        let (file, all) = try randomFile(lines: 200, maxLength: 50, finalNewline: true, using: &random)
        let mapping = try NDJSONFileMapping(path: file.path, readers: 1)
        for mapped in [false, true] {
            // A range that starts inside a line: numbering starts at the next line start.
            let j = all.firstIndex { $0.bytes.count >= 2 }!
            let next = all[j + 1]
            let reader = try NDJSONFileReader(path: file.path, range: (all[j].offset + 1)..<Int64.max,
                                              firstLineNumber: next.lineNumber, mapping: mapped ? mapping : nil)
            let span = reader.numberedSpan
            #expect(span.start == next.offset && span.end == next.offset && span.lines == 0)
            _ = try reader.readLines(upTo: 4) { _ in }
            #expect(reader.numberedSpan.start == next.offset && reader.numberedSpan.lines == 4)
            #expect(reader.position == NDJSONPosition(offset: all[j + 5].offset, lineNumber: next.lineNumber + 4))
        }
        let reader = try NDJSONFileReader(path: file.path, mapping: mapping)
        for _ in 0..<20 {
            let first = Int.random(in: 0..<all.count, using: &random)
            reader.restartNumberingLater(range: all[first].offset..<Int64.max, at: all[first].offset)
            #expect(reader.position == NDJSONPosition(offset: all[first].offset, lineNumber: all[first].lineNumber))
            var numbers: [NDJSONLineNumber] = []
            let read = try reader.readLines(upTo: Int.random(in: 1...30, using: &random)) { numbers.append($0.number) }
            #expect(numbers.map(\.value) == all[first..<(first + read)].map(\.lineNumber))
            #expect(reader.numberedSpan.start == all[first].offset && reader.numberedSpan.lines == Int64(read))
            #expect(reader.position.lineNumber == all[first].lineNumber + Int64(read))
        }
    }

    @Test("two reader threads and a mapping: numbers resolved while both read, and after, are exact")
    func threadsResolveWhileReading() throws {
        var random = SeededGenerator(seed: 8_081)
        let (file, all) = try randomFile(lines: 20_000, maxLength: 100, finalNewline: true, using: &random)
        let truth = Dictionary(uniqueKeysWithValues: all.map { ($0.offset, $0.lineNumber) })
        for blockSize: Int64 in [512, 4096, 65_536] {
            let queue = try NDJSONBlockQueue(path: file.path, blockSize: blockSize, readers: 2)
            let mapping = try NDJSONFileMapping(path: file.path, readers: 2)
            let kept = Mutex<[(Int64, NDJSONLineNumber)]>([])
            let wrong = Mutex(0)
            let path = file.path
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                var mine: [(Int64, NDJSONLineNumber)] = []
                var misses = 0
                var pick = SeededGenerator(seed: UInt64(k + 1))
                do {
                    let reader = try NDJSONStripeReader(path: path, reader: k, of: 2, blockSize: blockSize, chunkSize: 4096,
                                                        queue: queue, mapping: mapping)
                    while !reader.isFinished {
                        _ = try reader.readLines(upTo: 64) { line in
                            // A dead-letter sink resolves some at once, while the other reads.
                            if pick.next() % 20 == 0 && line.lineNumber != truth[line.offset] { misses += 1 }
                            mine.append((line.offset, line.number))
                        }
                    }
                } catch {
                    misses += 1_000_000
                }
                kept.withLock { $0 += mine }
                wrong.withLock { $0 += misses }
            }
            #expect(wrong.withLock { $0 } == 0, "blocks of \(blockSize)")
            let numbers = kept.withLock { $0 }
            #expect(numbers.count == all.count)
            #expect(numbers.allSatisfy { truth[$0.0] == $0.1.value }, "blocks of \(blockSize)")
        }
    }

    @Test("a number resolved later equals, hashes and orders as the number it resolves to")
    func lineNumbersCompareByValue() throws {
        let file = try TemporaryFile((0..<50).map { "\($0 % 10)\n" }.joined())
        let mapping = try NDJSONFileMapping(path: file.path, readers: 2)
        let reader = try NDJSONFileReader(path: file.path, mapping: mapping)
        reader.restartNumberingLater(range: 20..<Int64.max, at: 20)
        var later: [NDJSONLineNumber] = []
        _ = try reader.readLines(upTo: 3) { later.append($0.number) }
        #expect(later == [NDJSONLineNumber(11), NDJSONLineNumber(12), NDJSONLineNumber(13)])
        #expect(Set(later + [NDJSONLineNumber(12)]).count == 3)
        #expect(later[0] < NDJSONLineNumber(12) && NDJSONLineNumber(12) < later[2])
        #expect(later.map(\.description) == ["11", "12", "13"])
    }

    @Test("fixed stripes through one mapping, and readers restored over work lists, yield every line once with its number")
    func stripesAndWorkLists() throws {
        var random = SeededGenerator(seed: 907)
        let (file, all) = try randomFile(lines: 400, maxLength: 100, finalNewline: true, using: &random)
        for stripes in [1, 2, 3] {
            let mapping = try NDJSONFileMapping(path: file.path, readers: stripes, releaseGranule: Self.page)
            var seen: [ExpectedLine] = []
            var states: [[NDJSONStripeReader.WorkItem]] = []
            for k in 0..<stripes {
                let reader = try NDJSONStripeReader(path: file.path, stripe: k, of: stripes, blockSize: 500, chunkSize: 64,
                                                    mapping: mapping)
                _ = try reader.readLines(upTo: 17 + k) {
                    seen.append(ExpectedLine($0))
                }
                states.append(reader.remainingWork)
            }
            // Taken over at another parallelism, each reader with a mapping of its own.
            let to = stripes % 3 + 1
            for k in 0..<to {
                let work = NDJSONStripeReader.work(forStripe: k, of: to, from: states)
                let reader = try NDJSONStripeReader(path: file.path, stripe: k, of: to, blockSize: 500, chunkSize: 64, work: work,
                                                    mapping: NDJSONFileMapping(path: file.path, readers: 1))
                while try reader.readLines(upTo: 13, {
                    seen.append(ExpectedLine($0))
                }) > 0 {}
            }
            #expect(seen.sorted { $0.offset < $1.offset } == all, "\(stripes) → \(to) stripes")
        }
    }

    @Test("stripes whose blocks start past the end of a short file read nothing, and the others every line")
    func shortFile() throws {
        let text = "{\"a\":1}\n\n{\"b\":2}\r\nlast"
        let file = try TemporaryFile(text)
        for stripes in [2, 5, 9] {
            let mapping = try NDJSONFileMapping(path: file.path, readers: stripes)
            var seen: [ExpectedLine] = []
            for k in 0..<stripes {
                let reader = try NDJSONStripeReader(path: file.path, stripe: k, of: stripes, blockSize: 4, chunkSize: 16,
                                                    mapping: mapping)
                try reader.readLines(upTo: 100) {
                    seen.append(ExpectedLine($0))
                }
                #expect(reader.isFinished)
            }
            #expect(seen.sorted { $0.offset < $1.offset } == ExpectedLine.lines(of: Array(text.utf8)), "\(stripes) stripes")
        }
    }

    @Test("a missing file throws FileIOError")
    func missingFile() {
        #expect(throws: FileIOError.self) { _ = try NDJSONFileMapping(path: "/nonexistent/runnel/file.ndjson", readers: 1) }
    }
}
