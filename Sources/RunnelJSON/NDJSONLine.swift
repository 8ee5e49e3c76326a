/// One line handed out by `NDJSONFileReader`: a borrowed view, not a copy.
///
/// `bytes` excludes the terminating `"\n"` and a `"\r"` just before it, and
/// points into the reader's `PaddedBuffer`, so it is followed by at least
/// `JSONLineParser.requiredPadding` readable bytes and can be passed to
/// `JSONLineParser.parse` directly. It is valid only until the reader is next
/// asked for a line (a refill may move or overwrite the buffer), which is why
/// the type is not `Sendable` and should not be stored.
public struct NDJSONLine {
    /// The line's content, without its line terminator.
    public let bytes: UnsafeRawBufferPointer
    /// Byte offset of the line's first byte in the file.
    public let offset: Int64
    /// 1-based line number of the line in the file.
    public let lineNumber: Int64

    /// Makes a view; used by the reader and by tests that fabricate lines.
    @inlinable
    public init(bytes: UnsafeRawBufferPointer, offset: Int64, lineNumber: Int64) {
        self.bytes = bytes
        self.offset = offset
        self.lineNumber = lineNumber
    }
}

/// Borrowed pointers must not cross threads.
@available(*, unavailable)
extension NDJSONLine: Sendable {}
