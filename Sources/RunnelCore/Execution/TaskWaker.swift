/// Wakes a task so that its runtime schedules it to run on its own thread.
///
/// The libuv runtime implements it with `uv_async_send`, which coalesces: many wake-ups
/// before the task runs cause one run, and the task then drains everything available.
public protocol TaskWaker: AnyObject, Sendable {
    /// Requests a run of the task (any thread).
    func wake()
}

/// A waker that does nothing, for channels not yet wired.
public final class NoWaker: TaskWaker {
    /// Creates the waker.
    public init() {}
    public func wake() {}
}
