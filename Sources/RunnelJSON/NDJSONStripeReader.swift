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
/// stripes); they are counted with `memchr` over those bytes. With one stripe the file is
/// read as one range and nothing is counted.
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
}

/// Owns a file descriptor and buffers used without locking.
@available(*, unavailable)
extension NDJSONStripeReader: Sendable {}
