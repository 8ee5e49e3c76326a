import RunnelJSON

/// An input line that failed validation, kept with its reason for the dead-letter file.
public struct DeadLetter: Sendable, Hashable {
    /// The 1-based line number in the input file, resolved when read (a replay's readers
    /// number their blocks' lines before they know where the blocks start, see
    /// `NDJSONLineNumber`; a letter that is never written never resolves it).
    public var line: NDJSONLineNumber
    /// Why the line was rejected.
    public var reason: String
    /// The line as read (invalid UTF-8 replaced), cut at ``maximumRawBytes``.
    public var raw: String

    /// Longer lines are cut in the dead-letter file to keep it readable.
    public static let maximumRawBytes = 64 * 1024

    /// Creates a dead letter.
    public init(line: NDJSONLineNumber, reason: String, raw: String) {
        self.line = line
        self.reason = reason
        self.raw = raw
    }

    /// Creates a dead letter for a line whose number is known.
    public init(lineNumber: Int64, reason: String, raw: String) {
        self.init(line: NDJSONLineNumber(lineNumber), reason: reason, raw: raw)
    }

    /// The 1-based line number in the input file (resolved now).
    public var lineNumber: Int64 { line.value }

    /// Writes `{"line":…,"reason":…,"raw":…}`.
    public func encode(into json: inout JSONWriter) {
        json.beginObject()
        json.key("line"); json.int(lineNumber)
        json.key("reason"); json.string(reason)
        json.key("raw"); json.string(raw)
        json.endObject()
    }
}
