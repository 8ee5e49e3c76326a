/// A half-open interval of time `[start, end)` in milliseconds.
public struct TimeWindow: StreamKey, Comparable, CustomStringConvertible {
    /// The first millisecond in the window.
    public var start: Timestamp
    /// The first millisecond after the window.
    public var end: Timestamp

    /// Creates a window.
    public init(start: Timestamp, end: Timestamp) {
        self.start = start
        self.end = end
    }

    /// The largest timestamp that belongs to the window; an event-time window is complete
    /// once the watermark reaches it.
    public var maxTimestamp: Timestamp { end &- 1 }

    /// Whether the windows share at least one millisecond. Windows that merely touch
    /// (`a.end == b.start`) do not intersect: a session gap of exactly `gap` separates
    /// sessions (Flink would merge them; Runnel does not).
    public func intersects(_ other: TimeWindow) -> Bool {
        start < other.end && other.start < end
    }

    /// The smallest window covering both.
    public func cover(_ other: TimeWindow) -> TimeWindow {
        TimeWindow(start: min(start, other.start), end: max(end, other.end))
    }

    /// One word for both bounds (windows are hashed with every timer operation).
    public var stableHash: UInt64 {
        StableHash.mix(UInt64(bitPattern: start) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: end))
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(UInt64(bitPattern: start) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(bitPattern: end))
    }

    public static func < (a: TimeWindow, b: TimeWindow) -> Bool {
        (a.start, a.end) < (b.start, b.end)
    }

    public var description: String { "[\(start), \(end))" }
}
