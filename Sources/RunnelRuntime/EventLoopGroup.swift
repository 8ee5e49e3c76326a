import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of running ``EventLoop``s, one thread each, handed out round-robin.
///
/// A job's tasks are spread over the group's loops; each task then stays on its loop
/// for its whole life, so per-task state needs no locking.
///
/// ### Thread safety
/// `Sendable`: all stored state is immutable or atomic, and every method is
/// thread-safe.
public final class EventLoopGroup: Sendable {
    /// The loops, in index order. Loop `i` is named `"<namePrefix>-<i>"`.
    public let loops: [EventLoop]

    /// Round-robin position for ``next()``.
    private let cursor = Atomic<Int>(0)

    /// The number of CPUs currently online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    ///
    /// Read via sysconf rather than Foundation so the runtime stays Foundation-free.
    public static var defaultLoopCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Creates `loopCount` loops and starts their threads.
    ///
    /// - Parameters:
    ///   - loopCount: How many loops (and threads) to run; defaults to ``defaultLoopCount``.
    ///   - namePrefix: Loop and thread names are `"\(namePrefix)-\(index)"`, e.g. `runnel-loop-0`.
    /// - Throws: ``UVError`` if a loop cannot be created; loops created before the
    ///   failure are shut down and joined first.
    /// - Precondition: `loopCount > 0`.
    public init(loopCount: Int = EventLoopGroup.defaultLoopCount, namePrefix: String = "runnel-loop") throws(UVError) {
        precondition(loopCount > 0, "EventLoopGroup needs at least one loop")
        var loops: [EventLoop] = []
        loops.reserveCapacity(loopCount)
        do {
            for index in 0..<loopCount {
                loops.append(try EventLoop(name: "\(namePrefix)-\(index)"))
            }
        } catch {
            // None has been started, so shutdown closes each synchronously.
            for loop in loops {
                loop.shutdown()
            }
            throw error
        }
        for loop in loops {
            loop.start()
        }
        self.loops = loops
    }

    /// The number of loops in the group.
    public var count: Int {
        loops.count
    }

    /// Returns the loop at `index`.
    ///
    /// - Parameter index: A position in `0..<count`.
    /// - Returns: That loop.
    /// - Precondition: `index` is in range.
    public func loop(at index: Int) -> EventLoop {
        loops[index]
    }

    /// Returns the loops in turn: loop 0, 1, ..., `count - 1`, 0, ... across all callers.
    ///
    /// - Returns: The next loop in round-robin order.
    public func next() -> EventLoop {
        // Wrapping add cannot trap; the magnitude keeps the index non-negative after wrap.
        let ticket = cursor.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[Int(ticket.magnitude % UInt(loops.count))]
    }

    /// Shuts every loop down and waits for all their threads to exit.
    ///
    /// - Precondition: Not called on one of the group's loop threads (that would deadlock).
    public func shutdownGracefully() {
        for loop in loops {
            loop.shutdown()
        }
        for loop in loops {
            loop.join()
        }
    }

    /// Shuts every loop down and waits, up to a deadline, for their threads to exit.
    ///
    /// - Parameter timeoutMilliseconds: The total time to wait for all loops.
    /// - Returns: `true` if every loop stopped in time.
    /// - Precondition: Not called on one of the group's loop threads (that would deadlock).
    @discardableResult
    public func shutdownGracefully(timeoutMilliseconds: UInt64) -> Bool {
        for loop in loops {
            loop.shutdown()
        }
        let deadline = MonotonicClock.nowNanoseconds() / 1_000_000 + timeoutMilliseconds
        for loop in loops {
            let nowMilliseconds = MonotonicClock.nowNanoseconds() / 1_000_000
            let remaining = deadline > nowMilliseconds ? deadline - nowMilliseconds : 0
            if !loop.join(timeoutMilliseconds: remaining) {
                return false
            }
        }
        return true
    }
}
