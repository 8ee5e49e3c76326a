import RunnelCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An output file shared by the subtasks of one or more sinks: each subtask fills its own
/// buffer and appends whole buffers under a lock, so lines never interleave.
///
/// Thread safety: `append` and `sync` may be called from any thread.
public final class SharedFileOutput: Sendable {
    /// The file's path (`-` for standard output).
    public let path: String
    private let fd: Int32
    /// Only regular files are fsynced (devices and pipes reject it).
    private let isRegularFile: Bool
    private let lock = Mutex<Void>(())

    /// Creates the file, truncated unless `append` (then lines go after what it holds);
    /// `-` writes to standard output.
    public init(path: String, append: Bool = false) throws {
        self.path = path
        if path == "-" {
            fd = STDOUT_FILENO
        } else {
            fd = open(path, O_WRONLY | O_CREAT | (append ? 0 : O_TRUNC) | O_APPEND | O_CLOEXEC, 0o644)
            if fd < 0 { throw SinkError.io(operation: "open", path: path, errno: errno) }
        }
        var info = stat()
        isRegularFile = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    deinit {
        if fd != STDOUT_FILENO { close(fd) }
    }

    /// Appends `bytes` as one contiguous run.
    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Appends `raw` as one contiguous run.
    public func append(_ raw: UnsafeRawBufferPointer) throws {
        try lock.withLock { _ in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw SinkError.io(operation: "write", path: path, errno: errno)
                }
                done += n
            }
        }
    }

    /// Flushes the file to stable storage (no-op for standard output).
    public func sync() throws {
        guard isRegularFile else { return }
        if fsync(fd) != 0 { throw SinkError.io(operation: "fsync", path: path, errno: errno) }
    }
}

/// Errors of file sinks.
public enum SinkError: Error, CustomStringConvertible {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .io(let op, let path, let e): return "\(op) \(path): \(String(cString: strerror(e)))"
        }
    }
}
