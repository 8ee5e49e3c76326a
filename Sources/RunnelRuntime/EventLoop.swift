import CLibUV
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One libuv event loop (`uv_loop_t`) driven by one dedicated, named thread.
///
/// Everything that touches the loop's handles — timers (``scheduleTimer(afterMilliseconds:repeatMilliseconds:_:)``),
/// wake-ups (``LoopWakeup``), signal watchers (``SignalWatcher``), deferred work
/// (``executeSoon(_:)``) — runs on that thread. Other threads hand work to the loop
/// with ``execute(_:)``.
///
/// ## Lifecycle
/// 1. ``init(name:)`` creates the libuv loop; nothing runs yet, but ``execute(_:)``
///    already queues work.
/// 2. ``start()`` spawns the loop thread. The loop keeps running, even with nothing to
///    do, until it is shut down.
/// 3. ``shutdown()`` (from any thread) lets already-submitted work run, then closes
///    every handle the loop knows about, waits for libuv's close callbacks (the only
///    point at which handle memory may be freed), closes the `uv_loop_t`, and lets
///    the thread exit. Work submitted after ``shutdown()`` is discarded.
/// 4. ``join()`` blocks until the thread has exited.
///
/// ## Submission queue
/// ``execute(_:)`` appends to a mutex-protected array and wakes the loop through a
/// single `uv_async_t`. Because `uv_async_send` coalesces, one wake-up may stand for
/// many submissions, so each wake-up swaps the whole array out under the lock and runs
/// it outside the lock, in submission order. Only the submission that finds the queue
/// empty sends the wake-up; the others know one is already on its way.
///
/// ### Thread safety
/// ``execute(_:)``, ``shutdown()``, ``join()``, ``inEventLoop`` and ``name`` may be used
/// from any thread. Everything else must be called on the loop thread and says so.
/// The class is `@unchecked Sendable` because the compiler cannot see that split: the
/// state shared between threads is behind a `Mutex` or in atomics, and all remaining
/// mutable state (the handle registry, deferred work, the raw `uv_loop_t`) is only
/// touched on the loop thread, which every such method enforces with a precondition.
public final class EventLoop: @unchecked Sendable {
    /// The loop's name; also its thread's OS-level name (truncated to 15 bytes).
    public let name: String

    /// The libuv loop. Internal so that other runtime types can attach handles; only
    /// valid on the loop thread, and freed once the loop has stopped.
    let uvLoop: UnsafeMutablePointer<uv_loop_t>

    /// The `uv_async_t` that wakes the loop for submitted work and for shutdown.
    private let submissionWakeup: UnsafeMutablePointer<uv_async_t>

    /// State shared with other threads.
    private let shared: Mutex<SharedState>

    /// The token (see ``NativeThread/currentToken``) of the loop thread while it runs, else 0.
    private let loopThreadToken = Atomic<UInt>(0)

    /// Opened when the loop thread has exited (or the loop was shut down unstarted).
    private let exitLatch = OneShotLatch()

    // MARK: Loop-thread-only state

    /// Backs ``executeSoon(_:)``.
    private let deferredWork: DeferredWorkQueue

    /// Handle owners to close at shutdown, keyed by identity.
    private var handleOwners: [ObjectIdentifier: any LoopHandleOwner] = [:]
    /// The buffer every TCP connection of this loop reads into: libuv calls the allocation
    /// and read callbacks back to back on the loop thread, and reads are handled before the
    /// callback returns, so one buffer serves all connections (a buffer each would cost
    /// 64 KiB per idle subscriber). Allocated on first use, freed with the loop.
    var tcpReadBuffer: UnsafeMutableRawBufferPointer {
        if let buffer = tcpReadBufferStorage { return buffer }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        tcpReadBufferStorage = buffer
        return buffer
    }
    private var tcpReadBufferStorage: UnsafeMutableRawBufferPointer?

