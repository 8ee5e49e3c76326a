#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts an NDJSON file into byte ranges of roughly equal size for parallel
/// readers, with every boundary moved forward to a line start and every split
/// told the file-wide number of its first line.
///
/// Line numbers require counting every newline before each boundary, so the
/// planner makes one sequential pass over the file (up to the last boundary)
/// with large reads and `memchr`, which the C library vectorizes.
public enum NDJSONSplitPlanner {
    /// Bytes per read during the counting pass.
    static let readSize = 4 << 20

    /// Plans `n` splits of the file at `path`.
    ///
    /// Split `k` nominally starts at `size * k / n`; the boundary is moved to
    /// the first line start at or after that point. Consequently every line
    /// belongs to exactly one split, adjacent splits touch, split 0 starts at 0
    /// and split `n - 1` ends at the file size. Splits may be empty (small
    /// files, or lines longer than `size / n`).
    ///
    /// - Parameter splits: How many splits to make; must be at least 1.
    /// - Returns: Exactly `splits` ranges, in file order.
    /// - Throws: `FileIOError` if the file cannot be opened, sized or read.
    public static func plan(path: String, splits n: Int) throws -> [FileSplit] {
        precondition(n >= 1, "NDJSONSplitPlanner needs at least one split")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileIOError(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileIOError(operation: "fstat", path: path, code: errno) }
        let size = Int64(info.st_size)

        // boundaries[k] / lineNumbers[k] describe where split k starts; index n is the end sentinel.
        var boundaries = [Int64](repeating: size, count: n + 1)
        var lineNumbers = [Int64](repeating: 1, count: n + 1)
        boundaries[0] = 0
        // Nominal cut for split k is size * k / n (computed without overflow). A cut
        // at t moves to the first line start at or after t: just after the first
        // newline at index >= t - 1, or stays at 0 when t is 0.
        var targets = [Int64](repeating: 0, count: n)
        for k in 1..<n {
            targets[k] = Int64(n).dividingFullWidth(size.multipliedFullWidth(by: Int64(k))).quotient
        }
        var next = 1
        while next < n && targets[next] == 0 {
            boundaries[next] = 0
            next += 1
        }

        var newlines: Int64 = 0
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: readSize, alignment: 64)
        defer { chunk.deallocate() }
        var fileOffset: Int64 = 0
        // The pass stops once every cut is placed: later newlines affect no split.
        scan: while next < n {
            let got = pread(fd, chunk, readSize, off_t(fileOffset))
            if got < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "pread", path: path, code: errno)
            }
            if got == 0 { break }
            var index = 0
            while index < got, let hit = memchr(chunk + index, 0x0A, got - index) {
                let position = chunk.distance(to: hit)
                let absolute = fileOffset + Int64(position)
                newlines += 1
                // Every pending cut with t - 1 <= this newline moves to just after it.
                while next < n && targets[next] - 1 <= absolute {
                    boundaries[next] = absolute + 1
                    lineNumbers[next] = newlines + 1
                    next += 1
                }
                if next == n { break scan }
                index = position + 1
            }
            fileOffset += Int64(got)
        }
        // Cuts after the last newline start at the end of the file and are empty.
        while next < n {
            boundaries[next] = size
            lineNumbers[next] = newlines + 1
            next += 1
        }
        boundaries[n] = size

        var result: [FileSplit] = []
        result.reserveCapacity(n)
        for k in 0..<n {
            result.append(FileSplit(start: boundaries[k], end: boundaries[k + 1], firstLineNumber: lineNumbers[k]))
        }
        return result
    }
}
