#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A gate that starts closed, opens exactly once, and lets any number of threads
/// block (optionally with a deadline) until it is open.
///
/// ``EventLoop`` uses it to implement `join()`: `pthread_join` may only be called
/// once per thread and has no timeout, while a latch supports several joiners and
/// bounded waits (which tests and graceful shutdown with a deadline need).
///
/// It is built on a pthread mutex/condition pair rather than `Synchronization.Mutex`
/// because the latter offers no condition variable to sleep on.
///
/// ### Thread safety
/// All methods are thread-safe.
final class OneShotLatch: @unchecked Sendable {
    // @unchecked: the mutable state (`isOpen`) is only touched with `mutex` held;
    // the pthread objects live in stable heap memory because they must not move.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var isOpen = false

    /// Creates a closed latch.
    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        precondition(pthread_mutex_init(mutex, nil) == 0, "pthread_mutex_init failed")
        var attributes = pthread_condattr_t()
        precondition(pthread_condattr_init(&attributes) == 0, "pthread_condattr_init failed")
        #if !canImport(Darwin)
        // Time out against the monotonic clock so a wall-clock step cannot stretch
        // or cut short a bounded wait (Darwin has no such attribute).
        _ = pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        precondition(pthread_cond_init(condition, &attributes) == 0, "pthread_cond_init failed")
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Opens the latch and wakes every waiter. Further calls have no effect.
    func open() {
        pthread_mutex_lock(mutex)
        isOpen = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Whether ``open()`` has been called.
    var hasOpened: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return isOpen
    }

    /// Blocks the calling thread until the latch is open.
    func wait() {
        pthread_mutex_lock(mutex)
        while !isOpen {
            pthread_cond_wait(condition, mutex)
        }
        pthread_mutex_unlock(mutex)
    }

    /// Blocks the calling thread until the latch is open or the timeout elapses.
    ///
    /// - Parameter timeoutNanoseconds: The longest time to wait.
    /// - Returns: `true` if the latch is open, `false` if the wait timed out.
    func wait(timeoutNanoseconds: UInt64) -> Bool {
        var deadline = timespec()
        #if canImport(Darwin)
        _ = clock_gettime(CLOCK_REALTIME, &deadline)
        #else
        _ = clock_gettime(CLOCK_MONOTONIC, &deadline)
        #endif
        let total = UInt64(deadline.tv_nsec) + timeoutNanoseconds % 1_000_000_000
        deadline.tv_sec += Int(timeoutNanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)

        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !isOpen {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT {
                return isOpen
            }
        }
        return true
    }
}