    /// An emptied submission array kept to reuse its capacity on the next swap.
    private var spareSubmissions: [@Sendable () -> Void] = []

    /// Set once shutdown has started closing handles; new handles are refused.
    private var isTearingDown = false

    private struct SharedState: ~Copyable {
        var submissions: [@Sendable () -> Void] = []
        var lifecycle: Lifecycle = .idle
        var loopCloseResult: Int32?
    }

    private enum Lifecycle {
        case idle, running, shuttingDown, stopped
    }

    /// Creates a loop that is ready to accept work but not yet running.
    ///
    /// - Parameter name: Used for the loop thread's OS-level name, e.g. `"runnel-loop-0"`.
    /// - Throws: ``UVError`` if libuv cannot create the loop (for example when the
    ///   process is out of file descriptors for the loop's epoll and eventfd).
    public init(name: String) throws(UVError) {
        let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        do {
            try uvCheck(uv_loop_init(loop), "uv_loop_init")
        } catch {
            loop.deallocate()
            throw error
        }
        let async = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
        let asyncResult = uv_async_init(loop, async, eventLoopSubmissionsReady)
        if asyncResult < 0 {
            async.deallocate()
            _ = uv_loop_close(loop)
            loop.deallocate()
            throw UVError(code: asyncResult, operation: "uv_async_init")
        }
        self.name = name
        self.uvLoop = loop
        self.submissionWakeup = async
        self.shared = Mutex(SharedState())
        self.deferredWork = DeferredWorkQueue(loop: loop)
        // Unretained: the loop thread holds a strong reference to `self` for as long
        // as the loop can run this handle's callback.
        uv_handle_set_data(runnel_uv_async_as_handle(async), Unmanaged.passUnretained(self).toOpaque())
    }

    deinit {
        tcpReadBufferStorage?.deallocate()
        // A started loop is retained by its thread until it has stopped, so here the
        // loop is either stopped or was never started (and never shut down).
        let neverStarted = shared.withLock { state in
            if case .idle = state.lifecycle {
                state.lifecycle = .stopped
                return true
            }
            return false
        }
        if neverStarted {
            closeUnstartedLoop()
        }
        // If uv_loop_close failed, libuv still references the loop and its handles;
        // leaking them is the only memory-safe option.
        if shared.withLock({ $0.loopCloseResult }) == 0 {
            submissionWakeup.deallocate()
            uvLoop.deallocate()
        }
    }

    // MARK: Lifecycle

    /// Spawns the loop thread, which runs the loop until ``shutdown()``.
    ///
    /// Work queued with ``execute(_:)`` before this call runs first.
    ///
    /// - Precondition: Called at most once, and not after ``shutdown()``.
    public func start() {
        let canStart = shared.withLock { state in
            guard case .idle = state.lifecycle else { return false }
            state.lifecycle = .running
            return true
        }
        precondition(canStart, "EventLoop '\(name)': start() called twice or after shutdown()")
        // The closure's strong reference keeps the loop alive while the thread runs.
        NativeThread.spawnDetached(name: name) { self.runLoopThread() }
    }

    /// Stops the loop after the work already submitted has run; returns immediately.
    ///
    /// On the loop thread, the loop then closes every timer, wake-up, signal watcher and
    /// internal handle, runs libuv's close callbacks (which release and free them), and
    /// closes the `uv_loop_t`; the thread then exits (observe it with ``join()``).
    /// Pending ``executeSoon(_:)`` closures and work submitted after this call are
    /// discarded. A loop that was never started is closed synchronously on the caller's
    /// thread.
    ///
    /// Thread-safe and idempotent.
    public func shutdown() {
        let closeInline = shared.withLock { state in
            switch state.lifecycle {
            case .idle:
                state.lifecycle = .stopped
                return true
            case .running:
                state.lifecycle = .shuttingDown
                // A non-empty queue means a wake-up is already on its way, and the
                // drain it triggers will see the new lifecycle.
                if state.submissions.isEmpty {
                    uv_async_send(submissionWakeup)
                }
                return false
            case .shuttingDown, .stopped:
                return false
            }
        }
        if closeInline {
            closeUnstartedLoop()
            exitLatch.open()
        }
    }

