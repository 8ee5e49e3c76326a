/// Produces watermarks from the timestamps a source split has seen.
///
/// A generator belongs to one source split (one reader) and is called on that split's task
/// only, so it may be a mutable class without locks.
public protocol WatermarkGenerator: AnyObject {
    /// Observes the timestamp of one record read from the split.
    func onEvent(timestamp: Timestamp)
    /// The watermark the split can promise now (``Watermark/initial`` if none).
    var currentWatermark: Timestamp { get }
    /// Brings the generator to the watermark of a restored checkpoint, so that it goes on
    /// as it would have in the run that wrote it.
    func restore(watermark: Timestamp)
}

extension WatermarkGenerator {
    /// Default: no state to restore (the source still resumes at the restored watermark).
    public func restore(watermark: Timestamp) {}
}

/// A generator for input whose disorder is bounded.
///
/// An out-of-order bound `B` means: once an element with timestamp `T` was seen, no element
/// older than `T − B` follows. The watermark is therefore `maxSeen − B − 1`, so that an
/// element exactly `B` behind the newest one is still on time.
public final class BoundedOutOfOrdernessGenerator: WatermarkGenerator {
    private let bound: Int64
    private var maxTimestamp: Timestamp = .min

    /// Creates a generator for the given bound in milliseconds (0 for monotonous input).
    public init(boundMilliseconds: Int64) {
        precondition(boundMilliseconds >= 0, "out-of-orderness bound must not be negative")
        self.bound = boundMilliseconds
    }

    public func onEvent(timestamp: Timestamp) {
        if timestamp > maxTimestamp { maxTimestamp = timestamp }
    }

    /// Sets the largest timestamp seen to the one that gave `watermark`.
    public func restore(watermark: Timestamp) {
        guard watermark != Watermark.initial else { return }
        let (seen, overflow) = watermark.addingReportingOverflow(bound &+ 1)
        maxTimestamp = max(maxTimestamp, overflow ? .max : seen)
    }

    public var currentWatermark: Timestamp {
        guard maxTimestamp != .min else { return Watermark.initial }
        // Saturate instead of wrapping for timestamps near the minimum.
        let (w, overflow) = maxTimestamp.subtractingReportingOverflow(bound)
        return overflow || w == .min ? Watermark.initial : w - 1
    }
}
