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
/// stripes); they are counted over those bytes, in read-only mappings of the file (see
/// `NewlineCounter`). With one stripe the file is read as one range and nothing is counted.
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
    private var block: Int
    /// The blocks after the current one, when the reader was given an explicit list
    /// (restored, possibly at another parallelism); nil for the stripe's blocks in order.
    private var queue: [WorkItem]?

    /// Opens stripe `stripe` of `stripes` of the file at `path`, at its first line.
    public convenience init(path: String, stripe: Int, of stripes: Int, blockSize: Int64 = defaultBlockSize,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize) throws {
        precondition(stripes >= 1 && stripe >= 0 && stripe < stripes, "stripe out of range")
        precondition(blockSize > 0, "blockSize must be positive")
        if stripes == 1 {
            try self.init(path: path, stripe: 0, of: 1, blockSize: blockSize, chunkSize: chunkSize,
                          at: Position(block: 0, line: NDJSONPosition(offset: 0, lineNumber: 1)))
            return
        }
        let counter = try NewlineCounter(path: path)
        let blockStart = Self.range(of: stripe, stripes: stripes, blockSize: blockSize).lowerBound
        // A block past the end of a short file holds no line; it starts (empty) at its own start.
        let start = max(try counter.lineStart(atOrAfter: blockStart), blockStart)
        let lineNumber = 1 + (try counter.count(in: 0..<min(start, counter.size)))
        try self.init(path: path, stripe: stripe, of: stripes, blockSize: blockSize, chunkSize: chunkSize,
                      at: Position(block: stripe, line: NDJSONPosition(offset: start, lineNumber: lineNumber)))
    }

    /// Reopens a stripe at a position it reported (``position``).
    public init(path: String, stripe: Int, of stripes: Int, blockSize: Int64 = defaultBlockSize,
                chunkSize: Int = NDJSONFileReader.defaultChunkSize, at position: Position) throws {
        precondition(stripes >= 1 && stripe >= 0 && stripe < stripes, "stripe out of range")
        precondition(blockSize > 0, "blockSize must be positive")
        precondition(stripes == 1 || position.block % stripes == stripe, "position belongs to another stripe")
        self.path = path
        self.stripe = stripe
        self.stripes = stripes
        self.blockSize = blockSize
        self.chunkSize = chunkSize
        self.block = position.block
        counter = try NewlineCounter(path: path)
        reader = try NDJSONFileReader(path: path, range: Self.range(of: position.block, stripes: stripes, blockSize: blockSize),
                                      resumeAt: position.line.offset, lineNumber: position.line.lineNumber,
                                      chunkSize: chunkSize)
    }

    /// Opens a reader over an explicit list of blocks (in file order), each read from its
    /// first line or from a recorded position: what a restored checkpoint leaves to read,
    /// redistributed over a new number of stripes (``work(forStripe:of:from:)``).
    public init(path: String, stripe: Int, of stripes: Int, blockSize: Int64 = defaultBlockSize,
                chunkSize: Int = NDJSONFileReader.defaultChunkSize, work: [WorkItem]) throws {
        precondition(stripes >= 1 && stripe >= 0 && stripe < stripes, "stripe out of range")
        precondition(blockSize > 0, "blockSize must be positive")
        self.path = path
        self.stripe = stripe
        self.stripes = stripes
        self.blockSize = blockSize
        self.chunkSize = chunkSize
        counter = try NewlineCounter(path: path)
        var items = work.sorted { $0.block < $1.block }
        let first = items.isEmpty ? WorkItem(block: Int(counter.size / blockSize) + 1) : items.removeFirst()
        queue = items
        block = first.block
        let range = Self.blockRange(first.block, blockSize: blockSize)
        let start: NDJSONPosition
        if let resume = first.resume {
            start = resume
        } else {
            let offset = max(try counter.lineStart(atOrAfter: range.lowerBound), range.lowerBound)
            start = NDJSONPosition(offset: offset, lineNumber: 1 + (try counter.count(in: 0..<min(offset, counter.size))))
        }
        reader = try NDJSONFileReader(path: path, range: range, resumeAt: start.offset, lineNumber: start.lineNumber,
                                      chunkSize: chunkSize)
    }

    /// The blocks of `states` (the work lists of every reader of an earlier run, see
    /// ``remainingWork``) that stripe `stripe` of `stripes` reads: block `b` goes to stripe
    /// `b mod stripes`, as in a fresh run.
    public static func work(forStripe stripe: Int, of stripes: Int, from states: [[WorkItem]]) -> [WorkItem] {
        states.flatMap { $0 }.filter { $0.block % stripes == stripe }.sorted { $0.block < $1.block }
    }

    /// What is left to read: the current block from the next unread line, then every later
    /// block of this reader. A checkpoint records it; any number of readers can take it over.
    public var remainingWork: [WorkItem] {
        guard !isFinished else { return [] }
        let position = reader.position
        let blockCount = Int((counter.size + blockSize - 1) / blockSize)
        let current = queue == nil && stripes == 1 ? Int(position.offset / blockSize) : block
        var work = [WorkItem(block: current, resume: position)]
        if let queue {
            work += queue
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

    private static func blockRange(_ block: Int, blockSize: Int64) -> Range<Int64> {
        let start = Int64(block).multipliedReportingOverflow(by: blockSize)
        guard !start.overflow else { return Int64.max..<Int64.max }
        let end = start.partialValue.addingReportingOverflow(blockSize)
        return start.partialValue..<(end.overflow ? Int64.max : end.partialValue)
    }

    /// The byte range of a block (the whole file when there is one stripe).
    private static func range(of block: Int, stripes: Int, blockSize: Int64) -> Range<Int64> {
        if stripes == 1 { return 0..<Int64.max }
        let start = Int64(block).multipliedReportingOverflow(by: blockSize)
        guard !start.overflow else { return Int64.max..<Int64.max }
        let end = start.partialValue.addingReportingOverflow(blockSize)
        return start.partialValue..<(end.overflow ? Int64.max : end.partialValue)
    }

    /// Where the next unread line is.
    public var position: Position { Position(block: block, line: reader.position) }

    /// True once no line is left in the stripe.
    public private(set) var isFinished = false

    /// Calls `body` with up to `maxLines` lines of the stripe, moving on to the stripe's
    /// next block as each one ends; returns how many it handled (0 when the stripe is done).
    /// Each line is valid only during its call of `body`.
    @discardableResult
    public func readLines(upTo maxLines: Int, _ body: (NDJSONLine) throws -> Void) throws -> Int {
        var handled = 0
        while handled < maxLines && !isFinished {
            handled += try reader.readLines(upTo: maxLines - handled, body)
            if reader.isFinished { try advance() }
        }
        return handled
    }

    /// Moves to the stripe's next block, counting the lines of the blocks in between.
    private func advance() throws {
        let end = reader.position
        if queue != nil {
            try advanceInQueue(from: end)
            return
        }
        let next = block + stripes
        let nextRange = Self.range(of: next, stripes: stripes, blockSize: blockSize)
        guard stripes > 1, nextRange.lowerBound < counter.size else {
            isFinished = true
            return
        }
        // `end` is the first line start at or after this block's end; lines from there up
        // to the next block's first line belong to other stripes.
        let start = max(try counter.lineStart(atOrAfter: nextRange.lowerBound), end.offset)
        let skipped = try counter.count(in: end.offset..<start)
        block = next
        reader.restart(range: nextRange, at: start, lineNumber: end.lineNumber + skipped)
    }

    /// Moves to the next block of an explicit list.
    private func advanceInQueue(from end: NDJSONPosition) throws {
        guard var items = queue, !items.isEmpty else {
            isFinished = true
            return
        }
        let next = items.removeFirst()
        queue = items
        let range = Self.blockRange(next.block, blockSize: blockSize)
        let start: NDJSONPosition
        if let resume = next.resume {
            start = resume
        } else if range.lowerBound >= counter.size {
            start = NDJSONPosition(offset: range.lowerBound, lineNumber: end.lineNumber)
        } else {
            let offset = max(try counter.lineStart(atOrAfter: range.lowerBound), end.offset)
            start = NDJSONPosition(offset: offset, lineNumber: end.lineNumber + (try counter.count(in: end.offset..<offset)))
        }
        block = next.block
        reader.restart(range: range, at: max(start.offset, range.lowerBound), lineNumber: start.lineNumber)
    }
}

@available(*, unavailable)
extension NDJSONStripeReader: Sendable {}
