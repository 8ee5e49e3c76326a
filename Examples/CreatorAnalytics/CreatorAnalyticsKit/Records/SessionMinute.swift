import RunnelCore
import RunnelJSON

/// The sessions that closed in one minute: a record of the `platform` topic.
public struct SessionMinute: Sendable, Equatable {
    /// The window's start (ms).
    public var windowStart: Timestamp
    /// The window's end (ms, exclusive).
    public var windowEnd: Timestamp
    /// The metrics.
    public var metrics: SessionMinuteAggregate.Accumulator

    /// Creates a record.
    public init(windowStart: Timestamp, windowEnd: Timestamp, metrics: SessionMinuteAggregate.Accumulator) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.metrics = metrics
    }

    /// Writes `{"type":"session_minute","window_start":…,"sessions":N,"avg_duration_seconds":…,
    /// "p50_duration_seconds":…,"p90_duration_seconds":…,"bounce_rate":…}` (durations to the
    /// millisecond, the rate to four decimals).
    public func encode(into json: inout JSONWriter) {
        json.beginObject()
        json.key("type"); json.string("session_minute")
        json.key("window_start"); json.timestamp(millis: windowStart)
        json.key("window_end"); json.timestamp(millis: windowEnd)
        json.key("sessions"); json.int(metrics.sessions)
        json.key("avg_duration_seconds"); json.fixed(metrics.averageDurationSeconds, decimals: 3)
        json.key("p50_duration_seconds"); json.fixed(metrics.durationSeconds(atQuantile: 0.5), decimals: 3)
        json.key("p90_duration_seconds"); json.fixed(metrics.durationSeconds(atQuantile: 0.9), decimals: 3)
        json.key("bounce_rate"); json.fixed(metrics.bounceRate, decimals: 4)
        json.endObject()
    }

    /// The record as one JSON object's text.
    public var jsonText: String {
        var json = JSONWriter(capacity: 256)
        encode(into: &json)
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
