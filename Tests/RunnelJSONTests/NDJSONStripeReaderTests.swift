import RunnelJSON
import Testing

@Suite("NDJSONStripeReader")
struct NDJSONStripeReaderTests {
    /// Every line of every stripe, with its offset and number.
    func read(path: String, stripes: Int, blockSize: Int64, chunkSize: Int, linesPerCall: Int = 7) throws -> [[ExpectedLine]] {
        try (0..<stripes).map { k in
            let reader = try NDJSONStripeReader(path: path, stripe: k, of: stripes, blockSize: blockSize, chunkSize: chunkSize)
            var lines: [ExpectedLine] = []
            while try reader.readLines(upTo: linesPerCall, { line in
                lines.append(ExpectedLine(bytes: Array(line.bytes), offset: line.offset, lineNumber: line.lineNumber))
            }) > 0 {}
            #expect(reader.isFinished)
            return lines
        }
    }

    @Test("stripes together yield every line once, with exact offsets and numbers, whatever the block size")
    func stripesTileTheFile() throws {
        var random = SeededGenerator(seed: 23)
        for round in 0..<4 {
            let content = randomContent(lines: 300, maxLength: 120, finalNewline: round % 2 == 0, using: &random)
            let file = try TemporaryFile(contents: content)
            let expected = ExpectedLine.lines(of: content)
            for stripes in [1, 2, 3, 5] {
                for blockSize: Int64 in [1, 7, 64, 500, 4096, 1 << 20] {
                    let perStripe = try read(path: file.path, stripes: stripes, blockSize: blockSize, chunkSize: 256)
                    let all = perStripe.flatMap { $0 }.sorted { $0.offset < $1.offset }
                    #expect(all == expected, "\(stripes) stripes, blocks of \(blockSize)")
                    // A stripe's lines come in file order, and each belongs to one of its blocks.
                    for (k, lines) in perStripe.enumerated() {
                        #expect(lines.map(\.offset) == lines.map(\.offset).sorted())
                        if stripes > 1 {
                            #expect(lines.allSatisfy { Int($0.offset / blockSize) % stripes == k })
                        }
                    }
                }
            }
        }
    }

    @Test("a stripe resumed from any reported position yields exactly the rest")
    func resumesFromPositions() throws {
        var random = SeededGenerator(seed: 5)
        let content = randomContent(lines: 200, maxLength: 90, finalNewline: true, using: &random)
        let file = try TemporaryFile(contents: content)
        for stripe in 0..<3 {
            let full = try read(path: file.path, stripes: 3, blockSize: 256, chunkSize: 128)[stripe]
            let reader = try NDJSONStripeReader(path: file.path, stripe: stripe, of: 3, blockSize: 256, chunkSize: 128)
            var seen = 0
            while !reader.isFinished {
                let position = reader.position
                let resumed = try NDJSONStripeReader(path: file.path, stripe: stripe, of: 3, blockSize: 256,
                                                     chunkSize: 128, at: position)
                var rest: [ExpectedLine] = []
                while try resumed.readLines(upTo: 50, { rest.append(ExpectedLine(bytes: Array($0.bytes), offset: $0.offset, lineNumber: $0.lineNumber)) }) > 0 {}
                #expect(rest == Array(full[seen...]), "stripe \(stripe) after \(seen) lines")
                seen += try reader.readLines(upTo: 3) { _ in }
            }
            #expect(seen == full.count)
        }
    }

    @Test("empty files, short files and lines longer than a block")
    func degenerate() throws {
        let empty = try TemporaryFile("")
        #expect(try read(path: empty.path, stripes: 3, blockSize: 4, chunkSize: 16).allSatisfy(\.isEmpty))

        let long = String(repeating: "x", count: 1000)
        let text = "a\n\(long)\nb\n\(long)"
        let file = try TemporaryFile(text)
        let expected = ExpectedLine.lines(of: Array(text.utf8))
        for stripes in 1...4 {
            let all = try read(path: file.path, stripes: stripes, blockSize: 100, chunkSize: 64).flatMap { $0 }
            #expect(all.sorted { $0.offset < $1.offset } == expected)
        }
    }

    @Test("work left by readers at one parallelism, taken over at another, yields every line once with its number")
    func redistribution() throws {
        var random = SeededGenerator(seed: 41)
        let content = randomContent(lines: 400, maxLength: 100, finalNewline: true, using: &random)
        let file = try TemporaryFile(contents: content)
        let expected = ExpectedLine.lines(of: content)
        for (from, to) in [(1, 3), (3, 1), (2, 3), (3, 2), (2, 2)] {
            for readBefore in [0, 5, 37] {
                var seen: [ExpectedLine] = []
                var states: [[NDJSONStripeReader.WorkItem]] = []
                for k in 0..<from {
                    let reader = try NDJSONStripeReader(path: file.path, stripe: k, of: from, blockSize: 500, chunkSize: 128)
                    _ = try reader.readLines(upTo: readBefore + k) {
                        seen.append(ExpectedLine(bytes: Array($0.bytes), offset: $0.offset, lineNumber: $0.lineNumber))
                    }
                    states.append(reader.remainingWork)
                }
                for k in 0..<to {
                    let work = NDJSONStripeReader.work(forStripe: k, of: to, from: states)
                    let reader = try NDJSONStripeReader(path: file.path, stripe: k, of: to, blockSize: 500, chunkSize: 128, work: work)
                    while try reader.readLines(upTo: 13, {
                        seen.append(ExpectedLine(bytes: Array($0.bytes), offset: $0.offset, lineNumber: $0.lineNumber))
                    }) > 0 {}
                }
                #expect(seen.sorted { $0.offset < $1.offset } == expected, "\(from) → \(to) after \(readBefore) lines")
            }
        }
    }
}

