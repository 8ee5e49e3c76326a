#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads one stripe of an NDJSON file: the file is cut into blocks of ``blockSize`` bytes
/// and stripe `k` of `n` holds blocks `k`, `k + n`, `k + 2n`, …, each read with the range
/// semantics of ``NDJSONFileReader`` (a line belongs to the block holding its first byte),
/// with exact file offsets and line numbers.
///
/// Why stripes rather than `n` contiguous ranges: event files are written roughly in time
/// order. With contiguous ranges the reader of the second half starts hours of event time
/// ahead of the first; the job's watermark (the minimum over readers) then holds back
/// every window, timer and TTL until the first half is read, so state for half the file
/// piles up. Striped readers move through the file, and through event time, together.
///
/// Line numbers of a block need the newlines of the blocks between (read by other
/// stripes). Without a mapping they are counted over those bytes when the block is opened
/// (see `NewlineCounter`). With an ``NDJSONFileMapping`` a block opened from a queue or a
/// work list is numbered from its first line, and the mapping resolves that line's number
/// only when a number is read (``NDJSONLineNumber``: a dead letter that is written, a
/// checkpoint's position); readers tell the mapping how many lines they have read after
/// each batch (``NDJSONLineIndex``), so by then little or nothing is left to count. With one
/// stripe the file is read as one range and nothing is counted.
///
/// Readers of one job share an ``NDJSONBlockQueue`` instead
/// (``init(path:reader:of:blockSize:chunkSize:queue:)``): each takes the next unread block
/// when it is done with one, so a reader on a busier thread reads fewer blocks rather than
/// holding up the end of the job. Blocks are still read with the same range semantics and
/// numbered the same way.
///
/// Given an ``NDJSONFileMapping`` (one for all the readers of a file, or one of its own),
/// a reader reads its lines in the mapping, and after each call of ``readLines(upTo:_:)``
/// tells the mapping where it is, so that the pages every reader is past can be given back,
/// and how many lines it has read of its block, so that other readers' numbers resolve.
///
/// One reader is used by one thread at a time; it is not `Sendable`.
public final class NDJSONStripeReader {
    /// Where a stripe reader is: the block being read and the next unread line in it.
    /// Exact after any line, so it can be checkpointed and resumed.
    public struct Position: Sendable, Hashable {
        /// The block being read (its index in the whole file).
        public var block: Int
        /// The next unread line.
        public var line: NDJSONPosition

        /// Creates a position.
        public init(block: Int, line: NDJSONPosition) {
            self.block = block
            self.line = line
        }
    }

    /// A block still to read: from its first line, or from a recorded position in it.
    public struct WorkItem: Sendable, Hashable {
        /// The block's index in the file.
        public var block: Int
        /// Where to resume in it (a line start and its number); nil for the whole block.
        public var resume: NDJSONPosition?

        /// Creates a work item.
        public init(block: Int, resume: NDJSONPosition? = nil) {
            self.block = block
            self.resume = resume
        }
    }

    /// Default block size: 4 MiB (about 8,000 events of 500 bytes).
    public static let defaultBlockSize: Int64 = 4 << 20

    /// The file being read.
    public let path: String
    /// This reader's stripe, in `0..<stripes`.
    public let stripe: Int
    /// The number of stripes.
    public let stripes: Int
    /// Bytes per block.
    public let blockSize: Int64
    /// Bytes per read.
    public let chunkSize: Int

    private let reader: NDJSONFileReader
    private let counter: NewlineCounter
    /// This reader's index among the readers of ``mapping``.
    private let mappingReader: Int
    private var block: Int
    /// The blocks after the current one, when the reader was given an explicit list
    /// (restored, possibly at another parallelism); nil for the stripe's blocks in order.
    private var workList: [WorkItem]?
    /// The queue this reader takes its blocks from, when it shares one with other readers.
    public let blockQueue: NDJSONBlockQueue?
    /// The mapping the reader reads and numbers lines in, if any (shared with the other
    /// readers of the file, or its own).
    public var mapping: NDJSONFileMapping? { counter.mapping }
    /// Whether the reader holds a block of the shared queue (false before its first and
    /// while it waits for the next).
    private var holdsBlock = true

