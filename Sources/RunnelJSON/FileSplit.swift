/// A byte range of an NDJSON file assigned to one reader, with boundaries on
/// line starts, as produced by `NDJSONSplitPlanner.plan(path:splits:)`.
///
/// Ranges are half-open, `[start, end)`; a line belongs to the split whose
/// range contains its first byte. Carrying `firstLineNumber` lets each reader
/// report file-wide line numbers without scanning the file before its range.
public struct FileSplit: Sendable, Hashable {
    /// Offset of the first byte of the split (a line start, or the file size for a trailing empty split).
    public var start: Int64
    /// Offset one past the last byte whose line belongs to this split.
    public var end: Int64
    /// 1-based number of the line that starts at `start`.
    public var firstLineNumber: Int64

    /// Creates a split; `start <= end` is required.
    public init(start: Int64, end: Int64, firstLineNumber: Int64) {
        precondition(start <= end, "FileSplit start must not exceed end")
        self.start = start
        self.end = end
        self.firstLineNumber = firstLineNumber
    }

    /// True if no line starts inside the split.
    public var isEmpty: Bool { start == end }

    /// The split as a `Range`, for `NDJSONFileReader`.
    public var range: Range<Int64> { start..<end }
}
