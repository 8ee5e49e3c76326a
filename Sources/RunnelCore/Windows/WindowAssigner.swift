/// Assigns elements to windows (Flink's `WindowAssigner`); holds no state of its own.
public protocol WindowAssigner: Sendable {
    /// Whether windows are measured in event time (else processing time).
    var isEventTime: Bool { get }
    /// Whether windows merge when they intersect (session windows).
    var isMerging: Bool { get }
    /// Calls `body` for each window the element at `timestamp` belongs to.
    /// - Parameters:
    ///   - timestamp: the element's event timestamp.
    ///   - processingTime: the current processing time (used by processing-time assigners).
    func assignWindows(timestamp: Timestamp, processingTime: Timestamp, _ body: (TimeWindow) -> Void)
}

/// The start of the window of `size` (shifted by `offset`) that contains `timestamp`,
/// correct for negative timestamps too.
func windowStart(_ timestamp: Timestamp, size: Int64, offset: Int64) -> Timestamp {
    let r = (timestamp &- offset) % size
    return timestamp &- (r < 0 ? r + size : r)
}

/// Fixed-size, non-overlapping windows.
public struct TumblingWindows: WindowAssigner {
    /// Window length in milliseconds.
    public let size: Int64
    /// Shift of window boundaries from the epoch in milliseconds (e.g. for time zones).
    public let offset: Int64
    public let isEventTime: Bool
    public var isMerging: Bool { false }

    /// Tumbling windows of `size`, aligned to the epoch plus `offset`.
    public init(_ size: Duration, offset: Duration = .zero, domain: TimeDomain = .eventTime) {
        precondition(size > .zero, "window size must be positive")
        self.size = size.milliseconds
        self.offset = offset.milliseconds % self.size
        self.isEventTime = domain == .eventTime
    }

    public func assignWindows(timestamp: Timestamp, processingTime: Timestamp, _ body: (TimeWindow) -> Void) {
        let t = isEventTime ? timestamp : processingTime
        let start = windowStart(t, size: size, offset: offset)
        body(TimeWindow(start: start, end: start &+ size))
    }
}

/// Fixed-size windows that start every `slide`, so an element is in `size / slide` windows.
public struct SlidingWindows: WindowAssigner {
    /// Window length in milliseconds.
    public let size: Int64
    /// Distance between window starts in milliseconds.
    public let slide: Int64
    /// Shift of window boundaries from the epoch in milliseconds.
    public let offset: Int64
    public let isEventTime: Bool
    public var isMerging: Bool { false }

    /// Sliding windows of `size` every `slide`.
    public init(size: Duration, slide: Duration, offset: Duration = .zero, domain: TimeDomain = .eventTime) {
        precondition(size > .zero && slide > .zero, "window size and slide must be positive")
        self.size = size.milliseconds
        self.slide = slide.milliseconds
        self.offset = offset.milliseconds % self.slide
        self.isEventTime = domain == .eventTime
    }

    public func assignWindows(timestamp: Timestamp, processingTime: Timestamp, _ body: (TimeWindow) -> Void) {
        let t = isEventTime ? timestamp : processingTime
        var start = windowStart(t, size: slide, offset: offset)
        while start > t &- size {
            body(TimeWindow(start: start, end: start &+ size))
            start &-= slide
        }
    }
}

/// Windows per key that grow while elements keep arriving within `gap` of each other.
///
/// Each element gets the window `[t, t + gap)`; intersecting windows of a key merge. An
/// element `gap` or more after the previous one of its key starts a new session.
public struct SessionWindows: WindowAssigner {
    /// The inactivity gap in milliseconds.
    public let gap: Int64
    public let isEventTime: Bool
    public var isMerging: Bool { true }

    /// Session windows with an inactivity gap.
    public init(gap: Duration, domain: TimeDomain = .eventTime) {
        precondition(gap > .zero, "session gap must be positive")
        self.gap = gap.milliseconds
        self.isEventTime = domain == .eventTime
    }

    public func assignWindows(timestamp: Timestamp, processingTime: Timestamp, _ body: (TimeWindow) -> Void) {
        let t = isEventTime ? timestamp : processingTime
        body(TimeWindow(start: t, end: t &+ gap))
    }
}
