/// A point in time, in milliseconds since the Unix epoch (UTC).
///
/// Runnel keeps event time and processing time as plain `Int64` milliseconds: they are
/// compared and stored once per record on the hot path, and a wrapper type bought nothing
/// but conversions. `Timestamp.min` and `Timestamp.max` are the "no watermark yet" and
/// "end of time" sentinels (see ``Watermark``).
public typealias Timestamp = Int64

/// Conversions from Swift's `Duration` to the engine's millisecond counts.
extension Duration {
    /// This duration in whole milliseconds, truncated toward zero.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Watermark sentinels and semantics.
///
/// A watermark `W` flowing in a stream is the promise that no element with a timestamp
/// `<= W` follows. Event-time windows whose last timestamp is `<= W` may fire; timers for
/// times `<= W` are due.
public enum Watermark {
    /// The watermark before any has been seen: nothing is promised.
    public static let initial: Timestamp = .min
    /// The watermark at the end of a bounded input: every window and timer is due.
    public static let endOfTime: Timestamp = .max
}
