import CLibUV
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A cross-thread wake-up (`uv_async_t`) for one ``EventLoop``: any thread calls
/// ``signal()``, and the callback runs on the loop thread.
///
/// This is the primitive a consumer task waits on: a producer on another loop pushes
/// into a shared buffer, then signals; the consumer's callback drains the buffer.
///
/// ## Coalescing
/// Signals coalesce: several ``signal()`` calls before the loop gets round to the
/// callback produce a single callback invocation. A signal is never lost, though:
/// every ``signal()`` that returns `true` is followed by at least one callback
/// invocation that *starts after* it, and everything the signalling thread wrote
/// before calling ``signal()`` is visible to that invocation. So the callback must
/// drain everything that is available rather than assume one item per signal.
///
/// ## Lifetime
/// The handle's `data` keeps this object alive until libuv's close callback, which
/// runs after ``close()`` or loop shutdown. The handle memory is released only when
/// the last reference to this object goes away, so a thread that is still inside
/// ``signal()`` (and therefore holds a reference) can never touch freed memory.
///
/// ### Thread safety
/// `@unchecked Sendable`: ``signal()`` is safe from any thread (it uses only atomics
/// and the thread-safe `uv_async_send`); ``init(loop:_:)`` and ``close()`` must run on
/// the loop thread (enforced), and the callback is only ever touched there.
public final class LoopWakeup: @unchecked Sendable {
    /// The loop whose thread runs the callback.
    public let loop: EventLoop

    private let handle: UnsafeMutablePointer<uv_async_t>

    /// Loop-thread-only; `nil` once closed.
    private var callback: (() -> Void)?

    /// Bit 0: closed. Higher bits: twice the number of threads inside `uv_async_send`.
    /// ``close()`` waits for that count to reach zero before closing the handle, so a
    /// concurrent ``signal()`` never races with the loop being torn down.
    private let gate = Atomic<Int>(0)
    private static let closedBit = 1
    private static let senderUnit = 2

    /// Creates a wake-up on `loop` that runs `callback` on the loop thread.
    ///
    /// - Parameters:
    ///   - loop: The loop to wake; the wake-up is closed when it shuts down.
    ///   - callback: Runs on the loop thread once per (coalesced) batch of signals.
    /// - Throws: ``UVError`` if libuv cannot create the handle.
    /// - Precondition: Called on `loop`'s thread.
    public init(loop: EventLoop, _ callback: @escaping () -> Void) throws(UVError) {
        loop.preconditionInEventLoop()
        let handle = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        let result = uv_async_init(loop.uvLoop, handle, loopWakeupFired)
        if result < 0 {
            handle.deallocate()
            throw UVError(code: result, operation: "uv_async_init")
        }
        self.loop = loop
        self.handle = handle
        self.callback = callback
        // Balanced by the release in loopWakeupClosed.
        uv_handle_set_data(runnel_uv_async_as_handle(handle), Unmanaged.passRetained(self).toOpaque())
        if !loop.registerHandleOwner(self) {
            // The loop is tearing down; the wake-up is born closed.
            close()
        }
    }

    deinit {
        // Reached only after loopWakeupClosed released the handle's reference and no
        // thread is inside signal() (each caller holds a reference).
        handle.deallocate()
    }

    /// Requests that the callback run on the loop thread; callable from any thread.
    ///
    /// Cheap when a wake-up is already pending (atomic operations only); otherwise one
    /// `eventfd` write.
    ///
    /// - Returns: `true` if the request was accepted; `false` if the wake-up has been
    ///   closed, in which case the callback will not run.
    @discardableResult
    public func signal() -> Bool {
        let previous = gate.wrappingAdd(Self.senderUnit, ordering: .sequentiallyConsistent).oldValue
        defer { gate.wrappingSubtract(Self.senderUnit, ordering: .releasing) }
        if previous & Self.closedBit != 0 {
            return false
        }
        // uv_async_send may skip the wake-up after a plain read of its "pending" flag
        // when one is already queued; this full fence makes the caller's earlier
        // writes visible before that read, so the queued callback is guaranteed to see
        // them (on x86 the locked add above already is one; other CPUs need it).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        uv_async_send(handle)
        return true
    }

    /// Whether ``close()`` has been called or the loop has shut down; thread-safe.
    public var isClosed: Bool {
        gate.load(ordering: .acquiring) & Self.closedBit != 0
    }

    /// Closes the wake-up; later ``signal()`` calls return `false`. Idempotent.
    ///
    /// A callback invocation already queued by an earlier signal does not run.
    ///
    /// - Precondition: Called on the loop thread.
    public func close() {
        loop.preconditionInEventLoop()
        let previous = gate.bitwiseOr(Self.closedBit, ordering: .sequentiallyConsistent).oldValue
        guard previous & Self.closedBit == 0 else { return }
        // Wait out threads already inside uv_async_send (a few instructions and at
        // most one eventfd write); libuv's own close does the same spin for its flag.
        while gate.load(ordering: .acquiring) != Self.closedBit {
            sched_yield()
        }
        callback = nil
        loop.unregisterHandleOwner(self)
        uv_close(runnel_uv_async_as_handle(handle), loopWakeupClosed)
    }

    /// Runs the callback for one (coalesced) batch of signals.
    fileprivate func fire() {
        // Local copy: close() from inside the callback must not free it mid-call.
        guard let callback else { return }
        callback()
    }
}

extension LoopWakeup: LoopHandleOwner {
    func closeForShutdown() {
        close()
    }
}

/// libuv async callback: forwards to the owning ``LoopWakeup``.
private func loopWakeupFired(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    guard let handle, let data = uv_handle_get_data(runnel_uv_async_as_handle(handle)) else { return }
    Unmanaged<LoopWakeup>.fromOpaque(data).takeUnretainedValue().fire()
}

/// libuv close callback: drops the reference the handle held.
private func loopWakeupClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = uv_handle_get_data(handle) else { return }
    uv_handle_set_data(handle, nil)
    Unmanaged<LoopWakeup>.fromOpaque(data).release()
}
