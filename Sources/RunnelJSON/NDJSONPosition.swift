/// Where an `NDJSONFileReader` stands: the start of the next line it will
/// hand out. Checkpointing this pair and passing it back to
/// `NDJSONFileReader.init(path:range:resumeAt:lineNumber:chunkSize:)` resumes
/// reading exactly after the last line that was consumed.
public struct NDJSONPosition: Sendable, Hashable {
    /// Byte offset (from the start of the file) of the next unread line.
    public var offset: Int64
    /// 1-based line number of that line.
    public var lineNumber: Int64

    /// Creates a position from a line-start offset and its line number.
    public init(offset: Int64, lineNumber: Int64) {
        self.offset = offset
        self.lineNumber = lineNumber
    }
}
