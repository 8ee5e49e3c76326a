#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The real-time (wall) clock, in milliseconds since the Unix epoch.
///
/// Backed by `clock_gettime(CLOCK_REALTIME)`. Use it for stamping records with
/// processing time that must be comparable with event timestamps from other machines.
/// It can jump backwards or forwards when the system clock is adjusted, so never use
/// it to measure durations; use ``MonotonicClock`` for that.
///
/// ### Thread safety
/// Stateless; callable from any thread.
public enum WallClock {
    /// Returns the current wall-clock time in whole milliseconds since 1970-01-01T00:00:00Z.
    ///
    /// Avoids Foundation's `Date` so that it can be called per event without allocation.
    @inline(__always)
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        // CLOCK_REALTIME cannot fail with a valid pointer, so the result is not checked.
        _ = clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000 + Int64(spec.tv_nsec) / 1_000_000
    }
}
