import CJemalloc

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A snapshot of the memory allocator's and the process's memory use.
///
/// The byte counts come from jemalloc's statistics (`mallctl`), which the binaries
/// use as their allocator; they distinguish memory handed to the program from memory
/// the allocator holds, which RSS alone cannot. The static helpers read the kernel's
/// view (RSS) and work with any allocator.
///
/// ### Thread safety
/// A value type; the static functions are thread-safe.
public struct AllocatorStatistics: Sendable, Hashable {
    /// Bytes currently allocated by the application (jemalloc `stats.allocated`).
    public var allocatedBytes: UInt64

    /// Bytes in pages that hold live allocations (jemalloc `stats.active`); at least
    /// ``allocatedBytes``, the difference being fragmentation inside those pages.
    public var activeBytes: UInt64

    /// Bytes of physically resident memory the allocator maps, including its metadata
    /// and dirty pages not yet returned to the OS (jemalloc `stats.resident`).
    public var residentBytes: UInt64

    /// Creates a snapshot from explicit values (for tests and reporting).
    ///
    /// - Parameters:
    ///   - allocatedBytes: Bytes allocated by the application.
    ///   - activeBytes: Bytes in active pages.
    ///   - residentBytes: Bytes resident for the allocator.
    public init(allocatedBytes: UInt64, activeBytes: UInt64, residentBytes: UInt64) {
        self.allocatedBytes = allocatedBytes
        self.activeBytes = activeBytes
        self.residentBytes = residentBytes
    }

    /// Reads jemalloc's current statistics.
    ///
    /// Refreshes jemalloc's statistics epoch first, which takes a global lock inside
    /// jemalloc; call it periodically (e.g. once a second for metrics), not per event.
    ///
    /// - Returns: The statistics, or `nil` if jemalloc is not the process's allocator
    ///   or was built without statistics.
    public static func current() -> AllocatorStatistics? {
        var allocated: UInt64 = 0
        var active: UInt64 = 0
        var resident: UInt64 = 0
        guard runnel_jemalloc_stats(&allocated, &active, &resident) == 0 else {
            return nil
        }
        return AllocatorStatistics(allocatedBytes: allocated, activeBytes: active, residentBytes: resident)
    }

    /// The process's peak resident set size so far, in bytes.
    ///
    /// From `getrusage(RUSAGE_SELF).ru_maxrss`, which Linux reports in KiB.
    ///
    /// - Returns: The high-water mark of resident memory, or `0` if unavailable.
    public static func peakResidentSetBytes() -> UInt64 {
        var usage = rusage()
        #if canImport(Glibc)
        // Glibc imports RUSAGE_SELF as an enum case while getrusage takes its raw Int32.
        let result = getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
        let result = getrusage(RUSAGE_SELF, &usage)
        #endif
        guard result == 0, usage.ru_maxrss > 0 else { return 0 }
        #if canImport(Darwin)
        return UInt64(usage.ru_maxrss)  // Darwin reports bytes.
        #else
        return UInt64(usage.ru_maxrss) * 1_024
        #endif
    }

    /// The process's current resident set size, in bytes.
    ///
    /// Reads the second field (resident pages) of `/proc/self/statm` with plain
    /// `open`/`read` so it allocates almost nothing and needs no Foundation.
    ///
    /// - Returns: The resident size, or `nil` where `/proc` is unavailable.
    public static func currentResidentSetBytes() -> UInt64? {
        let descriptor = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // statm is seven decimal numbers on one line; 128 bytes is ample.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer -> UInt64? in
            let count = read(descriptor, buffer.baseAddress, buffer.count)
            guard count > 0 else { return nil }
            var field = 0
            var value: UInt64 = 0
            var sawDigit = false
            for byte in buffer[..<count] {
                if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                    if field == 1 {
                        value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
                        sawDigit = true
                    }
                } else if byte == UInt8(ascii: " ") {
                    if field == 1 { break }
                    field += 1
                } else {
                    break
                }
            }
            guard sawDigit else { return nil }
            let pageSize = sysconf(Int32(_SC_PAGESIZE))
            return value * UInt64(pageSize > 0 ? pageSize : 4_096)
        }
    }
}
