/// The processing-time clock and timer facility of one task.
///
/// The libuv runtime implements it with `uv_timer` on the task's loop; the embedded
/// runtime in `RunnelTesting` with a manual clock that tests advance by hand. Callbacks
/// always run on the task's own thread.
public protocol ProcessingTimeService: AnyObject {
    /// The current processing time in milliseconds since the epoch.
    var currentTime: Timestamp { get }
    /// Runs `callback` once the processing time reaches `time` (at once if it has).
    func schedule(at time: Timestamp, _ callback: @escaping (Timestamp) -> Void)
}
