/// Formats timestamps exactly as ``ISO8601Timestamp/format(millis:to:)`` does, remembering
/// the date text of the last one it formatted.
///
/// Sinks write window boundaries and event times that nearly always fall on the day of
/// the previous one; the calendar arithmetic and the ten date bytes are then reused and
/// only the time of day is written.
///
/// Thread safety: a value type; give each writer its own.
public struct ISO8601TimestampFormatter {
    /// The day (since 1970-01-01) whose date text is remembered; nil until one is.
    private var day: Int64?
    /// `YYYY-MM-` of that day.
    private var datePrefix: UInt64 = 0
    /// `DD` of that day.
    private var dateSuffix: UInt16 = 0

    /// A formatter with nothing remembered.
    public init() {}

    /// Writes `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (``ISO8601Timestamp/fixedLength``
    /// bytes) at `text`; returns the bytes written, or nil (writing nothing) for years
    /// outside 0...9999.
    public mutating func format(millis: Int64, to text: UnsafeMutablePointer<UInt8>) -> Int? {
        let (days, msOfDay) = ISO8601Timestamp.floorDivide(millis, ISO8601Timestamp.millisPerDay)
        let raw = UnsafeMutableRawPointer(text)
        if days == day {
            raw.storeBytes(of: datePrefix, as: UInt64.self)
            raw.storeBytes(of: dateSuffix, toByteOffset: 8, as: UInt16.self)
        } else {
            guard ISO8601Timestamp.formatDate(days: days, to: text) else { return nil }
            day = days
            datePrefix = raw.loadUnaligned(as: UInt64.self)
            dateSuffix = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        }
        ISO8601Timestamp.formatTimeOfDay(Int(msOfDay), to: text)
        return ISO8601Timestamp.fixedLength
    }
}
