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
    /// The mapping that resolves the number of the line at `numberBase` (see
    /// ``NDJSONLineNumber``), or nil when `numberCount` is the line's number. Not retained:
    /// the reader keeps it alive while the line is valid, and ``number`` retains it.
    @usableFromInline let numberMapping: Unmanaged<NDJSONFileMapping>?
    @usableFromInline let numberBase: Int64
    @usableFromInline let numberCount: Int64

    /// Makes a view of a line whose number is known; used by the reader and by tests that
    /// fabricate lines.
    @inlinable
    public init(bytes: UnsafeRawBufferPointer, offset: Int64, lineNumber: Int64) {
        self.init(bytes: bytes, offset: offset, count: lineNumber, after: 0, in: nil)
    }

    /// Makes a view of the line `count` lines after the line starting at `base`, numbered
    /// through `mapping` when read (or numbered `count` when `mapping` is nil).
    @inlinable
    init(bytes: UnsafeRawBufferPointer, offset: Int64, count: Int64, after base: Int64, in mapping: Unmanaged<NDJSONFileMapping>?) {
        self.bytes = bytes
        self.offset = offset
        numberMapping = mapping
        numberBase = base
        numberCount = count
    }

    /// The line's number, in a form that may be kept (in a dead letter, say) and resolved
    /// only when read: cheaper than ``lineNumber`` when it may never be.
    @inlinable
    public var number: NDJSONLineNumber {
        NDJSONLineNumber(mapping: numberMapping?.takeUnretainedValue(), base: numberBase, count: numberCount)
    }

    /// 1-based line number of the line in the file (resolved now; see ``number``).
    public var lineNumber: Int64 { number.value }
}

/// Borrowed pointers must not cross threads.
@available(*, unavailable)
extension NDJSONLine: Sendable {}
