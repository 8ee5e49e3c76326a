#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads the lines of one byte range of an NDJSON file, in large `pread`
/// chunks, handing out each line as a borrowed view with its file offset and
/// line number.
///
/// ## Range semantics
/// A line belongs to the range that contains its first byte. So a reader for
/// `[start, end)` with `start > 0` skips the partial line in progress at
/// `start` (unless byte `start - 1` is a `"\n"`, i.e. a line starts exactly
/// at `start`), and it reads past `end` to finish the last line that began
/// before `end`. Readers for adjacent ranges therefore see every line exactly
/// once, wherever the range boundaries fall.
///
/// ## Lines
/// Each line excludes its `"\n"` and a `"\r"` right before it (so CRLF files
/// work). Empty lines are reported too; the caller decides what they mean. A
/// last line without a terminating newline is reported. Lines longer than the
/// chunk size are supported by growing the buffer.
///
/// Line views point into an internal `PaddedBuffer`, so they satisfy
/// `JSONLineParser`'s padding requirement, and they stay valid only until the
/// next call that reads a line. No allocation happens per line.
///
/// ## Reading through a mapping
/// Given an ``NDJSONFileMapping`` of the file, the reader reads nothing itself: its line
/// views point into the mapping, where the next line's bytes (or the mapping's last page)
/// are the padding. Only a line within the padding's distance of the end of that page is
/// copied into the buffer first.
///
/// One reader is used by one thread at a time; it is not `Sendable`.
public final class NDJSONFileReader {
    /// Default read size: large enough to amortize system calls, small enough to stay in L2/L3.
    public static let defaultChunkSize = 1 << 20
    /// Read size once the range's bytes are read and only its last line is being finished.
    static let tailReadSize = 16 << 10

    /// The file being read.
    public let path: String
    /// The byte range whose lines this reader yields.
    public private(set) var range: Range<Int64>
    /// Bytes requested per `pread`.
    public let chunkSize: Int

    private let fd: Int32
    private let buffer: PaddedBuffer
    /// The mapping lines are read in, if any (then `fd` is not opened and `buffer` only
    /// holds copies of lines near the end of the mapping).
    private let mapping: NDJSONFileMapping?
    /// With a mapping: the file offset of the next unread line.
    private var mappedOffset: Int64 = 0
    /// File offset of `buffer`'s byte 0.
    private var bufferOffset: Int64
    /// Buffer index of the start of the next unread line.
    private var cursor = 0
    /// Buffer index before which no `"\n"` follows `cursor` (avoids rescanning long lines after a refill).
    private var scanned = 0
    /// Line number of the line starting at `cursor`; while ``numbersLater``, the number of
    /// lines after the one at `spanStart`.
    private var nextLineNumber: Int64
    /// Where the reader started numbering (the first line start it read from, when it was
    /// last started or restarted), and the number it gave the line there.
    private var spanStart: Int64
    private var spanFirstNumber: Int64
    /// The mapping that resolves the number of the line at `spanStart` while the reader
    /// numbers its lines from there (``restartNumberingLater(range:at:)``); nil while it
    /// numbers them exactly. Unretained: `mapping` keeps it alive.
    private var numbersLater: Unmanaged<NDJSONFileMapping>?
    private var reachedEOF = false
    private var finished = false

    /// Opens `path` to read the lines that start in `range` (the whole file if nil).
    ///
    /// - Parameters:
    ///   - firstLineNumber: The 1-based number of the first line this reader
    ///     will yield (the first line starting at or after `range.lowerBound`);
    ///     for the whole file it is 1.
    ///   - chunkSize: Bytes per read (default 1 MiB).
    ///   - mapping: A mapping of the file to read the lines in, instead of reading them.
    /// - Throws: `FileIOError` if the file cannot be opened or read.
    public convenience init(path: String, range: Range<Int64>? = nil, firstLineNumber: Int64 = 1,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize, mapping: NDJSONFileMapping? = nil) throws {
        let range = range ?? 0..<Int64.max
        try self.init(path: path, range: range, begin: range.lowerBound, lineNumber: firstLineNumber,
                      skipPartialLine: range.lowerBound > 0, chunkSize: chunkSize, mapping: mapping)
    }

    /// Reopens a range at a checkpointed position: reading starts at `offset`,
    /// which must be the start of a line (as reported by `position`), whose
    /// number is `lineNumber`. No partial-line skipping happens. A position at
    /// or after `range.upperBound` yields no lines: that range is done.
    public convenience init(path: String, range: Range<Int64>, resumeAt offset: Int64, lineNumber: Int64,
                            chunkSize: Int = NDJSONFileReader.defaultChunkSize, mapping: NDJSONFileMapping? = nil) throws {
        precondition(offset >= range.lowerBound, "resume offset lies before the reader's range")
        try self.init(path: path, range: range, begin: offset, lineNumber: lineNumber,
                      skipPartialLine: false, chunkSize: chunkSize, mapping: mapping)
    }

