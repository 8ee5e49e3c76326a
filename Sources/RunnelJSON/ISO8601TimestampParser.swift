/// Parses timestamps exactly as ``ISO8601Timestamp/parseMillis(_:)`` does, remembering the
/// date of the last one it parsed.
///
/// Events arrive roughly in time order, so consecutive timestamps nearly always share
/// their `YYYY-MM-DD` prefix; when the ten bytes match the remembered ones, the date's
/// validation and calendar arithmetic are skipped and only the time of day is parsed.
/// Results are identical to the stateless parser's.
///
/// Thread safety: a value type; give each decoder its own.
public struct ISO8601TimestampParser {
    /// The first eight bytes of the remembered date (`YYYY-MM-`).
    private var datePrefix: UInt64 = 0
    /// Its last two bytes (`DD`).
    private var dateSuffix: UInt16 = 0
    /// Milliseconds at the start of the remembered day; nil until a timestamp was parsed.
    private var dayStart: Int64?

    /// A parser with nothing remembered.
    public init() {}

    /// Milliseconds since 1970-01-01T00:00:00Z of `YYYY-MM-DDTHH:MM:SS[.f]Z`, or nil.
    public mutating func parseMillis(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard ISO8601Timestamp.hasValidLength(bytes.count), let base = bytes.baseAddress else { return nil }
        let prefix = base.loadUnaligned(as: UInt64.self)
        let suffix = base.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        let start: Int64
        if let dayStart, prefix == datePrefix, suffix == dateSuffix {
            start = dayStart
        } else {
            guard let days = ISO8601Timestamp.parseDays(bytes) else { return nil }
            start = days * ISO8601Timestamp.millisPerDay
            datePrefix = prefix
            dateSuffix = suffix
            dayStart = start
        }
        guard let millisOfDay = ISO8601Timestamp.parseMillisOfDay(bytes) else { return nil }
        return start + millisOfDay
    }
}
