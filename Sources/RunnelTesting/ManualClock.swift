import RunnelCore

/// A processing-time service whose time moves only when a test advances it.
///
/// Thread safety: single-threaded, like the embedded runner that uses it.
public final class ManualClock: ProcessingTimeService {
    private struct Scheduled {
        var time: Timestamp
        var sequence: Int
        var callback: (Timestamp) -> Void
    }

    /// The current processing time.
    public private(set) var currentTime: Timestamp
    private var scheduled: [Scheduled] = []
    private var sequence = 0

    /// Creates a clock at `start` milliseconds.
    public init(start: Timestamp = 0) { currentTime = start }

    public func schedule(at time: Timestamp, _ callback: @escaping (Timestamp) -> Void) {
        sequence += 1
        scheduled.append(Scheduled(time: time, sequence: sequence, callback: callback))
    }

    /// The number of callbacks waiting.
    public var pendingCallbacks: Int { scheduled.count }

    /// Moves time forward to `time`, running due callbacks in time order (each sees the time it was due at or later).
    public func advance(to time: Timestamp) {
        precondition(time >= currentTime, "time cannot go backwards")
        while let i = scheduled.indices.min(by: { (scheduled[$0].time, scheduled[$0].sequence) < (scheduled[$1].time, scheduled[$1].sequence) }),
              scheduled[i].time <= time {
            let s = scheduled.remove(at: i)
            currentTime = max(currentTime, s.time)
            s.callback(currentTime)
        }
        currentTime = time
    }

    /// Moves time forward by `duration`.
    public func advance(by duration: Duration) { advance(to: currentTime + duration.milliseconds) }
}