    /// Opens stripe `stripe` of `stripes` of the file at `path`, at its first line.
    public convenience init(path: String, stripe: Int, of stripes: Int, blockSize: Int64 = defaultBlockSize,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize, mapping: NDJSONFileMapping? = nil) throws {
        precondition(stripes >= 1 && stripe >= 0 && stripe < stripes, "stripe out of range")
        precondition(blockSize > 0, "blockSize must be positive")
        if stripes == 1 {
            try self.init(path: path, stripe: 0, of: 1, blockSize: blockSize, chunkSize: chunkSize,
                          at: Position(block: 0, line: NDJSONPosition(offset: 0, lineNumber: 1)), mapping: mapping)
            return
        }
        let counter = try NewlineCounter(path: path, mapping: mapping)
        let blockStart = Self.range(of: stripe, stripes: stripes, blockSize: blockSize).lowerBound
        // A block past the end of a short file holds no line; it starts (empty) at its own start.
        let start = max(try counter.lineStart(atOrAfter: blockStart), blockStart)
        let lineNumber = try counter.lineNumber(atLineStart: start)
        try self.init(path: path, stripe: stripe, of: stripes, blockSize: blockSize, chunkSize: chunkSize,
                      at: Position(block: stripe, line: NDJSONPosition(offset: start, lineNumber: lineNumber)), mapping: mapping)
    }

    /// Reopens a stripe at a position it reported (``position``).
    public convenience init(path: String, stripe: Int, of stripes: Int, blockSize: Int64 = defaultBlockSize,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize, at position: Position,
                            mapping: NDJSONFileMapping? = nil) throws {
        precondition(stripes >= 1 && stripe >= 0 && stripe < stripes, "stripe out of range")
        precondition(blockSize > 0, "blockSize must be positive")
        precondition(stripes == 1 || position.block % stripes == stripe, "position belongs to another stripe")
        try self.init(path: path, stripe: stripe, of: stripes, blockSize: blockSize, chunkSize: chunkSize,
                      counter: try NewlineCounter(path: path, mapping: mapping), block: position.block,
                      range: Self.range(of: position.block, stripes: stripes, blockSize: blockSize), start: position.line)
    }

    /// Opens a reader over an explicit list of blocks (in file order), each read from its
    /// first line or from a recorded position: what a restored checkpoint leaves to read,
    /// redistributed over a new number of stripes (``work(forStripe:of:from:)``).
    public convenience init(path: String, stripe: Int, of stripes: Int, blockSize: Int64 = defaultBlockSize,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize, work: [WorkItem],
                            mapping: NDJSONFileMapping? = nil) throws {
        precondition(stripes >= 1 && stripe >= 0 && stripe < stripes, "stripe out of range")
        precondition(blockSize > 0, "blockSize must be positive")
        let counter = try NewlineCounter(path: path, mapping: mapping)
        var items = work.sorted { $0.block < $1.block }
        let first = items.isEmpty ? WorkItem(block: Int(counter.size / blockSize) + 1) : items.removeFirst()
        let range = Self.blockRange(first.block, blockSize: blockSize)
        let start: NDJSONPosition
        if let resume = first.resume {
            start = resume
        } else {
            let offset = max(try counter.lineStart(atOrAfter: range.lowerBound), range.lowerBound)
            start = NDJSONPosition(offset: offset, lineNumber: try counter.lineNumber(atLineStart: offset))
        }
        try self.init(path: path, stripe: stripe, of: stripes, blockSize: blockSize, chunkSize: chunkSize,
                      counter: counter, block: first.block, range: range, start: start, workList: items)
    }

    /// Opens reader `reader` of `readers` that take their blocks from `queue` (shared by
    /// them all); it takes its first block when first asked for lines.
    public convenience init(path: String, reader: Int, of readers: Int, blockSize: Int64 = defaultBlockSize,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize, queue: NDJSONBlockQueue,
                            mapping: NDJSONFileMapping? = nil) throws {
        precondition(readers >= 1 && reader >= 0 && reader < readers, "reader out of range")
        precondition(queue.readers == readers, "the queue serves another number of readers")
        precondition(blockSize > 0, "blockSize must be positive")
        // An empty range, finished at once: the first call takes a block, and lines are
        // numbered from the start of the file.
        try self.init(path: path, stripe: reader, of: readers, blockSize: blockSize, chunkSize: chunkSize,
                      counter: try NewlineCounter(path: path, mapping: mapping), block: 0, range: 0..<0,
                      start: NDJSONPosition(offset: 0, lineNumber: 1), blockQueue: queue)
    }

