import CLibUV

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Watches POSIX signals (by default `SIGINT` and `SIGTERM`) and reports them on an
/// ``EventLoop``'s thread, using one `uv_signal_t` per signal.
///
/// libuv installs a process-wide handler that only writes to a pipe, so the callback
/// runs as ordinary loop-thread code, not in signal-handler context, and may do
/// anything (start a graceful shutdown, flush state, ...). While a watcher for a
/// signal exists, that signal no longer has its default action (e.g. `SIGINT` no longer
/// terminates the process); libuv restores the default once no watcher remains.
///
/// ## Lifetime
/// Each handle's `data` keeps the watcher alive until its close callback, so a watcher
/// works without being stored; ``stop()`` or loop shutdown closes it.
///
/// ### Thread safety
/// Not `Sendable`: create, use and stop it on its loop's thread (enforced).
public final class SignalWatcher {
    /// The loop whose thread runs the callback.
    public let loop: EventLoop

    /// The watched signal numbers, without duplicates, in the order given.
    public let signals: [Int32]

    private let handles: [UnsafeMutablePointer<uv_signal_t>]
    private var callback: ((Int32) -> Void)?
    private var isStopped = false

    /// Starts watching `signals` on `loop`.
    ///
    /// - Parameters:
    ///   - loop: The loop whose thread runs `callback`.
    ///   - signals: Signal numbers to watch; defaults to `SIGINT` and `SIGTERM`.
    ///   - callback: Runs on the loop thread with the signal number, once per delivery
    ///     that libuv observes (deliveries of the same signal arriving faster than the
    ///     loop runs may coalesce, as they do in the kernel).
    /// - Throws: ``UVError`` (e.g. `EINVAL` for an invalid signal number), in which
    ///   case nothing stays installed.
    /// - Precondition: Called on `loop`'s thread.
    public init(
        loop: EventLoop,
        signals: [Int32] = [SIGINT, SIGTERM],
        _ callback: @escaping (Int32) -> Void
    ) throws(UVError) {
        loop.preconditionInEventLoop()
        var unique: [Int32] = []
        for signal in signals where !unique.contains(signal) {
            unique.append(signal)
        }
        // Start every handle before `self` exists so a failure can be rolled back
        // without a half-built object; `data` stays nil until then, and the signal
        // callback ignores such handles (none can fire before this init returns,
        // because callbacks run on this very thread).
        var started: [UnsafeMutablePointer<uv_signal_t>] = []
        for signal in unique {
            let handle = UnsafeMutablePointer<uv_signal_t>.allocate(capacity: 1)
            var result = uv_signal_init(loop.uvLoop, handle)
            if result == 0 {
                result = uv_signal_start(handle, signalWatcherFired, signal)
                if result < 0 {
                    uv_close(runnel_uv_signal_as_handle(handle), signalHandleFreeOnClose)
                }
            } else {
                handle.deallocate()
            }
            if result < 0 {
                for handle in started {
                    uv_close(runnel_uv_signal_as_handle(handle), signalHandleFreeOnClose)
                }
                throw UVError(code: result, operation: "uv_signal_start(\(signal))")
            }
            started.append(handle)
        }
        self.loop = loop
        self.signals = unique
        self.handles = started
        self.callback = callback
        for handle in started {
            // One retain per handle, each balanced by one release in signalWatcherClosed.
            uv_handle_set_data(runnel_uv_signal_as_handle(handle), Unmanaged.passRetained(self).toOpaque())
        }
        if !loop.registerHandleOwner(self) {
            stop()
        }
    }

    deinit {
        // Reached only after every handle's close callback released its reference.
        for handle in handles {
            handle.deallocate()
        }
    }

    /// Stops watching; the callback will not run again. Idempotent.
    ///
    /// - Precondition: Called on the loop thread.
    public func stop() {
        loop.preconditionInEventLoop()
        guard !isStopped else { return }
        isStopped = true
        callback = nil
        loop.unregisterHandleOwner(self)
        for handle in handles {
            uv_close(runnel_uv_signal_as_handle(handle), signalWatcherClosed)
        }
    }

    /// Whether ``stop()`` has been called or the loop has shut down.
    ///
    /// - Precondition: Read on the loop thread.
    public var isActive: Bool {
        loop.preconditionInEventLoop()
        return !isStopped
    }

    fileprivate func deliver(_ signal: Int32) {
        guard let callback else { return }
        callback(signal)
    }
}

extension SignalWatcher: LoopHandleOwner {
    func closeForShutdown() {
        stop()
    }
}

/// libuv signal callback (loop thread): forwards to the owning ``SignalWatcher``.
private func signalWatcherFired(_ handle: UnsafeMutablePointer<uv_signal_t>?, _ signal: Int32) {
    guard let handle, let data = uv_handle_get_data(runnel_uv_signal_as_handle(handle)) else { return }
    Unmanaged<SignalWatcher>.fromOpaque(data).takeUnretainedValue().deliver(signal)
}

/// libuv close callback for a watcher's handle: drops that handle's reference.
private func signalWatcherClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = uv_handle_get_data(handle) else { return }
    uv_handle_set_data(handle, nil)
    Unmanaged<SignalWatcher>.fromOpaque(data).release()
}

/// libuv close callback for a handle rolled back during a failed init: no owner exists
/// yet, so the callback itself frees the handle memory.
private func signalHandleFreeOnClose(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle else { return }
    UnsafeMutableRawPointer(handle).deallocate()
}
