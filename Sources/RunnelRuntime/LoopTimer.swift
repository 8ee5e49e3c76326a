import CLibUV

/// A timer (`uv_timer_t`) on an ``EventLoop``, created with
/// ``EventLoop/scheduleTimer(afterMilliseconds:repeatMilliseconds:_:)``.
///
/// ## Lifetime
/// The libuv handle's `data` holds a retained reference to this object from creation
/// until libuv's close callback, so a scheduled timer keeps firing even when nobody
/// else references it, and its memory is freed only after libuv has finished with the
/// handle. The handle is closed by ``cancel()`` or when the loop shuts down; a one-shot
/// timer that has fired stays open (idle) so it can be rescheduled, so long-lived code
/// that is done with a timer must cancel it.
///
/// ### Thread safety
/// Not `Sendable`: confined to its loop's thread, where its callback also runs. Every
/// method traps if called from another thread.
public final class LoopTimer {
    /// The loop the timer belongs to.
    public let loop: EventLoop

    /// The repeat interval in milliseconds; `0` for a one-shot timer.
    public let repeatMilliseconds: UInt64

    private let handle: UnsafeMutablePointer<uv_timer_t>
    private var callback: (() -> Void)?
    private var isClosed = false

    /// Creates and starts the timer. Use ``EventLoop/scheduleTimer(afterMilliseconds:repeatMilliseconds:_:)``.
    init(loop: EventLoop, afterMilliseconds: UInt64, repeatMilliseconds: UInt64, callback: @escaping () -> Void) {
        self.loop = loop
        self.repeatMilliseconds = repeatMilliseconds
        self.callback = callback
        self.handle = .allocate(capacity: 1)
        // uv_timer_init only fails for an invalid loop.
        uvMust(uv_timer_init(loop.uvLoop, handle), "uv_timer_init")
        // Balanced by the release in loopTimerClosed.
        uv_handle_set_data(runnel_uv_timer_as_handle(handle), Unmanaged.passRetained(self).toOpaque())
        guard loop.registerHandleOwner(self) else {
            // The loop is tearing down: hand back an already-cancelled timer.
            cancel()
            return
        }
        uvMust(uv_timer_start(handle, loopTimerFired, afterMilliseconds, repeatMilliseconds), "uv_timer_start")
    }

    deinit {
        // Reached only after loopTimerClosed released the handle's reference, i.e.
        // after libuv is done with the memory.
        handle.deallocate()
    }

    /// Whether the timer will fire again: it is neither cancelled nor a one-shot timer
    /// that has already fired.
    ///
    /// - Precondition: Read on the loop thread.
    public var isScheduled: Bool {
        loop.preconditionInEventLoop()
        return !isClosed && uv_is_active(runnel_uv_timer_as_handle(handle)) != 0
    }

    /// Whether ``cancel()`` has been called or the loop has shut down.
    ///
    /// - Precondition: Read on the loop thread.
    public var isCancelled: Bool {
        loop.preconditionInEventLoop()
        return isClosed
    }

    /// Stops the timer for good and closes its handle; idempotent.
    ///
    /// The callback will not run again, even if it was due in the current loop
    /// iteration, and is released immediately (along with whatever it captured). Safe
    /// to call from inside the callback.
    ///
    /// - Precondition: Called on the loop thread.
    public func cancel() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        callback = nil
        loop.unregisterHandleOwner(self)
        // uv_close also stops the timer.
        uv_close(runnel_uv_timer_as_handle(handle), loopTimerClosed)
    }

    /// Restarts the countdown: the timer next fires `afterMilliseconds` from ``EventLoop/now``,
    /// then every ``repeatMilliseconds`` if non-zero.
    ///
    /// Works whether the timer is pending or is a one-shot timer that already fired;
    /// safe to call from inside the callback.
    ///
    /// - Parameter afterMilliseconds: The new delay.
    /// - Returns: `false` (and does nothing) if the timer was cancelled.
    /// - Precondition: Called on the loop thread.
    @discardableResult
    public func reschedule(afterMilliseconds: UInt64) -> Bool {
        loop.preconditionInEventLoop()
        guard !isClosed else { return false }
        uvMust(uv_timer_start(handle, loopTimerFired, afterMilliseconds, repeatMilliseconds), "uv_timer_start")
        return true
    }

    /// Runs the callback for one firing.
    fileprivate func fire() {
        // Hold the closure locally so cancel() from inside it cannot free it mid-call.
        guard !isClosed, let callback else { return }
        callback()
    }
}

extension LoopTimer: LoopHandleOwner {
    func closeForShutdown() {
        cancel()
    }
}

/// libuv timer callback: forwards to the owning ``LoopTimer``.
private func loopTimerFired(_ handle: UnsafeMutablePointer<uv_timer_t>?) {
    guard let handle, let data = uv_handle_get_data(runnel_uv_timer_as_handle(handle)) else { return }
    Unmanaged<LoopTimer>.fromOpaque(data).takeUnretainedValue().fire()
}

/// libuv close callback: drops the reference the handle held, which may free the timer.
private func loopTimerClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = uv_handle_get_data(handle) else { return }
    uv_handle_set_data(handle, nil)
    Unmanaged<LoopTimer>.fromOpaque(data).release()
}