    /// Blocks the calling thread until the loop thread has exited after ``shutdown()``.
    ///
    /// Returns immediately if the loop has already stopped. Several threads may join.
    ///
    /// - Precondition: Not called on the loop thread (that would deadlock).
    public func join() {
        precondition(!inEventLoop, "EventLoop '\(name)': join() called on the loop thread")
        exitLatch.wait()
    }

    /// Blocks the calling thread until the loop thread has exited or the timeout elapses.
    ///
    /// - Parameter timeoutMilliseconds: The longest time to wait.
    /// - Returns: `true` if the loop has stopped, `false` if the wait timed out.
    /// - Precondition: Not called on the loop thread (that would deadlock).
    @discardableResult
    public func join(timeoutMilliseconds: UInt64) -> Bool {
        precondition(!inEventLoop, "EventLoop '\(name)': join(timeoutMilliseconds:) called on the loop thread")
        let (nanoseconds, overflow) = timeoutMilliseconds.multipliedReportingOverflow(by: 1_000_000)
        return exitLatch.wait(timeoutNanoseconds: overflow ? .max : nanoseconds)
    }

    /// Whether the loop has stopped (its thread exited, or it was shut down unstarted).
    ///
    /// Thread-safe.
    public var hasStopped: Bool {
        exitLatch.hasOpened
    }

    // MARK: Submitting work

    /// Runs `work` on the loop thread, after all work previously submitted from the
    /// same thread (FIFO per submitter).
    ///
    /// Thread-safe, including from the loop thread itself (the work then runs on a
    /// later wake-up, never re-entrantly). Work submitted after ``shutdown()`` is
    /// silently discarded.
    ///
    /// - Parameter work: The closure to run; it may capture only `Sendable` state
    ///   because it crosses threads.
    public func execute(_ work: @escaping @Sendable () -> Void) {
        shared.withLock { state in
            switch state.lifecycle {
            case .idle, .running:
                let wasEmpty = state.submissions.isEmpty
                state.submissions.append(work)
                // Sent with the lock held: teardown takes the lock after the lifecycle
                // leaves .running, so the async handle cannot be closed under us.
                if wasEmpty {
                    uv_async_send(submissionWakeup)
                }
            case .shuttingDown, .stopped:
                break
            }
        }
    }

    /// Runs `body` on the loop thread on the next loop iteration, after that
    /// iteration's ready I/O, wake-ups and timers have been dispatched.
    ///
    /// This is how a long-running task yields: process one batch, call
    /// `executeSoon` with the continuation, return. Closures queued while other
    /// deferred closures run are deferred again to the following iteration, so a task
    /// that keeps yielding cannot starve timers, I/O or other tasks. See
    /// `DeferredWorkQueue` for why this uses a check plus an idle handle rather than a
    /// zero-delay timer. Discarded once the loop is shutting down.
    ///
    /// - Parameter body: The continuation; not `Sendable` because it never leaves the loop thread.
    /// - Precondition: Called on the loop thread.
    public func executeSoon(_ body: @escaping () -> Void) {
        preconditionInEventLoop()
        deferredWork.enqueue(body)
    }

    // MARK: Timers

