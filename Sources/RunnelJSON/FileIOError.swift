#if canImport(Glibc)
import Glibc
#endif

/// A failed POSIX file operation in the NDJSON readers, carrying `errno` so
/// that callers can distinguish e.g. a missing file from an I/O fault.
public struct FileIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The system call that failed (`open`, `pread`, `fstat`).
    public let operation: String
    /// The file it was applied to.
    public let path: String
    /// The `errno` value it reported.
    public let code: Int32

    /// Records a failure of `operation` on `path` with `errno` value `code`.
    public init(operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// E.g. `cannot open /data/x.ndjson: No such file or directory (errno 2)`.
    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))"
    }
}
