import CSimdjson
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only mapping of a whole NDJSON file, shared by the readers of one job: they read
/// their lines in place in it, and it resolves their lines' numbers from what they tell it.
///
/// Why one mapping for all readers rather than `pread` into each reader's buffer:
/// - a reader's lines are parsed where they lie, with no copy out of the page cache (the
///   copy was about 3 % of the creator replay's CPU at p = 2);
/// - line numbers are resolved in it: readers tell it the lines they have read
///   (``NDJSONLineIndex``), and the few stretches nobody has told are counted in place.
///
/// Pages the readers are done with are given back (`MADV_DONTNEED`) as they all move on
/// (``advance(reader:to:)``), so the mapping keeps a window of the file resident, not all
/// of it. Giving a page back never loses data: a later access faults it in again from the
/// page cache.
///
/// The mapping covers the file as it is when it is made: lines appended later are not read
/// through it (as Flink's bounded file source reads the length it enumerated), and a line
/// still being written then is read as far as it goes. The file must not shrink while it is
/// read: a mapped page cut off by a truncation faults (`SIGBUS`, which ends the process)
/// where `pread` would return short. Only regular files are mapped.
///
/// Thread safety: all methods may be called from any thread; the mapped bytes are never written.
public final class NDJSONFileMapping: Sendable {
    /// The mapped file.
    public let path: String
    /// The file's size when it was mapped.
    public let size: Int64
    /// The number of readers that share the mapping.
    public let readers: Int
    /// The first mapped byte (nil for an empty file, which is not mapped). Read-only memory
    /// that lives as long as the mapping: safe to read from any thread.
    nonisolated(unsafe) private let base: UnsafeRawPointer?
    /// Mapped bytes: the size rounded up to whole pages.
    private let length: Int
    /// Bytes given back at a time (a multiple of the page size).
    let releaseGranule: Int

    private struct Marks {
        /// Per reader, the offset below which it reads nothing any more (a line number
        /// resolved late may still count there: see ``lineNumber(atLineStart:)``).
        var lowWater: [Int64]
        /// What the readers have told about line numbers.
        var lines = NDJSONLineIndex()
        /// Bytes below this offset have been given back.
        var released: Int64 = 0
        /// Bytes counted to resolve line numbers (for tests).
        var counted: Int64 = 0
    }
    private let marks: Mutex<Marks>

