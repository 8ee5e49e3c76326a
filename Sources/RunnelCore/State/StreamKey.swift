/// A key that `keyBy` can partition by.
///
/// Swift's `hashValue` is seeded per process, so it cannot decide which subtask or key
/// group owns a key: that must be the same in every process, or a restored checkpoint
/// would find its keys in the wrong place. `stableHash` is that process-independent hash.
public protocol StreamKey: Hashable, Sendable {
    /// A hash of the key that is identical in every process and on every machine.
    var stableHash: UInt64 { get }
}

/// A small, fast, process-independent hash (an FNV-style multiply over 64-bit words, then a 64-bit finalizer).
///
/// Written here because the core has no C imports (xxHash lives in a shim target) and a
/// key hash needs no cryptographic strength, only stability and good spreading.
public enum StableHash {
    /// Hashes raw bytes, eight at a time.
    public static func hash(bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(bytes.count)
        var i = 0
        let n = bytes.count
        while i + 8 <= n {
            let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ word) &* 0x0000_0100_0000_01b3
            h ^= h >> 29
            i += 8
        }
        // The last 0–7 bytes as a little-endian value, as the loop above reads words (most
        // keys are short ids, so this tail is a good part of every hash).
        var tail: UInt64 = 0
        if n > i, let base = bytes.baseAddress { tail = packedWord(base + i, count: n - i) }
        h = (h ^ tail) &* 0x0000_0100_0000_01b3
        return mix(h)
    }

    /// `count` (0 to 8) bytes at `p` as a little-endian word, zero-padded: two 4-byte loads
    /// that may overlap (the overlap ORs equal bytes), or up to three byte loads, rather
    /// than a `memcpy` call. For hashing and comparing short ids a word at a time.
    @inlinable @inline(__always)
    public static func packedWord(_ p: UnsafeRawPointer, count: Int) -> UInt64 {
        if count >= 4 {
            return UInt64(p.loadUnaligned(as: UInt32.self).littleEndian)
                | UInt64(p.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self).littleEndian) << UInt64(8 * (count - 4))
        }
        guard count > 0 else { return 0 }
        var word = UInt64(p.load(as: UInt8.self))
        if count >= 2 { word |= UInt64(p.load(fromByteOffset: 1, as: UInt8.self)) << 8 }
        if count == 3 { word |= UInt64(p.load(fromByteOffset: 2, as: UInt8.self)) << 16 }
        return word
    }

    /// A 64-bit finalizer (from the SplitMix64 generator) that spreads every input bit.
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

extension String: StreamKey {
    public var stableHash: UInt64 {
        withUTF8Bytes { StableHash.hash(bytes: $0) }
    }
}

extension String {
    /// Calls `body` with the string's UTF-8 bytes: in place where the string holds them
    /// contiguously (native and small strings do), else from a copy. Unlike `withUTF8`, it
    /// needs no mutable string: copying a string to call that retains its storage.
    @inlinable
    public func withUTF8Bytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let result = try utf8.withContiguousStorageIfAvailable({ try body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

extension Int: StreamKey {
    public var stableHash: UInt64 { StableHash.mix(UInt64(bitPattern: Int64(self))) }
}

extension Int64: StreamKey {
    public var stableHash: UInt64 { StableHash.mix(UInt64(bitPattern: self)) }
}

extension UInt64: StreamKey {
    public var stableHash: UInt64 { StableHash.mix(self) }
}

extension Bool: StreamKey {
    public var stableHash: UInt64 { StableHash.mix(self ? 1 : 0) }
}
