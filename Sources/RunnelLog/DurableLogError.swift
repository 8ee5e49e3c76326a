/// A ``DurableLog`` operation failed.
public struct DurableLogError: Error, CustomStringConvertible, Sendable {
    /// What was being done (`open`, `write`, `fsync`, `read`, …).
    public var operation: String
    /// The file or directory involved.
    public var path: String
    /// The `errno`, when the operating system refused.
    public var code: Int32?
    /// Details, when it is not an operating-system error (a damaged frame, a missing segment).
    public var detail: String?

    /// An operating-system error.
    init(_ operation: String, path: String, code: Int32) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// Another error.
    init(_ operation: String, path: String, detail: String) {
        self.operation = operation
        self.path = path
        self.detail = detail
    }

    public var description: String {
        if let code { return "durable log: \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))" }
        return "durable log: \(operation) \(path): \(detail ?? "failed")"
    }
}

#if canImport(Glibc)
import Glibc
#endif