    /// Maps the file at `path` for `readers` readers.
    /// - Parameter releaseGranule: bytes given back at a time (rounded up to pages; 8 MiB
    ///   unless a test sets less).
    /// - Throws: ``FileIOError`` when the file cannot be opened, sized or mapped, or is not a
    ///   regular file (a pipe, a device or a directory: `ENODEV`).
    public init(path: String, readers: Int, releaseGranule: Int = 8 << 20) throws {
        precondition(readers >= 1, "a mapping serves at least one reader")
        precondition(releaseGranule > 0, "the release granule must be positive")
        // Non-blocking, so that opening a pipe with no writer does not wait (it is refused below).
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileIOError(operation: "fstat", path: path, code: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw FileIOError(operation: "map", path: path, code: ENODEV) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        self.path = path
        self.readers = readers
        size = Int64(info.st_size)
        length = (Int(size) + page - 1) / page * page
        self.releaseGranule = (releaseGranule + page - 1) / page * page
        marks = Mutex(Marks(lowWater: Array(repeating: 0, count: readers)))
        guard length > 0 else {
            base = nil
            return
        }
        guard let map = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw FileIOError(operation: "mmap", path: path, code: errno)
        }
        base = UnsafeRawPointer(map)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), length) }
    }

    /// The byte at file offset `offset` (in `0..<size`) and those after it.
    @inline(__always)
    func address(_ offset: Int64) -> UnsafeRawPointer {
        base.unsafelyUnwrapped + Int(offset)
    }

    /// Whether a line ending at file offset `end` is followed by
    /// `JSONLineParser.requiredPadding` mapped bytes, so that it can be parsed in place.
    /// (Only lines within that distance of the end of the last page are not.)
    @inline(__always)
    func hasPadding(after end: Int64) -> Bool {
        end + Int64(PaddedBuffer.padding) <= Int64(length)
    }

    /// The offset of the first newline at or after `offset`, or nil when there is none
    /// (also when `offset` is at or past the end of the file).
    func firstNewline(atOrAfter offset: Int64) -> Int64? {
        guard offset >= 0, offset < size else { return nil }
        let from = address(offset)
        guard let hit = memchr(from, 0x0A, Int(size - offset)) else { return nil }
        return offset + Int64(from.distance(to: UnsafeRawPointer(hit)))
    }

    /// The number of newlines in `range` (clamped to the file).
    func newlines(in range: Range<Int64>) -> Int64 {
        let upper = min(range.upperBound, size)
        guard range.lowerBound < upper else { return 0 }
        return Int64(runnel_count_byte(address(range.lowerBound), Int(upper - range.lowerBound), 0x0A))
    }

    /// The number of the line that starts at `offset` (a line start, or the file's size or
    /// beyond for the line after the last), from what the readers have told
    /// (``NDJSONLineIndex``): the newlines of the stretches nobody has told are counted,
    /// outside the lock, and what is counted is recorded for the next call.
    public func lineNumber(atLineStart offset: Int64) -> Int64 {
        precondition(offset >= 0, "line starts are file offsets")
        while true {
            switch marks.withLock({ $0.lines.step(toward: offset) }) {
            case .resolved(let number):
                return number
            case .count(let from, let to):
                let reached = NDJSONPosition(offset: to, lineNumber: from.lineNumber + lines(from: from.offset, to: to))
                let released = marks.withLock {
                    $0.lines.record(reached)
                    $0.counted += max(0, min(to, size) - from.offset)
                    return $0.released
                }
                // A number resolved late (a checkpoint's position, a dead letter written
                // long after its line was read) may count pages given back already: give
                // them back again rather than keep them until the mapping goes.
                if from.offset < released { giveBack(from.offset..<min(to, released)) }
            }
        }
    }

    /// The number of lines that start in `from..<to` (`from` a line start): its newlines,
    /// and past the end of the file, a last line without one.
    private func lines(from: Int64, to: Int64) -> Int64 {
        let counted = newlines(in: from..<to)
        guard to >= size, from < size, let base, base.load(fromByteOffset: Int(size) - 1, as: UInt8.self) != 0x0A else {
            return counted
        }
        return counted + 1
    }

    /// The number of the line that starts at `offset`, given `known`, a line start at or
    /// before it and that line's number (recorded for later calls).
    func lineNumber(at offset: Int64, after known: NDJSONPosition) -> Int64 {
        precondition(known.offset <= offset, "a line number is counted forward from a known line")
        record(known)
        return lineNumber(atLineStart: offset)
    }

    /// Records that the line starting at `point.offset` has number `point.lineNumber` (a
    /// reader resumed there from a checkpoint, or one that numbers its lines exactly).
    func record(_ point: NDJSONPosition) {
        marks.withLock { $0.lines.record(point) }
    }

    /// Records that `lines` lines start in `start..<end`: the lines a reader has read of a
    /// block it numbers from the block's first line (``NDJSONStripeReader``).
    func record(spanFrom start: Int64, to end: Int64, lines: Int64) {
        marks.withLock { $0.lines.record(spanFrom: start, to: end, lines: lines) }
    }

    /// Records that `reader` will read and count nothing below `offset` any more (offsets
    /// only move forward; a reader that is done passes `Int64.max`), and gives back the
    /// whole granules below every reader's mark.
    public func advance(reader: Int, to offset: Int64) {
        advance(reader: reader, to: offset, span: nil)
    }

    /// ``advance(reader:to:)``, and records `span` (when given): lines the reader has read
    /// since a line start, as ``record(spanFrom:to:lines:)`` does, under the same lock.
    func advance(reader: Int, to offset: Int64, span: (start: Int64, end: Int64, lines: Int64)?) {
        precondition(reader >= 0, "reader out of range")
        let release: Range<Int64>? = marks.withLock { m in
            precondition(reader < m.lowWater.count, "reader out of range")
            if let span { m.lines.record(spanFrom: span.start, to: span.end, lines: span.lines) }
            m.lowWater[reader] = max(m.lowWater[reader], offset)
            let limit = min(m.lowWater.min() ?? 0, Int64(length)) / Int64(releaseGranule) * Int64(releaseGranule)
            guard limit > m.released else { return nil }
            defer { m.released = limit }
            return m.released..<limit
        }
        if let release { giveBack(release) }
    }

    /// Gives back the whole pages in `range`.
    private func giveBack(_ range: Range<Int64>) {
        guard let base else { return }
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page
        let end = range.upperBound / page * page
        guard page > 0, start < end else { return }
        // Advisory: a failure only leaves the pages resident.
        _ = madvise(UnsafeMutableRawPointer(mutating: base + Int(start)), Int(end - start), MADV_DONTNEED)
    }

    /// The first mapped byte (for tests).
    var baseAddress: UnsafeRawPointer? { base }

    /// Whether `address` lies in the mapping (for tests).
    func contains(_ address: UnsafeRawPointer?) -> Bool {
        guard let base, let address else { return false }
        return address >= base && address < base + length
    }

    /// The bytes counted so far to resolve line numbers (for tests).
    var bytesCounted: Int64 { marks.withLock { $0.counted } }

    /// The offset below which pages have been given back (for tests).
    var releasedBelow: Int64 { marks.withLock { $0.released } }
}
