#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An owned, growable byte buffer that always keeps `padding` zeroed bytes
/// after its logical end.
///
/// It exists so that JSON can be parsed in place: `JSONLineParser` needs
/// `JSONLineParser.requiredPadding` readable bytes after every line, and any
/// line stored inside this buffer has them, because the buffer's own slack
/// follows the last byte. The slack is kept zeroed (rather than merely
/// allocated) so that its contents are deterministic.
///
/// A reference type because it owns raw memory and is shared by the reader
/// that fills it and the lines that point into it; not `Sendable` (no locking).
public final class PaddedBuffer {
    /// Zeroed bytes kept after `count`; equals `JSONLineParser.requiredPadding`.
    public static let padding = JSONLineParser.requiredPadding

    /// Start of the storage (`capacity + padding` bytes). Moves when the buffer grows.
    public private(set) var baseAddress: UnsafeMutableRawPointer
    /// Number of bytes in use.
    public private(set) var count: Int
    /// Bytes that fit before the buffer must grow (the padding comes on top).
    public private(set) var capacity: Int

    /// Creates an empty buffer with room for `capacity` bytes (plus the padding).
    public init(capacity: Int = 0) {
        precondition(capacity >= 0, "PaddedBuffer capacity must not be negative")
        self.capacity = capacity
        count = 0
        baseAddress = .allocate(byteCount: capacity + Self.padding, alignment: 64)
        baseAddress.initializeMemory(as: UInt8.self, repeating: 0, count: capacity + Self.padding)
    }

    /// Creates a buffer holding a copy of `bytes`.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(capacity: bytes.count)
        append(bytes)
    }

    /// Creates a buffer holding the UTF-8 bytes of `string`.
    public convenience init(_ string: String) {
        var copy = string
        let size = copy.utf8.count
        self.init(capacity: size)
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    deinit {
        baseAddress.deallocate()
    }

    /// The bytes in use. Pointers derived from it are invalidated by any call
    /// that may grow or shift the buffer.
    @inlinable
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: baseAddress, count: count)
    }

    /// Unused capacity after `count`.
    public var freeCapacity: Int { capacity - count }

    /// Grows the storage, if needed, so that `minimumCapacity` bytes fit;
    /// grows at least geometrically so that repeated appends stay amortized O(1).
    public func reserveCapacity(_ minimumCapacity: Int) {
        guard minimumCapacity > capacity else { return }
        let newCapacity = max(minimumCapacity, capacity + capacity / 2)
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity + Self.padding, alignment: 64)
        newBase.copyMemory(from: baseAddress, byteCount: count)
        // Everything past the copied bytes is zeroed so the padding invariant holds.
        (newBase + count).initializeMemory(as: UInt8.self, repeating: 0, count: newCapacity + Self.padding - count)
        baseAddress.deallocate()
        baseAddress = newBase
        capacity = newCapacity
    }

    /// Appends a copy of `bytes`, growing if needed.
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserveCapacity(count + bytes.count)
        (baseAddress + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    /// Appends the UTF-8 bytes of `string`.
    public func append(_ string: String) {
        var copy = string
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Lets `body` write directly into at least `minimumFree` bytes of unused
    /// capacity (e.g. a `read`/`pread` target) and commits the number of bytes
    /// it returns. Avoids an intermediate copy when filling from files.
    ///
    /// - Returns: Whatever `body` returned (the number of bytes committed).
    @discardableResult
    public func appendUninitialized(minimumFree: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows -> Int {
        reserveCapacity(count + minimumFree)
        let free = UnsafeMutableRawBufferPointer(start: baseAddress + count, count: capacity - count)
        let written = try body(free)
        precondition(written >= 0 && written <= free.count, "PaddedBuffer: body reported more bytes than it was given")
        count += written
        // Reads can only have written inside the free area; zeroing the padding
        // after the new end restores the invariant cheaply.
        (baseAddress + count).initializeMemory(as: UInt8.self, repeating: 0, count: Self.padding)
        return written
    }

    /// Discards the first `n` bytes, moving the rest to the front. Used to keep
    /// an unfinished line when a reader refills.
    public func removeFirst(_ n: Int) {
        precondition(n >= 0 && n <= count, "PaddedBuffer.removeFirst out of range")
        guard n > 0 else { return }
        let remaining = count - n
        if remaining > 0 { baseAddress.copyMemory(from: baseAddress + n, byteCount: remaining) }
        count = remaining
        (baseAddress + count).initializeMemory(as: UInt8.self, repeating: 0, count: Self.padding)
    }

    /// Empties the buffer, keeping its storage.
    public func removeAll() {
        removeFirst(count)
    }
}

/// Shared mutable storage without synchronization.
@available(*, unavailable)
extension PaddedBuffer: Sendable {}
