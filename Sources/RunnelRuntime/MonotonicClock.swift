import CLibUV

/// A process-wide monotonic clock with nanosecond resolution.
///
/// Backed by `uv_hrtime`, which reads `CLOCK_MONOTONIC`: it never jumps when the
/// wall clock is adjusted, so it is the clock for measuring durations, latencies and
/// throughput. Its epoch is arbitrary (typically boot), so values are only meaningful
/// relative to each other and must not be persisted or compared across machines.
///
/// For the event loop's own notion of "now" (cached once per loop iteration and used
/// by timers) see ``EventLoop/now``; for event-time stamps see ``WallClock``.
///
/// ### Thread safety
/// Stateless; callable from any thread.
public enum MonotonicClock {
    /// Returns the current monotonic time in nanoseconds since an arbitrary epoch.
    ///
    /// This is a vDSO call on Linux (no system call), cheap enough for per-batch use.
    @inline(__always)
    public static func nowNanoseconds() -> UInt64 {
        uv_hrtime()
    }
}