    /// Every initializer ends here: reading starts in `range` (block `block`) at `start`.
    private init(path: String, stripe: Int, of stripes: Int, blockSize: Int64, chunkSize: Int, counter: NewlineCounter,
                 block: Int, range: Range<Int64>, start: NDJSONPosition, workList: [WorkItem]? = nil,
                 blockQueue: NDJSONBlockQueue? = nil) throws {
        self.path = path
        self.stripe = stripe
        self.stripes = stripes
        self.blockSize = blockSize
        self.chunkSize = chunkSize
        self.counter = counter
        self.block = block
        self.workList = workList
        self.blockQueue = blockQueue
        holdsBlock = blockQueue == nil
        precondition(counter.mapping.map { $0.readers == 1 || $0.readers == stripes } ?? true,
                     "a mapping serves one reader or every stripe of the file")
        mappingReader = counter.mapping.map { $0.readers == 1 ? 0 : stripe } ?? 0
        reader = try NDJSONFileReader(path: path, range: range, resumeAt: start.offset, lineNumber: start.lineNumber,
                                      chunkSize: chunkSize, mapping: counter.mapping)
        indexMapping?.record(start)
    }

    /// The mapping that numbers lines, when it maps the file as this reader sees it.
    private var indexMapping: NDJSONFileMapping? {
        guard let mapping = counter.mapping, mapping.size == counter.size else { return nil }
        return mapping
    }

    /// The blocks of `states` (the work lists of every reader of an earlier run, see
    /// ``remainingWork``) that stripe `stripe` of `stripes` reads: block `b` goes to stripe
    /// `b mod stripes`, as in a fresh run.
    public static func work(forStripe stripe: Int, of stripes: Int, from states: [[WorkItem]]) -> [WorkItem] {
        states.flatMap { $0 }.filter { $0.block % stripes == stripe }.sorted { $0.block < $1.block }
    }

    /// What is left to read: the current block from the next unread line, then every later
    /// block of this reader (sharing a queue: its share of the blocks the queue has not
    /// handed out, see ``NDJSONBlockQueue/snapshot(reader:checkpointID:)``). A checkpoint
    /// records it, through ``checkpointWork(checkpointID:)``; any number of readers can
    /// take it over.
    public var remainingWork: [WorkItem] {
        if let blockQueue { return sharedWork(blockQueue, checkpointID: nil) }
        guard !isFinished else { return [] }
        let position = reader.position
        let blockCount = Int((counter.size + blockSize - 1) / blockSize)
        let current = workList == nil && stripes == 1 ? Int(position.offset / blockSize) : block
        var work = [WorkItem(block: current, resume: position)]
        if let workList {
            work += workList
        } else {
            let step = stripes
            var next = current + step
            while next < blockCount {
                work.append(WorkItem(block: next))
                next += step
            }
        }
        return work
    }

    /// What checkpoint `checkpointID` records of this reader: ``remainingWork``. A reader
    /// that shares a queue also reports the checkpoint to it, which holds back hand-outs
    /// until every reader has reported (see ``NDJSONBlockQueue``): call this once per
    /// checkpoint, and ``remainingWork`` for anything else.
    public func checkpointWork(checkpointID: Int64) -> [WorkItem] {
        guard let blockQueue else { return remainingWork }
        return sharedWork(blockQueue, checkpointID: checkpointID)
    }

    /// The block being read (from the next unread line), then this reader's share of the
    /// shared queue.
    private func sharedWork(_ queue: NDJSONBlockQueue, checkpointID: Int64?) -> [WorkItem] {
        var work: [WorkItem] = []
        if holdsBlock && !reader.isFinished { work.append(WorkItem(block: block, resume: reader.position)) }
        if let checkpointID {
            work += queue.snapshot(reader: stripe, checkpointID: checkpointID)
        } else {
            work += queue.share(of: stripe)
        }
        return work
    }

    /// The byte range of block `block` (saturating at the largest offset).
    private static func blockRange(_ block: Int, blockSize: Int64) -> Range<Int64> {
        let start = Int64(block).multipliedReportingOverflow(by: blockSize)
        guard !start.overflow else { return Int64.max..<Int64.max }
        let end = start.partialValue.addingReportingOverflow(blockSize)
        return start.partialValue..<(end.overflow ? Int64.max : end.partialValue)
    }

    /// The byte range of a block (the whole file when there is one stripe).
    private static func range(of block: Int, stripes: Int, blockSize: Int64) -> Range<Int64> {
        stripes == 1 ? 0..<Int64.max : blockRange(block, blockSize: blockSize)
    }

