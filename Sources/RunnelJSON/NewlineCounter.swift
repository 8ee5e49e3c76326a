import CSimdjson
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Finds line starts and counts newlines in byte ranges of a file, for readers that skip
/// over parts of it (``NDJSONStripeReader``) but must still number lines exactly.
///
/// Not `Sendable`: one owner at a time.
final class NewlineCounter {
    /// Bytes per `pread` when counting.
    static let readSize = 1 << 20
    /// Bytes per `pread` when looking for the next line start (lines are short).
    static let probeSize = 64 << 10

    let path: String
    /// The file's size when opened (inputs are bounded files that do not change).
    let size: Int64
    private let fd: Int32
    private let scratch: UnsafeMutableRawPointer
    /// The readers' shared mapping of the file, when there is one: then lines are found and
    /// counted in it (see ``NDJSONFileMapping``).
    let mapping: NDJSONFileMapping?

    init(path: String, mapWindow: Int = 64 << 20, mapping: NDJSONFileMapping? = nil) throws {
        precondition(mapWindow > 0)
        precondition(mapping.map { $0.path == path } ?? true, "the mapping is of another file")
        self.mapWindow = mapWindow
        self.mapping = mapping
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw FileIOError(operation: "fstat", path: path, code: code)
        }
        self.path = path
        self.fd = fd
        size = Int64(info.st_size)
        scratch = .allocate(byteCount: Self.readSize, alignment: 64)
    }

    deinit {
        scratch.deallocate()
        close(fd)
    }

    /// The first line start at or after `offset`: just after the first newline at or after
    /// `offset - 1` (so `offset` itself when a line starts there), or the file size if none.
    func lineStart(atOrAfter offset: Int64) throws -> Int64 {
        if offset <= 0 { return 0 }
        if let mapping, mapping.size == size {
            return mapping.firstNewline(atOrAfter: offset - 1).map { $0 + 1 } ?? size
        }
        var at = offset - 1
        while at < size {
            let got = try read(at: at, count: Self.probeSize)
            if got == 0 { break }
            if let hit = memchr(scratch, 0x0A, got) { return at + Int64(scratch.distance(to: hit)) + 1 }
            at += Int64(got)
        }
        return size
    }

    /// The number of the line that starts at `offset` (a line start, or the file's size or
    /// beyond: the line after the last, whose number is one more than the file's lines, a
    /// last line without a newline included, as a reader that has read them all says).
    /// Through a shared mapping, from what its readers have told (``NDJSONLineIndex``).
    func lineNumber(atLineStart offset: Int64) throws -> Int64 {
        if let shared = mapping, shared.size == size { return shared.lineNumber(atLineStart: offset) }
        let counted = 1 + (try count(in: 0..<min(offset, size)))
        guard offset >= size, size > 0 else { return counted }
        // Past the end: one more if the last line has no newline.
        guard try read(at: size - 1, count: 1) == 1 else { return counted }
        return scratch.load(as: UInt8.self) == 0x0A ? counted : counted + 1
    }

    /// The number of the line that starts at `offset`, counted forward from `known` (a line
    /// start at or before it, with its number); through a shared mapping, from what its
    /// readers have told (``NDJSONFileMapping/lineNumber(at:after:)``).
    func lineNumber(at offset: Int64, after known: NDJSONPosition) throws -> Int64 {
        if let shared = mapping, shared.size == size, offset <= size { return shared.lineNumber(at: offset, after: known) }
        return known.lineNumber + (try count(in: known.offset..<offset))
    }

    /// The number of newlines in `range`.
    ///
    /// Counted in read-only mappings of the file rather than in `pread` copies: a stripe
    /// reader counts the lines of every block of the other stripes, so copying them doubled
    /// the bytes each thread copied out of the page cache (at p = 2 that copy was 4 % of the
    /// replay's samples, half of it for counting). The range is mapped a window at a time
    /// (``mapWindow``), so a long range (a reader resumed far into a file counts all the
    /// lines before it) never maps more than that. A window that cannot be mapped, or that
    /// lies past the file's current end, is read with `pread` instead. With the readers'
    /// shared ``mapping`` the range is counted in it (its pages mostly faulted in already by
    /// the reader of the block they belong to).
    ///
    /// Like the readers, this assumes the file does not shrink while it is read: a mapped
    /// page cut off by a truncation after the size check faults (`SIGBUS`) where `pread`
    /// would return short.
    func count(in range: Range<Int64>, mapping: Bool = true) throws -> Int64 {
        if mapping, let shared = self.mapping, shared.size == size { return shared.newlines(in: range) }
        var total: Int64 = 0
        var at = range.lowerBound
        while at < range.upperBound {
            let window = at..<min(range.upperBound, at + Int64(mapWindow))
            if mapping, let counted = countMapped(window) {
                total += counted
            } else {
                total += try countRead(window)
            }
            at = window.upperBound
        }
        return total
    }

    /// The most bytes ``count(in:mapping:)`` maps at once (64 MiB unless a test sets less).
    let mapWindow: Int

    /// The newlines in `range` read through `pread`.
    private func countRead(_ range: Range<Int64>) throws -> Int64 {
        var total: Int64 = 0
        var at = range.lowerBound
        while at < range.upperBound {
            let got = try read(at: at, count: Int(min(Int64(Self.readSize), range.upperBound - at)))
            if got == 0 { break }
            total += Int64(runnel_count_byte(scratch, got, 0x0A))
            at += Int64(got)
        }
        return total
    }

    /// The newlines in `range` (at most ``mapWindow`` bytes) through `mmap`, or nil when
    /// it cannot be mapped safely.
    private func countMapped(_ range: Range<Int64>) -> Int64? {
        var info = stat()
        guard fstat(fd, &info) == 0, range.upperBound <= Int64(info.st_size) else { return nil }
        let page = Int64(sysconf(Int32(_SC_PAGESIZE)))
        guard page > 0 else { return nil }
        let start = range.lowerBound / page * page
        let length = Int(range.upperBound - start)
        guard let map = mmap(nil, length, PROT_READ, MAP_PRIVATE, fd, off_t(start)), map != MAP_FAILED else { return nil }
        defer { munmap(map, length) }
        _ = madvise(map, length, MADV_SEQUENTIAL)
        let skip = Int(range.lowerBound - start)
        return Int64(runnel_count_byte(map + skip, length - skip, 0x0A))
    }

    private func read(at offset: Int64, count: Int) throws -> Int {
        while true {
            let n = pread(fd, scratch, count, off_t(offset))
            if n >= 0 { return n }
            if errno != EINTR { throw FileIOError(operation: "pread", path: path, code: errno) }
        }
    }
}
