#if canImport(Glibc)
import Glibc
#endif

/// The file operations of a ``DurableLog``'s partitions: naming and listing segment files,
/// positional reads, and the recovery of a partition's last segment after a crash.
///
/// A partition is a directory of segment files named by the offset of their first byte in
/// the partition (`00000000000000000000.seg`); a segment ends where the next begins.
enum LogSegments {
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
        guard let dir = opendir(directory) else { throw DurableLogError("list", path: directory, code: errno) }
        defer { closedir(dir) }
        var bases: [Int64] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasSuffix(".seg"), name.count == 24, let base = Int64(name.prefix(20)) else { continue }
            bases.append(base)
        }
        return bases.sorted()
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

    /// Writes all of `bytes` to `fd`.
    static func writeFully(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw DurableLogError("write", path: path, code: errno)
            }
            done += n
        }
    }

    /// Flushes a directory's entries (a created or removed segment) to stable storage.
    static func syncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableLogError("open", path: path, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DurableLogError("fsync", path: path, code: errno) }
    }

    /// Creates `path` as a directory if it is not one yet.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw DurableLogError("mkdir", path: path, code: errno) }
    }

    /// The position of the first whole, intact frame after `position` in the segment file
    /// `fd` (of `size` bytes), found by its magic, or nil when there is none.
    static func nextValidFrame(_ fd: Int32, after position: Int64, size: Int64, path: String) throws -> Int64? {
        guard size > position + 1 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(size - position))
        guard try bytes.withUnsafeMutableBytes({ try readFully(fd, $0.baseAddress!, count: $0.count, at: position, path: path) }) else { return nil }
        return bytes.withUnsafeBytes { raw -> Int64? in
            var i = 1
            while i + LogFrame.headerSize <= raw.count {
                let headerBytes = UnsafeRawBufferPointer(rebasing: raw[i..<(i + LogFrame.headerSize)])
                if let header = LogFrame.parseHeader(headerBytes), i + LogFrame.headerSize + header.payloadLength <= raw.count {
                    let start = i + LogFrame.headerSize
                    let payload = UnsafeRawBufferPointer(rebasing: raw[start..<(start + header.payloadLength)])
                    if LogFrame.matches(header, headerBytes: headerBytes, payload: payload) { return position + Int64(i) }
                }
                i += 1
            }
            return nil
        }
    }

    /// The length of the valid frames at the start of the segment file `fd` (at `path`, of
    /// `size` bytes): where the first torn or damaged frame begins, or `size`.
    static func validLength(_ fd: Int32, size: Int64, path: String) throws -> Int64 {
        var position: Int64 = 0
        var header = [UInt8](repeating: 0, count: LogFrame.headerSize)
        var payload: [UInt8] = []
        while position + Int64(LogFrame.headerSize) <= size {
            let whole = try header.withUnsafeMutableBytes { raw in
                try readFully(fd, raw.baseAddress!, count: LogFrame.headerSize, at: position, path: path)
            }
            guard whole, let parsed = header.withUnsafeBytes({ LogFrame.parseHeader($0) }),
                  position + Int64(LogFrame.headerSize + parsed.payloadLength) <= size else { break }
            if payload.count < parsed.payloadLength { payload = [UInt8](repeating: 0, count: parsed.payloadLength) }
            let read = try payload.withUnsafeMutableBytes { raw in
                try readFully(fd, raw.baseAddress!, count: parsed.payloadLength, at: position + Int64(LogFrame.headerSize), path: path)
            }
            let intact = read && header.withUnsafeBytes { h in
                payload.withUnsafeBytes { p in
                    LogFrame.matches(parsed, headerBytes: h, payload: UnsafeRawBufferPointer(rebasing: p[0..<parsed.payloadLength]))
                }
            }
            guard intact else { break }
            position += Int64(LogFrame.headerSize + parsed.payloadLength)
        }
        return position
    }
}
