#if canImport(Glibc)
import Glibc
#endif

/// Splits a buffer of newline-delimited text into its lines, finding each `\n` with
/// `memchr`.
public enum LineSplitter {
    /// Calls `body` with each line of `bytes`, without its `\n` (the last line may lack one;
    /// an empty buffer has no lines; a final `\n` does not start another).
    @inlinable
    public static func forEachLine(in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        guard let base = bytes.baseAddress else { return }
        var start = 0
        while start < bytes.count {
            var end = bytes.count
            if let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
                end = UnsafeRawPointer(newline) - base
            }
            try body(UnsafeRawBufferPointer(start: base + start, count: end - start))
            start = end + 1
        }
    }
}
