import RunnelCheckpoint
#if canImport(Glibc)
import Glibc
#endif

/// The file operations of a ``DurableLog``'s partitions: naming and listing segment files,
/// positional reads, and the recovery of a partition's last segment after a crash. Whole-file
/// and directory operations are RunnelCheckpoint's `DurableFiles`, with their errors as
/// ``DurableLogError``s.
///
/// A partition is a directory of segment files named by the offset of their first byte in
/// the partition (`00000000000000000000.seg`); a segment ends where the next begins.
enum LogSegments {
    /// Runs a `DurableFiles` operation, its error turned into a ``DurableLogError``.
    static func io<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as CheckpointIOError {
            throw DurableLogError(error.operation, path: error.path, code: error.code)
        }
    }

    /// The file name of the segment starting at `base`.
    static func name(base: Int64) -> String {
        let digits = String(base)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".seg"
    }

    /// The path of the segment starting at `base` in the partition directory `directory`.
    static func path(_ directory: String, base: Int64) -> String {
        directory + "/" + name(base: base)
    }

    /// The segments' base offsets in `directory`, ascending.
    static func list(_ directory: String) throws -> [Int64] {
        try io { try DurableFiles.list(directory) }
            .compactMap { name in name.hasSuffix(".seg") && name.count == 24 ? Int64(name.prefix(20)) : nil }
            .sorted()
    }

    /// Size of the file at `path`.
    static func size(_ path: String) throws -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else { throw DurableLogError("stat", path: path, code: errno) }
        return Int64(info.st_size)
    }

    /// Reads exactly `count` bytes at `offset` of `fd` into `buffer`; false at end of file.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64, path: String) throws -> Bool {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw DurableLogError("read", path: path, code: errno)
            }
            if n == 0 { return false }
            done += n
        }
        return true
    }

    /// What recovery finds in a partition's last segment (read whole, once, when the log
    /// opens): the length of its intact frames from the start, and, when bytes follow them,
    /// where the first whole frame after that point starts (found by its magic), if any.
    static func recover(_ path: String) throws -> (validLength: Int64, nextWholeFrame: Int64?) {
        let bytes = try io { try DurableFiles.read(path) }
        return bytes.withUnsafeBytes { raw in
            var valid = 0
            while let length = LogFrame.wholeFrameLength(in: raw, at: valid) { valid += length }
            guard valid < raw.count else { return (Int64(valid), nil) }
            var next = valid + 1
            while next + LogFrame.headerSize <= raw.count {
                if LogFrame.wholeFrameLength(in: raw, at: next) != nil { return (Int64(valid), Int64(next)) }
                next += 1
            }
            return (Int64(valid), nil)
        }
    }
}
