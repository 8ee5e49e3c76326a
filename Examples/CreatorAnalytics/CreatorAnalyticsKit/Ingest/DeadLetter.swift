import RunnelJSON

/// An input line that failed validation, kept with its reason for the dead-letter file.
public struct DeadLetter: Sendable, Hashable {
    /// The 1-based line number in the input file.
    public var lineNumber: Int64
    /// Why the line was rejected.
    public var reason: String
    /// The line as read (invalid UTF-8 replaced), cut at ``maximumRawBytes``.
    public var raw: String

    /// Longer lines are cut in the dead-letter file to keep it readable.
    public static let maximumRawBytes = 64 * 1024

    /// Creates a dead letter.
    public init(lineNumber: Int64, reason: String, raw: String) {
        self.lineNumber = lineNumber
        self.reason = reason
        self.raw = raw
    }

    /// Writes `{"line":…,"reason":…,"raw":…}`.
    public func encode(into json: inout JSONWriter) {
        json.beginObject()
        json.key("line"); json.int(lineNumber)
        json.key("reason"); json.string(reason)
        json.key("raw"); json.string(raw)
        json.endObject()
    }
}
