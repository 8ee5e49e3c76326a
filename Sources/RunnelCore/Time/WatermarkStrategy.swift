/// How a source assigns event timestamps and generates watermarks.
///
/// Mirrors Flink's `WatermarkStrategy`: a timestamp assigner, a generator factory (one
/// generator per source split), and an optional idleness timeout after which a split that
/// produced nothing is excluded from downstream watermark computation.
public struct WatermarkStrategy<Element>: Sendable {
    /// Extracts the event timestamp (milliseconds) of an element.
    public let timestamp: @Sendable (Element) -> Timestamp
    /// Makes a fresh generator for one source split.
    public let makeGenerator: @Sendable () -> any WatermarkGenerator
    /// Processing-time milliseconds without records after which a split is marked idle.
    public let idleTimeoutMilliseconds: Int64?

    /// Creates a strategy from its parts (custom generators).
    public init(
        timestamp: @escaping @Sendable (Element) -> Timestamp,
        idleTimeoutMilliseconds: Int64? = nil,
        makeGenerator: @escaping @Sendable () -> any WatermarkGenerator
    ) {
        self.timestamp = timestamp
        self.makeGenerator = makeGenerator
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
    }

    /// Watermarks that trail the largest timestamp seen by `bound`.
    public static func boundedOutOfOrderness(
        _ bound: Duration, timestamp: @escaping @Sendable (Element) -> Timestamp
    ) -> WatermarkStrategy {
        let ms = bound.milliseconds
        return WatermarkStrategy(timestamp: timestamp) { BoundedOutOfOrdernessGenerator(boundMilliseconds: ms) }
    }

    /// Watermarks for input whose timestamps never decrease.
    public static func monotonousTimestamps(
        timestamp: @escaping @Sendable (Element) -> Timestamp
    ) -> WatermarkStrategy {
        WatermarkStrategy(timestamp: timestamp) { BoundedOutOfOrdernessGenerator(boundMilliseconds: 0) }
    }

    /// Marks a split idle after `timeout` of processing time without records, so that it
    /// does not hold back the watermark of the tasks downstream.
    public func withIdleness(_ timeout: Duration) -> WatermarkStrategy {
        WatermarkStrategy(timestamp: timestamp, idleTimeoutMilliseconds: timeout.milliseconds, makeGenerator: makeGenerator)
    }
}