    /// Where the next unread line is.
    public var position: Position { Position(block: block, line: reader.position) }

    /// True once no line is left in the stripe (sharing a queue: once the queue has no block
    /// left for this reader and its last block is read).
    public private(set) var isFinished = false

    /// True when the reader shares a queue, is done with its block, and the queue told it
    /// to wait for the next (a checkpoint is part-way through the readers): ask again shortly.
    public private(set) var isWaiting = false

    /// Calls `body` with up to `maxLines` lines of the stripe, moving on to the stripe's
    /// next block as each one ends; returns how many it handled (0 when the stripe is done,
    /// or while ``isWaiting``). Each line is valid only during its call of `body`.
    @discardableResult
    public func readLines(upTo maxLines: Int, _ body: (NDJSONLine) throws -> Void) throws -> Int {
        var handled = 0
        while handled < maxLines && !isFinished {
            if reader.isFinished {
                try advance()
                if isWaiting { break }
                continue
            }
            handled += try reader.readLines(upTo: maxLines - handled, body)
        }
        // Between calls no line of this reader is in use, and it reads nothing before its
        // position again: the mapping may give back what every reader is past. It also
        // tells how many lines it has read of its block, for the numbers of the blocks after
        // it.
        if isFinished {
            counter.mapping?.advance(reader: mappingReader, to: Int64.max)
        } else if indexMapping != nil {
            counter.mapping?.advance(reader: mappingReader, to: reader.offset, span: reader.numberedSpan)
        } else {
            counter.mapping?.advance(reader: mappingReader, to: reader.offset)
        }
        return handled
    }

    /// Moves to the stripe's next block (counting the lines of the blocks in between when
    /// there is no mapping to number them later).
    private func advance() throws {
        if let indexMapping {
            let span = reader.numberedSpan
            indexMapping.record(spanFrom: span.start, to: span.end, lines: span.lines)
        }
        if let blockQueue {
            try advanceInShared(blockQueue)
            return
        }
        if workList != nil {
            try advanceInQueue()
            return
        }
        let end = reader.position
        let next = block + stripes
        let nextRange = Self.range(of: next, stripes: stripes, blockSize: blockSize)
        guard stripes > 1, nextRange.lowerBound < counter.size else {
            isFinished = true
            return
        }
        // `end` is the first line start at or after this block's end; lines from there up
        // to the next block's first line belong to other stripes.
        let start = max(try counter.lineStart(atOrAfter: nextRange.lowerBound), end.offset)
        let lineNumber = try counter.lineNumber(at: start, after: end)
        block = next
        reader.restart(range: nextRange, at: start, lineNumber: lineNumber)
    }

    /// Moves to the next block the shared queue hands out, if it hands one out now.
    private func advanceInShared(_ shared: NDJSONBlockQueue) throws {
        switch shared.take(reader: stripe) {
        case .empty:
            isWaiting = false
            holdsBlock = false
            isFinished = true
        case .wait:
            isWaiting = true
            holdsBlock = false
        case .item(let next):
            isWaiting = false
            try open(next)
            holdsBlock = true
        }
    }

    /// Moves to the next block of an explicit list.
    private func advanceInQueue() throws {
        guard var items = workList, !items.isEmpty else {
            isFinished = true
            return
        }
        let next = items.removeFirst()
        workList = items
        try open(next)
    }

    /// Starts reading block `next`: at its recorded position, or from its first line,
    /// numbered later by the mapping, or without one numbered on from where this reader's
    /// last block ended (the lines in between, read by other readers, counted now).
    private func open(_ next: WorkItem) throws {
        let range = Self.blockRange(next.block, blockSize: blockSize)
        block = next.block
        if let resume = next.resume {
            indexMapping?.record(resume)
            reader.restart(range: range, at: max(resume.offset, range.lowerBound), lineNumber: resume.lineNumber)
            return
        }
        let end = reader.offset
        let offset = range.lowerBound >= counter.size ? range.lowerBound
            : max(try counter.lineStart(atOrAfter: range.lowerBound), end)
        if indexMapping != nil {
            reader.restartNumberingLater(range: range, at: offset)
            return
        }
        let last = reader.position
        let number = range.lowerBound >= counter.size ? last.lineNumber : try counter.lineNumber(at: offset, after: last)
        reader.restart(range: range, at: offset, lineNumber: number)
    }
}

@available(*, unavailable)
extension NDJSONStripeReader: Sendable {}
