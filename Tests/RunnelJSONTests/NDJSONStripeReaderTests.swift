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
                lines.append(ExpectedLine(line))
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

    // MARK: Readers sharing a queue

    func sharedReaders(path: String, readers: Int, blockSize: Int64, queue: NDJSONBlockQueue? = nil,
                       mapped: Bool = false) throws -> [NDJSONStripeReader] {
        let queue = try queue ?? NDJSONBlockQueue(path: path, blockSize: blockSize, readers: readers)
        let mapping = mapped ? try NDJSONFileMapping(path: path, readers: readers) : nil
        return try (0..<readers).map {
            try NDJSONStripeReader(path: path, reader: $0, of: readers, blockSize: blockSize, chunkSize: 128, queue: queue,
                                   mapping: mapping)
        }
    }

    @Test("readers sharing a queue yield every line once, with exact numbers, however their reads interleave")
    func sharedReadersTileTheFile() throws {
        var random = SeededGenerator(seed: 71)
        for round in 0..<3 {
            let content = randomContent(lines: 250, maxLength: 120, finalNewline: round != 1, using: &random)
            let file = try TemporaryFile(contents: content)
            let all = ExpectedLine.lines(of: content)
            for readers in [2, 3, 5] {
                for blockSize: Int64 in [1, 7, 64, 500, 4096] {
                    let group = try sharedReaders(path: file.path, readers: readers, blockSize: blockSize)
                    var perReader = Array(repeating: [ExpectedLine](), count: readers)
                    while !group.allSatisfy(\.isFinished) {
                        let k = Int.random(in: 0..<readers, using: &random)
                        _ = try group[k].readLines(upTo: Int.random(in: 1...20, using: &random)) { perReader[k].append(ExpectedLine($0)) }
                        #expect(!group[k].isWaiting, "no checkpoint is under way")
                    }
                    #expect(perReader.flatMap { $0 }.sorted { $0.offset < $1.offset } == all, "\(readers) readers, blocks of \(blockSize)")
                    for lines in perReader { #expect(lines.map(\.offset) == lines.map(\.offset).sorted()) }
                }
            }
        }
    }

    @Test("a checkpoint taken part-way through shared readers restores, at any parallelism, to exactly the unread lines")
    func sharedReadersCheckpoint() throws {
        var random = SeededGenerator(seed: 97)
        let (file, all) = try randomFile(lines: 300, maxLength: 90, finalNewline: true, using: &random)
        var waits = 0
        for trial in 0..<60 {
            let readers = 2 + trial % 3
            let blockSize: Int64 = [37, 200, 700][trial % 3]
            // Odd trials read through a shared mapping, which numbers blocks later: the
            // positions a checkpoint records are resolved then.
            let mapped = trial % 2 == 1
            let group = try sharedReaders(path: file.path, readers: readers, blockSize: blockSize, mapped: mapped)
            var before: [ExpectedLine] = []
            func readSome(_ k: Int, into lines: inout [ExpectedLine]) throws {
                _ = try group[k].readLines(upTo: Int.random(in: 1...15, using: &random)) { lines.append(ExpectedLine($0)) }
                if group[k].isWaiting { waits += 1 }
            }
            // Read a while, then take checkpoint `epoch`: the readers report one by one, in any
            // order, reading (and asking for blocks) in between. A reader's lines count as
            // before the checkpoint until it has reported.
            var reported = Set<Int>()
            var states = Array(repeating: [NDJSONStripeReader.WorkItem](), count: readers)
            var after: [ExpectedLine] = []
            for _ in 0..<Int.random(in: 0...40, using: &random) {
                try readSome(Int.random(in: 0..<readers, using: &random), into: &before)
            }
            let epoch = Int64(trial + 1)
            while reported.count < readers {
                let k = Int.random(in: 0..<readers, using: &random)
                if !reported.contains(k) && Bool.random(using: &random) {
                    states[k] = group[k].checkpointWork(checkpointID: epoch)
                    reported.insert(k)
                } else if reported.contains(k) {
                    try readSome(k, into: &after)
                } else {
                    try readSome(k, into: &before)
                }
            }
            // Lines read after the checkpoint are lost in the crash; restore and read the rest.
            let restoredReaders = 1 + Int.random(in: 0..<4, using: &random)
            var rest: [ExpectedLine] = []
            if restoredReaders == 1 {
                let mapping = Bool.random(using: &random) ? try NDJSONFileMapping(path: file.path, readers: 1) : nil
                let reader = try NDJSONStripeReader(path: file.path, stripe: 0, of: 1, blockSize: blockSize, chunkSize: 128,
                                                    work: NDJSONStripeReader.work(forStripe: 0, of: 1, from: states),
                                                    mapping: mapping)
                while try reader.readLines(upTo: 17, { rest.append(ExpectedLine($0)) }) > 0 {}
            } else {
                let queue = NDJSONBlockQueue(blocks: 0, readers: restoredReaders)
                queue.restore(states.flatMap { $0 })
                let restored = try sharedReaders(path: file.path, readers: restoredReaders, blockSize: blockSize, queue: queue,
                                                 mapped: Bool.random(using: &random))
                while !restored.allSatisfy(\.isFinished) {
                    let k = Int.random(in: 0..<restoredReaders, using: &random)
                    _ = try restored[k].readLines(upTo: Int.random(in: 1...20, using: &random)) { rest.append(ExpectedLine($0)) }
                }
            }
            #expect((before + rest).sorted { $0.offset < $1.offset } == all,
                    "trial \(trial): \(readers) readers → \(restoredReaders), \(before.count) lines before, \(after.count) after")
        }
        #expect(waits > 0, "some reader asked for a block while the checkpoint was part-way through")
    }

    @Test("work recorded by readers dealt fixed stripes restores into a shared queue")
    func stripesRestoreIntoSharedQueue() throws {
        var random = SeededGenerator(seed: 13)
        let (file, all) = try randomFile(lines: 200, maxLength: 100, finalNewline: false, using: &random)
        var seen: [ExpectedLine] = []
        var states: [[NDJSONStripeReader.WorkItem]] = []
        for k in 0..<3 {
            let reader = try NDJSONStripeReader(path: file.path, stripe: k, of: 3, blockSize: 300, chunkSize: 128)
            _ = try reader.readLines(upTo: 11 * (k + 1)) { seen.append(ExpectedLine($0)) }
            states.append(reader.remainingWork)
        }
        let queue = NDJSONBlockQueue(blocks: 0, readers: 2)
        queue.restore(states.flatMap { $0 })
        let group = try sharedReaders(path: file.path, readers: 2, blockSize: 300, queue: queue)
        while !group.allSatisfy(\.isFinished) {
            for reader in group { _ = try reader.readLines(upTo: 9) { seen.append(ExpectedLine($0)) } }
        }
        #expect(seen.sorted { $0.offset < $1.offset } == all)
    }
}