    /// Schedules `callback` to run on the loop thread after a delay, optionally repeating.
    ///
    /// The timer stays registered with the loop until it is cancelled or the loop shuts
    /// down, even if the returned object is dropped (so a fire-and-forget repeating
    /// timer keeps firing). A one-shot timer that has fired becomes idle and can be
    /// ``LoopTimer/reschedule(afterMilliseconds:)``-ed; call ``LoopTimer/cancel()`` to
    /// release it.
    ///
    /// Timers due at the same loop time fire in the order they were scheduled.
    ///
    /// - Parameters:
    ///   - afterMilliseconds: Delay relative to ``now`` (the cached loop time).
    ///   - repeatMilliseconds: Repeat interval after the first firing; `0` for one-shot.
    ///   - callback: Runs on the loop thread at each firing.
    /// - Returns: The timer, for cancelling or rescheduling it.
    /// - Precondition: Called on the loop thread.
    public func scheduleTimer(
        afterMilliseconds: UInt64,
        repeatMilliseconds: UInt64 = 0,
        _ callback: @escaping () -> Void
    ) -> LoopTimer {
        preconditionInEventLoop()
        return LoopTimer(
            loop: self,
            afterMilliseconds: afterMilliseconds,
            repeatMilliseconds: repeatMilliseconds,
            callback: callback
        )
    }

    // MARK: Thread identity and time

    /// Whether the caller is running on this loop's thread.
    ///
    /// Thread-safe; one atomic load and a `pthread_self()` call.
    public var inEventLoop: Bool {
        loopThreadToken.load(ordering: .relaxed) == NativeThread.currentToken
    }

