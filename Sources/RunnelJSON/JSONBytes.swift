/// Helpers over raw UTF-8 bytes that decoders call once per field.
public enum JSONBytes {
    /// Whether `bytes` are exactly the bytes of `literal`.
    ///
    /// Compares eight bytes at a time: `elementsEqual` over raw buffers went byte by byte
    /// through the generic sequence path, which showed in per-event decoding cost.
    @inlinable
    public static func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count == count else { return false }
        guard count > 0 else { return true }
        let a = bytes.baseAddress!, b = UnsafeRawPointer(literal.utf8Start)
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < count {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// The string whose UTF-8 bytes are `bytes` (ill-formed sequences repaired, as
    /// `String(decoding:as:)` does): a field value is turned into a `String` this way.
    ///
    /// Short ASCII values (up to 15 bytes: most ids) are built directly in `String`'s inline
    /// form (``smallASCIIString(_:count:)``): about 88 instructions per id in all (the call,
    /// the layout check's guard and the result's retain included) where the standard
    /// library's fastest public path, `String(unsafeUninitializedCapacity:initializingUTF8With:)`,
    /// took about 133 with its closure (callgrind, creator replay: two or three ids a line).
    /// Other short values are built with that initializer, which checks an inline string for
    /// ASCII a word at a time, where `String(decoding:as:)` validates byte by byte and then
    /// copies.
    @inlinable
    public static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = bytes.count
        guard count > 0, count <= 15, let source = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
        if let small = smallASCIIString(source, count: count) { return small }
        return String(unsafeUninitializedCapacity: count) { buffer in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: count)
            return count
        }
    }

    /// The string of the `count` (1 to 15) bytes at `p` if they are all ASCII, built in
    /// `String`'s inline ("small") representation; nil for any other bytes, or where that
    /// representation is not the one below.
    ///
    /// On 64-bit little-endian platforms a `String` is two words, and one of at most 15
    /// UTF-8 bytes is stored in them inline: the bytes in order from the low byte of the
    /// first word, zero-padded, and in the top byte of the second word a discriminator,
    /// `0xE0 | count` for an ASCII string (immortal, small, ASCII). `String` is `@frozen`
    /// and this layout is part of the standard library's ABI on Apple platforms
    /// (`StringObject.swift`); on Linux, where Swift promises no stable ABI, the same
    /// source gives the same layout, but nothing guarantees it for future toolchains. So
    /// the layout is checked once per process (``smallStringLayoutHolds``) and the bytes go
    /// the slower way if it does not hold; `JSONBytesTests` checks the result against
    /// strings the standard library builds, for every length and alignment. Written here
    /// because the standard library has no public initializer of a small string from bytes
    /// without a closure and a validation pass.
    @inlinable @inline(__always)
    public static func smallASCIIString(_ p: UnsafeRawPointer, count: Int) -> String? {
        #if (arch(x86_64) || arch(arm64)) && _endian(little)
        guard smallStringLayoutHolds else { return nil }
        precondition(count >= 1 && count <= 15, "a small string holds 1 to 15 bytes")
        var low: UInt64 = 0, high: UInt64 = 0
        if count >= 8 {
            low = UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            // Bytes 8 ..< count are the top count - 8 bytes of the last eight.
            let last = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self))
            high = count == 8 ? 0 : last >> (8 * (16 - count))
        } else if count >= 4 {
            // Two overlapping loads; the bytes they share are equal, so OR joins them.
            let first = UInt64(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            let last = UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
            low = first | last << (8 * (count - 4))
        } else {
            for i in 0..<count { low |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << (8 * i) }
        }
        guard (low | high) & 0x8080_8080_8080_8080 == 0 else { return nil }
        high |= UInt64(0xE0 | count) << 56
        return unsafeBitCast((low, high), to: String.self)
        #else
        return nil
        #endif
    }

    /// Whether this process's standard library lays out small ASCII strings as
    /// ``smallASCIIString(_:count:)`` builds them: compared for a string of every length
    /// from 1 to 15 that the standard library builds itself.
    @usableFromInline
    static let smallStringLayoutHolds: Bool = {
        #if (arch(x86_64) || arch(arm64)) && _endian(little)
        guard MemoryLayout<String>.size == 16 else { return false }
        let sample = Array("ab3-XYZ_0123456".utf8)
        return (1...15).allSatisfy { count in
            let made = String(decoding: sample[0..<count], as: UTF8.self)
            var words: (UInt64, UInt64) = (0, 0)
            withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: sample[0..<count]) }
            words.1 |= UInt64(0xE0 | count) << 56
            return unsafeBitCast(made, to: (UInt64, UInt64).self) == words
        }
        #else
        return false
        #endif
    }()
}
