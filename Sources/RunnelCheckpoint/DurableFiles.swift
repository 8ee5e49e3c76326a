#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file operations checkpoints are built from: whole-file writes that reach the disk
/// before they count (write, `fsync`, then rename or directory `fsync`), reads, listings and
/// removals. A failure is a ``CheckpointIOError`` naming the operation, the path and errno.
/// Other modules that keep files on disk (the durable log, the benchmarks) use the public
/// ones rather than writing them again.
public enum DurableFiles {
    /// Writes `bytes` to a new file at `path` and flushes it to stable storage.
    static func writeNew(_ path: String, _ bytes: [UInt8]) throws(CheckpointIOError) {
        try writeNew(path, pieces: [bytes])
    }

    /// Creates the file at `path` holding the concatenation of `pieces` and flushes it.
    ///
    /// Files of ``directWriteThreshold`` bytes or more are written with `O_DIRECT` where the
    /// file system allows it (``DirectFileWriter``), so that a checkpoint's state goes from
    /// the writer's buffers to the disk without being copied into the page cache first;
    /// otherwise, and for small files, with plain writes.
    static func writeNew(_ path: String, pieces: [[UInt8]]) throws(CheckpointIOError) {
        let total = pieces.reduce(0) { $0 + $1.count }
        if total >= directWriteThreshold, try DirectFileWriter.writeNew(path, pieces: pieces, total: total) { return }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointIOError(operation: "create", path: path, code: errno) }
        try complete(fd, path: path) { () throws(CheckpointIOError) in
            for piece in pieces { try writeAll(fd, piece, path: path) }
        }
    }

    /// Fills the new file `fd` (at `path`) with `write`, flushes it to stable storage and
    /// closes it; on any failure the file is closed and removed.
    static func complete(_ fd: Int32, path: String, _ write: () throws(CheckpointIOError) -> Void) throws(CheckpointIOError) {
        do throws(CheckpointIOError) {
            try write()
            guard fsync(fd) == 0 else { throw CheckpointIOError(operation: "fsync", path: path, code: errno) }
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        guard close(fd) == 0 else { throw CheckpointIOError(operation: "close", path: path, code: errno) }
    }

    /// Files at least this large are written with `O_DIRECT` when possible.
    static let directWriteThreshold = 1 << 20

    /// Replaces the file at `path` atomically: a temporary file is written and flushed, then
    /// renamed over `path`, and the directory is flushed.
    public static func replace(_ path: String, _ bytes: [UInt8]) throws(CheckpointIOError) {
        let temporary = directory(of: path) + "/." + name(of: path) + ".tmp-\(getpid())"
        unlink(temporary)
        try writeNew(temporary, bytes)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw CheckpointIOError(operation: "rename", path: path, code: code)
        }
        try syncDirectory(directory(of: path))
    }

    /// Writes all of `bytes` to the open file `fd` (at `path`, for errors), retrying after
    /// interruptions and short writes.
    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(CheckpointIOError) {
        var failure: CheckpointIOError?
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = CheckpointIOError(operation: "write", path: path, code: errno)
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
    }

    /// Flushes a directory's entries (a created, renamed or removed name) to stable storage.
    public static func syncDirectory(_ path: String) throws(CheckpointIOError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointIOError(operation: "open directory", path: path, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw CheckpointIOError(operation: "fsync directory", path: path, code: errno) }
    }

    /// The whole content of the file at `path`.
    public static func read(_ path: String) throws(CheckpointIOError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointIOError(operation: "open", path: path, code: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw CheckpointIOError(operation: "stat", path: path, code: errno) }
        // Read straight into a buffer of the file's size (checkpoint files reach hundreds of
        // megabytes; growing a buffer chunk by chunk made restores several times slower),
        // then on until end of file in case it grew.
        var result = [UInt8](repeating: 0, count: max(Int(info.st_size), 0) + 1)
        var filled = 0
        while true {
            if filled == result.count { result.append(contentsOf: repeatElement(0, count: max(result.count, 1 << 16))) }
            let n = result.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointIOError(operation: "read", path: path, code: errno)
            }
            if n == 0 { break }
            filled += n
        }
        result.removeLast(result.count - filled)
        return result
    }

    /// Creates a directory (and its parents); an existing one is fine.
    public static func makeDirectory(_ path: String) throws(CheckpointIOError) {
        if isDirectory(path) { return }
        let parent = directory(of: path)
        if parent != path && !parent.isEmpty && !isDirectory(parent) { try makeDirectory(parent) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw CheckpointIOError(operation: "mkdir", path: path, code: errno)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// The names in a directory (without `.` and `..`).
    public static func list(_ path: String) throws(CheckpointIOError) -> [String] {
        guard let dir = opendir(path) else { throw CheckpointIOError(operation: "opendir", path: path, code: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a file or a directory tree; a missing path is fine.
    public static func removeTree(_ path: String) throws(CheckpointIOError) {
        if isDirectory(path) {
            for name in try list(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw CheckpointIOError(operation: "rmdir", path: path, code: errno) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw CheckpointIOError(operation: "unlink", path: path, code: errno) }
        }
    }

    /// Renames `from` to `to` and flushes the parent directory.
    static func renameDurably(_ from: String, _ to: String) throws(CheckpointIOError) {
        guard rename(from, to) == 0 else { throw CheckpointIOError(operation: "rename", path: from, code: errno) }
        try syncDirectory(directory(of: to))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// A file operation of the checkpoint store failed.
public struct CheckpointIOError: Error, Equatable, CustomStringConvertible {
    /// What was attempted (`write`, `fsync`, `rename`, …).
    public var operation: String
    /// The path involved.
    public var path: String
    /// The errno value.
    public var code: Int32

    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}