    private init(path: String, range: Range<Int64>, begin: Int64, lineNumber: Int64,
                 skipPartialLine: Bool, chunkSize: Int, mapping: NDJSONFileMapping?) throws {
        precondition(chunkSize > 0, "chunkSize must be positive")
        precondition(range.lowerBound >= 0, "file ranges start at offset 0 or later")
        precondition(mapping.map { $0.path == path } ?? true, "the mapping is of another file")
        self.path = path
        self.range = range
        self.chunkSize = chunkSize
        self.nextLineNumber = lineNumber
        self.mapping = mapping
        spanStart = begin
        spanFirstNumber = lineNumber
        bufferOffset = 0
        if let mapping {
            fd = -1
            buffer = PaddedBuffer(capacity: Self.tailReadSize)
            if skipPartialLine {
                // As below: skip through the first newline at or after begin - 1.
                if let newline = mapping.firstNewline(atOrAfter: begin - 1) {
                    mappedOffset = newline + 1
                } else {
                    mappedOffset = max(begin - 1, mapping.size)
                    finished = true
                }
            } else {
                mappedOffset = begin
            }
            spanStart = mappedOffset
            return
        }
        buffer = PaddedBuffer(capacity: chunkSize)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        fd = descriptor
        // Starting one byte early turns "does a line start at `begin`?" into
        // "skip through the first newline", which also covers a newline at begin - 1.
        bufferOffset = skipPartialLine ? begin - 1 : begin
        if skipPartialLine {
            try skipThroughNewline()
        }
        spanStart = offset
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Moves the reader to another range of the same file, keeping its descriptor and
    /// buffer: reading starts at `offset`, which must be the start of a line, numbered
    /// `lineNumber` (as for ``init(path:range:resumeAt:lineNumber:chunkSize:)``).
    public func restart(range: Range<Int64>, at offset: Int64, lineNumber: Int64) {
        precondition(offset >= range.lowerBound, "restart offset lies before the reader's range")
        self.range = range
        buffer.removeAll()
        mappedOffset = offset
        bufferOffset = offset
        cursor = 0
        scanned = 0
        nextLineNumber = lineNumber
        spanStart = offset
        spanFirstNumber = lineNumber
        numbersLater = nil
        reachedEOF = false
        finished = false
    }

    /// ``restart(range:at:lineNumber:)`` for a reader with a mapping, without knowing the
    /// number of the line at `offset`: lines are numbered from it, and the mapping resolves
    /// its number when one of theirs is read (``NDJSONLine/number``, ``position``). Report
    /// ``numberedSpan`` to the mapping as lines are read, so that it resolves the numbers of
    /// other readers' lines after them without counting.
    func restartNumberingLater(range: Range<Int64>, at offset: Int64) {
        guard let mapping else { preconditionFailure("numbering later needs a mapping") }
        restart(range: range, at: offset, lineNumber: 0)
        numbersLater = Unmanaged.passUnretained(mapping)
    }

    /// Where the next unread line starts, and its number. Exact at all times
    /// (including before the first line is read), so it can be checkpointed
    /// after any line. After ``restartNumberingLater(range:at:)`` the number is resolved
    /// in the mapping, which may count newlines: ``offset`` alone does not.
    public var position: NDJSONPosition {
        var number = nextLineNumber
        if let numbersLater { number += numbersLater.takeUnretainedValue().lineNumber(atLineStart: spanStart) }
        return NDJSONPosition(offset: offset, lineNumber: number)
    }

    /// Where the next unread line starts.
    public var offset: Int64 { mapping == nil ? bufferOffset + Int64(cursor) : mappedOffset }

    /// The lines read since the reader was last started or restarted: they start in
    /// `start..<end` (`end` is ``offset``), `lines` of them.
    var numberedSpan: (start: Int64, end: Int64, lines: Int64) {
        (spanStart, offset, nextLineNumber - spanFirstNumber)
    }

    /// True once the reader has established that no further line starts in its range.
    public var isFinished: Bool { finished }

    /// The next line of the range, or nil when none is left.
    ///
    /// The returned view is valid until the next call on this reader.
    /// - Throws: `FileIOError` if a read fails.
    public func nextLine() throws -> NDJSONLine? {
        if finished { return nil }
        if let mapping { return nextMappedLine(mapping) }
        while true {
            let lineStart = bufferOffset + Int64(cursor)
            if lineStart >= range.upperBound {
                finished = true
                return nil
            }
            let base = buffer.baseAddress
            let from = max(cursor, scanned)
            if from < buffer.count, let hit = memchr(base + from, 0x0A, buffer.count - from) {
                let newline = base.distance(to: hit)
                let line = makeLine(start: cursor, terminator: newline, offset: lineStart)
                cursor = newline + 1
                scanned = cursor
                return line
            }
            scanned = buffer.count
            if reachedEOF {
                guard cursor < buffer.count else {
                    finished = true
                    return nil
                }
                let line = makeLine(start: cursor, terminator: buffer.count, offset: lineStart)
                cursor = buffer.count
                scanned = cursor
                return line
            }
            try refill()
        }
    }

    /// Calls `body` with up to `maxLines` lines and returns how many it
    /// handled; 0 means the range is exhausted. Lets a caller process a batch
    /// and then yield (e.g. to an event loop) without any per-line allocation.
    /// Each line is valid only during its call of `body`.
    @discardableResult
    public func readLines(upTo maxLines: Int, _ body: (NDJSONLine) throws -> Void) throws -> Int {
        var handled = 0
        while handled < maxLines, let line = try nextLine() {
            try body(line)
            handled += 1
        }
        return handled
    }

    /// Calls `body` with every remaining line of the range.
    public func forEachLine(_ body: (NDJSONLine) throws -> Void) throws {
        while let line = try nextLine() {
            try body(line)
        }
    }

    /// The next line of the range, read in `mapping`.
    @inline(__always)
    private func nextMappedLine(_ mapping: NDJSONFileMapping) -> NDJSONLine? {
        let lineStart = mappedOffset
        guard lineStart < range.upperBound && lineStart < mapping.size else {
            finished = true
            return nil
        }
        var end = mapping.size
        if let newline = mapping.firstNewline(atOrAfter: lineStart) {
            end = newline
            mappedOffset = newline + 1
        } else {
            mappedOffset = end
        }
        if end > lineStart && mapping.address(end - 1).load(as: UInt8.self) == 0x0D { end -= 1 }
        var bytes = UnsafeRawBufferPointer(start: mapping.address(lineStart), count: Int(end - lineStart))
        if !mapping.hasPadding(after: end) {
            buffer.removeAll()
            buffer.append(bytes)
            bytes = buffer.bytes
        }
        let line = NDJSONLine(bytes: bytes, offset: lineStart, count: nextLineNumber, after: spanStart, in: numbersLater)
        nextLineNumber += 1
        return line
    }

    /// Builds the view for buffer bytes `[start, terminator)`, dropping one
    /// trailing `"\r"`, and advances the line counter.
    @inline(__always)
    private func makeLine(start: Int, terminator: Int, offset: Int64) -> NDJSONLine {
        var end = terminator
        if end > start && buffer.baseAddress.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0D {
            end -= 1
        }
        let line = NDJSONLine(bytes: UnsafeRawBufferPointer(start: buffer.baseAddress + start, count: end - start),
                              offset: offset, count: nextLineNumber, after: spanStart, in: numbersLater)
        nextLineNumber += 1
        return line
    }

    /// Discards bytes up to and including the first newline, refilling as
    /// needed; if the file ends first, no line starts in the range.
    private func skipThroughNewline() throws {
        while true {
            let from = max(cursor, scanned)
            if from < buffer.count, let hit = memchr(buffer.baseAddress + from, 0x0A, buffer.count - from) {
                cursor = buffer.baseAddress.distance(to: hit) + 1
                scanned = cursor
                return
            }
            scanned = buffer.count
            if reachedEOF {
                cursor = buffer.count
                scanned = cursor
                finished = true
                return
            }
            try refill()
        }
    }

    /// Drops consumed bytes, keeps the unfinished line at the front (growing
    /// the buffer when that line is longer than a chunk), and appends the
    /// next chunk of the file. Sets `reachedEOF` when the file has no more bytes.
    private func refill() throws {
        if cursor > 0 {
            buffer.removeFirst(cursor)
            bufferOffset += Int64(cursor)
            scanned -= cursor
            cursor = 0
        }
        let readAt = bufferOffset + Int64(buffer.count)
        let fd = self.fd
        let path = self.path
        // Near the end of the range only the rest of it (and then small reads to finish its
        // last line) is read, so that a short range does not cost a whole chunk past its end.
        let rest = range.upperBound - readAt
        let chunk = rest >= Int64(chunkSize) ? chunkSize : max(Int(max(rest, 0)), Self.tailReadSize)
        try buffer.appendUninitialized(minimumFree: chunk) { free in
            while true {
                let n = pread(fd, free.baseAddress, min(free.count, chunk), off_t(readAt))
                if n >= 0 { return n }
                if errno != EINTR { throw FileIOError(operation: "pread", path: path, code: errno) }
            }
        }
        if buffer.count == Int(readAt - bufferOffset) {
            reachedEOF = true
        }
    }
}

/// Owns a file descriptor and a buffer used without locking.
@available(*, unavailable)
extension NDJSONFileReader: Sendable {}
