import CLibUV

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Minimal helpers over pthreads for the runtime's dedicated loop threads.
///
/// The runtime creates its threads with pthreads directly (not Foundation's `Thread`)
/// so that RunnelRuntime needs no Foundation at all and so that the thread can name
/// itself (via the CLibUV shim), which is what shows up in `top -H`, `perf` and `gdb`.
///
/// ### Thread safety
/// Stateless; callable from any thread.
enum NativeThread {
    /// Starts a detached thread that clears its signal mask, names itself `name`, and
    /// then runs `body`.
    ///
    /// The thread is detached because callers observe its exit through their own
    /// synchronisation (``OneShotLatch``), which, unlike `pthread_join`, supports
    /// several waiters and timeouts.
    ///
    /// - Parameters:
    ///   - name: The OS-level thread name; truncated to 15 bytes.
    ///   - body: The code the new thread runs; the thread exits when it returns.
    /// Lowers the calling thread's scheduling priority. (On Linux a nice value belongs to
    /// a thread, and `setpriority(PRIO_PROCESS, 0, n)` sets the calling thread's.)
    static func lowerCurrentPriority(by niceness: Int32) {
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
    }

    /// The CPU time the calling thread has used, in microseconds.
    static func currentThreadCPUMicroseconds() -> Int64 {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
        return Int64(time.tv_sec) * 1_000_000 + Int64(time.tv_nsec) / 1000
    }

    static func spawnDetached(name: String, _ body: @escaping @Sendable () -> Void) {
        let context = Unmanaged.passRetained(Context(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        let result = pthread_create(&thread, &attributes, { raw in
            // The pointer is the retained Context; take back ownership so it is freed.
            guard let raw else { return nil }
            let context = Unmanaged<Context>.fromOpaque(raw).takeRetainedValue()
            NativeThread.unblockAllSignals()
            NativeThread.setCurrentName(context.name)
            context.body()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<Context>.fromOpaque(context).release()
            fatalError("pthread_create failed for thread '\(name)': errno \(result)")
        }
    }

    /// An integer that identifies the calling thread among all live threads.
    ///
    /// Used to answer "am I on the loop thread?" with one atomic load and no
    /// thread-local storage. `0` never identifies a live thread, so it means "none".
    @inline(__always)
    static var currentToken: UInt {
        #if canImport(Glibc)
        return UInt(pthread_self())
        #else
        return UInt(bitPattern: pthread_self())
        #endif
    }

    /// Returns the OS-level name of the calling thread, or `nil` if unavailable.
    static var currentName: String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer -> String? in
            buffer.initialize(repeating: 0)
            guard runnel_uv_get_current_thread_name(buffer.baseAddress, buffer.count) == 0 else { return nil }
            return String(cString: buffer.baseAddress!)
        }
    }

    /// Gives the calling thread an empty signal mask.
    ///
    /// A new pthread inherits its creator's mask, and Dispatch worker threads (which
    /// also run Swift concurrency tasks on Linux) block almost every signal. A loop
    /// started from such a thread would then accept no signals at all, so `raise()` on
    /// it would leave the signal pending forever and fewer threads would be eligible
    /// for process-directed signals that a ``SignalWatcher`` waits for. Starting from a
    /// known, empty mask makes loop threads behave the same whoever created them.
    private static func unblockAllSignals() {
        var none = sigset_t()
        sigemptyset(&none)
        _ = pthread_sigmask(SIG_SETMASK, &none, nil)
    }

    private static func setCurrentName(_ name: String) {
        // The kernel truncates to 15 bytes itself; a name is diagnostic only, so a
        // failure is ignored.
        _ = runnel_uv_set_current_thread_name(name)
    }

    /// What the new thread needs; passed through pthread_create's single `void *` argument.
    private final class Context {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}