    /// Traps in debug builds if the caller is not on this loop's thread; free in release builds.
    ///
    /// - Parameters:
    ///   - file: The caller's file, for the trap message.
    ///   - line: The caller's line, for the trap message.
    @inlinable
    public func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(inEventLoop, "not on the thread of EventLoop '\(name)'", file: file, line: line)
    }

    /// Traps (in all builds) if the caller is not on this loop's thread.
    ///
    /// The runtime's loop-thread-only APIs use this because a call from another thread
    /// would race with libuv and corrupt the loop rather than fail cleanly.
    ///
    /// - Parameters:
    ///   - file: The caller's file, for the trap message.
    ///   - line: The caller's line, for the trap message.
    public func preconditionInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inEventLoop, "not on the thread of EventLoop '\(name)'", file: file, line: line)
    }

    /// The loop's cached time in milliseconds (`uv_now`), on an arbitrary monotonic epoch.
    ///
    /// libuv refreshes it once per loop iteration, so it is cheap and consistent within
    /// one batch of callbacks, and it is the base timers are scheduled against. Call
    /// ``updateTime()`` first if a callback has run long and needs a fresher value;
    /// use ``MonotonicClock/nowNanoseconds()`` for precise measurements.
    ///
    /// - Precondition: Read on the loop thread.
    public var now: UInt64 {
        preconditionInEventLoop()
        return uv_now(uvLoop)
    }

    /// Refreshes the cached loop time (``now``) from the monotonic clock.
    ///
    /// - Precondition: Called on the loop thread.
    public func updateTime() {
        preconditionInEventLoop()
        uv_update_time(uvLoop)
    }

    // MARK: Handle registry (runtime-internal)

    /// Records `owner` so that shutdown closes its handles.
    ///
    /// - Returns: `false` if the loop is already tearing down; the caller must then
    ///   close its freshly initialised handles itself, right away.
    func registerHandleOwner(_ owner: any LoopHandleOwner) -> Bool {
        preconditionInEventLoop()
        guard !isTearingDown else { return false }
        handleOwners[ObjectIdentifier(owner)] = owner
        return true
    }

    /// Forgets `owner`; called when it starts closing its handles. Unknown owners are ignored.
    func unregisterHandleOwner(_ owner: any LoopHandleOwner) {
        handleOwners.removeValue(forKey: ObjectIdentifier(owner))
    }

    /// The number of registered handle owners (timers, wake-ups, signal watchers).
    ///
    /// - Precondition: Read on the loop thread.
    var registeredHandleOwnerCount: Int {
        preconditionInEventLoop()
        return handleOwners.count
    }

    /// What `uv_loop_close` returned when the loop stopped (`0` means every handle was
    /// closed and its close callback had run), or `nil` while the loop is open.
    var loopCloseResult: Int32? {
        shared.withLock { $0.loopCloseResult }
    }

    // MARK: Loop thread

    /// The body of the loop thread.
    private func runLoopThread() {
        loopThreadToken.store(NativeThread.currentToken, ordering: .relaxed)
        while true {
            // UV_RUN_DEFAULT returns only when no referenced handle is active and no
            // handle is closing. The submission wake-up stays active until teardown,
            // so before teardown this does not return; the loop guards against a
            // premature return all the same.
            uv_run(uvLoop, UV_RUN_DEFAULT)
            if isTearingDown && uv_loop_alive(uvLoop) == 0 {
                break
            }
        }
        let closeResult = uv_loop_close(uvLoop)
        // Clear before exiting: a later thread may reuse this pthread_t value.
        loopThreadToken.store(0, ordering: .relaxed)
        shared.withLock { state in
            state.lifecycle = .stopped
            state.loopCloseResult = closeResult
        }
        exitLatch.open()
    }

    /// Runs all submitted work; called on the loop thread for each (coalesced) wake-up.
    fileprivate func runSubmissions() {
        var batch = spareSubmissions
        spareSubmissions = []
        let stopping = shared.withLock { state in
            swap(&state.submissions, &batch)
            if case .shuttingDown = state.lifecycle { return true }
            return false
        }
        for work in batch {
            work()
        }
        // Keep a modest buffer for the next swap; a burst's huge buffer is released.
        batch.removeAll(keepingCapacity: batch.capacity <= 4_096)
        spareSubmissions = batch
        if stopping && !isTearingDown {
            beginTeardown()
        }
    }

    /// Starts closing every handle on the loop; `uv_run` returns once their close
    /// callbacks have run.
    private func beginTeardown() {
        isTearingDown = true
        deferredWork.close()
        // Closing an owner can, via deinit side effects, create and immediately close
        // others, so drain until the registry stays empty.
        while !handleOwners.isEmpty {
            let owners = handleOwners.values
            handleOwners.removeAll()
            for owner in owners {
                owner.closeForShutdown()
            }
        }
        // No thread can be inside uv_async_send now: senders hold the lock and check
        // the lifecycle, which left .running before this wake-up was drained.
        uv_close(runnel_uv_async_as_handle(submissionWakeup), nil)
        // Safety net for handles some runtime code opened without registering an
        // owner: close them so the loop can stop. Their memory (and any retain held in
        // `data`) leaks, which is preferable to a loop that never exits.
        uv_walk(uvLoop, { handle, _ in
            if let handle, uv_is_closing(handle) == 0 {
                uv_close(handle, nil)
            }
        }, nil)
    }

    /// Closes a loop that never got a thread; runs on the caller's thread.
    ///
    /// Safe without the loop thread because the lifecycle moved from `.idle` to
    /// `.stopped` under the lock, so no other thread can start or touch the loop, and
    /// no loop-thread-only handle can exist (creating one requires the loop thread).
    private func closeUnstartedLoop() {
        isTearingDown = true
        deferredWork.close()
        uv_close(runnel_uv_async_as_handle(submissionWakeup), nil)
        // Runs the close phase; returns once nothing is active or closing.
        uv_run(uvLoop, UV_RUN_DEFAULT)
        let closeResult = uv_loop_close(uvLoop)
        shared.withLock { state in
            state.loopCloseResult = closeResult
            state.submissions.removeAll()
        }
    }
}

/// `uv_async_t` callback for the submission queue: drains it on the loop thread.
private func eventLoopSubmissionsReady(_ handle: UnsafeMutablePointer<uv_async_t>?) {
    guard let handle, let data = uv_handle_get_data(runnel_uv_async_as_handle(handle)) else { return }
    Unmanaged<EventLoop>.fromOpaque(data).takeUnretainedValue().runSubmissions()
}
