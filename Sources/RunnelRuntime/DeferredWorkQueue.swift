import CLibUV

/// The machinery behind ``EventLoop/executeSoon(_:)``: closures that run on the next
/// loop iteration, after that iteration's I/O callbacks.
///
/// ## Why a check handle plus an idle handle
/// libuv runs one iteration as: timers → pending callbacks → idle → prepare → poll
/// for I/O → check → close callbacks. The alternatives behave differently:
///
/// - A zero-delay `uv_timer_t` starves I/O on libuv 1.44: a timer started from
///   inside a timer callback with a 0 ms delay is already due, so `uv__run_timers`
///   runs it again in the *same* pass, and a source that keeps yielding this way never
///   lets the loop reach the poll phase.
/// - A `uv_check_t` alone runs after the poll phase, but an active check handle does
///   not stop `poll` from blocking until the next timer or I/O event, so a yielded
///   source could stall for as long as the loop is otherwise quiet.
/// - A `uv_idle_t` alone would work but runs *before* the poll phase, so yielded work
///   would run ahead of I/O that is already ready.
///
/// So the closures run from a check handle (after the poll phase, i.e. after ready
/// I/O and cross-thread wake-ups have been dispatched), and a no-op idle handle is
/// kept active only while closures are pending, because an active idle handle makes
/// libuv poll with a zero timeout instead of blocking. Closures enqueued while a batch
/// runs go to the next iteration (the queue is swapped before running), so a source
/// that yields after every batch interleaves fairly with timers and I/O.
///
/// ### Thread safety
/// Confined to the owning loop's thread. Owned by ``EventLoop``, which closes it at
/// shutdown and outlives the handles' close phase; the handles therefore carry an
/// *unretained* pointer back to this object and are closed with no callback.
final class DeferredWorkQueue {
    private let check: UnsafeMutablePointer<uv_check_t>
    private let idle: UnsafeMutablePointer<uv_idle_t>
    /// Closures waiting for the next check phase.
    private var pending: [() -> Void] = []
    /// The batch being run; kept between runs to reuse its capacity.
    private var running: [() -> Void] = []
    private var isArmed = false
    private(set) var isClosed = false

    /// Initialises the (inactive) check and idle handles on `loop`.
    ///
    /// - Parameter loop: The libuv loop; must not be running on another thread yet,
    ///   or this must be called on the loop's thread.
    init(loop: UnsafeMutablePointer<uv_loop_t>) {
        check = .allocate(capacity: 1)
        idle = .allocate(capacity: 1)
        // Both only fail for an invalid loop pointer.
        uvMust(uv_check_init(loop, check), "uv_check_init")
        uvMust(uv_idle_init(loop, idle), "uv_idle_init")
        let me = Unmanaged.passUnretained(self).toOpaque()
        uv_handle_set_data(runnel_uv_check_as_handle(check), me)
        uv_handle_set_data(runnel_uv_idle_as_handle(idle), me)
    }

    deinit {
        // Only reached after the loop has finished running (EventLoop releases this
        // object after uv_loop_close), so both close phases are complete.
        check.deallocate()
        idle.deallocate()
    }

    /// Whether closures are waiting to run.
    var hasPending: Bool { !pending.isEmpty }

    /// Queues `body` for the next check phase; ignored after ``close()``.
    func enqueue(_ body: @escaping () -> Void) {
        guard !isClosed else { return }
        pending.append(body)
        if !isArmed {
            isArmed = true
            uvMust(uv_check_start(check, deferredWorkCheck), "uv_check_start")
            uvMust(uv_idle_start(idle, deferredWorkIdle), "uv_idle_start")
        }
    }

    /// Drops pending closures and starts closing both handles; idempotent.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        pending.removeAll()
        isArmed = false
        // uv_close stops the handles; no callback is needed because this object,
        // not the close callback, frees the memory (see `deinit`).
        uv_close(runnel_uv_check_as_handle(check), nil)
        uv_close(runnel_uv_idle_as_handle(idle), nil)
    }

    /// Runs the closures that were pending when this check phase began.
    fileprivate func runBatch() {
        swap(&pending, &running)
        var index = 0
        while index < running.count {
            // Read then call: the closure cannot reach `running`, so no exclusivity
            // conflict; stop early if a closure triggered loop shutdown.
            let body = running[index]
            index += 1
            body()
            if isClosed { break }
        }
        running.removeAll(keepingCapacity: running.capacity <= 1_024)
        if isClosed || pending.isEmpty {
            if isArmed {
                isArmed = false
                uv_check_stop(check)
                uv_idle_stop(idle)
            }
        }
    }
}

/// Check-phase callback: runs the pending batch.
private func deferredWorkCheck(_ handle: UnsafeMutablePointer<uv_check_t>?) {
    guard let handle, let data = uv_handle_get_data(runnel_uv_check_as_handle(handle)) else { return }
    Unmanaged<DeferredWorkQueue>.fromOpaque(data).takeUnretainedValue().runBatch()
}

/// Idle-phase callback: intentionally empty; the active idle handle exists only to
/// make the poll phase non-blocking while work is pending.
private func deferredWorkIdle(_ handle: UnsafeMutablePointer<uv_idle_t>?) {}
