import RunnelCore

/// An event id as the job holds it: the 128 bits of a lowercase canonical UUID (the common
/// case: no string is allocated, and hashing and comparing are two integers), else the id
/// text itself.
///
/// Dedup state holds an entry per event id for an hour of event time, and every event
/// carries its id; keeping UUIDs as two words saves an allocation, a UTF-8 validation and
/// a 36-byte hash per event. Only lowercase UUIDs are packed, so ``text`` always gives back
/// exactly the id that was read.
public enum EventIDKey: StreamKey, Sendable {
    /// A canonical lowercase UUID (`8-4-4-4-12` hex digits).
    case uuid(UInt64, UInt64)
    /// Any other id.
    case text(String)

    /// Reads an event id.
    public init(_ id: String) {
        var copy = id
        let parsed: (UInt64, UInt64)? = copy.withUTF8 { EventIDKey.parseUUID(UnsafeRawBufferPointer($0)) }
        if let (hi, lo) = parsed { self = .uuid(hi, lo) } else { self = .text(id) }
    }

    /// Reads an event id from UTF-8 bytes (already validated), allocating only for non-UUID ids.
    public init(utf8 bytes: UnsafeRawBufferPointer) {
        if let (hi, lo) = EventIDKey.parseUUID(bytes) {
            self = .uuid(hi, lo)
        } else {
            self = .text(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// The id as text, exactly as it was read.
    public var text: String {
        switch self {
        case .text(let s): return s
        case .uuid(let hi, let lo):
            let digits = Array("0123456789abcdef".utf8)
            return String(unsafeUninitializedCapacity: 36) { buffer in
                var words = (hi, lo)
                var n = 0
                for i in 0..<36 {
                    if i == 8 || i == 13 || i == 18 || i == 23 {
                        buffer[i] = UInt8(ascii: "-")
                        continue
                    }
                    let word = n < 16 ? words.0 : words.1
                    let shift = UInt64(60 - 4 * (n % 16))
                    buffer[i] = digits[Int((word >> shift) & 0xF)]
                    n += 1
                }
                words = (0, 0)
                return 36
            }
        }
    }

    public var stableHash: UInt64 {
        switch self {
        case .uuid(let hi, let lo): return StableHash.mix(hi ^ StableHash.mix(lo))
        case .text(let s): return s.stableHash
        }
    }

    /// The two words of a lowercase canonical UUID, or nil.
    ///
    /// Eight hex digits at a time in one 64-bit word (SWAR): range checks on all bytes at
    /// once, nibbles packed with shifts. Every event id goes through here once.
    private static func parseUUID(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        guard bytes.count == 36 else { return nil }
        let p = bytes.baseAddress!
        guard p.load(fromByteOffset: 8, as: UInt8.self) == 0x2D, p.load(fromByteOffset: 13, as: UInt8.self) == 0x2D,
              p.load(fromByteOffset: 18, as: UInt8.self) == 0x2D, p.load(fromByteOffset: 23, as: UInt8.self) == 0x2D
        else { return nil }
        func word(_ offset: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        func half(_ offset: Int) -> UInt64 { UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))) }
        // The 32 digits as four words of eight: the four-digit groups are paired up, the
        // earlier group in the low bytes (first character lowest, as `hex8` reads them).
        guard let a = hex8(word(0)), let b = hex8(half(9) | half(14) << 32),
              let c = hex8(half(19) | half(24) << 32), let d = hex8(word(28)) else { return nil }
        return (a << 32 | b, c << 32 | d)
    }

    /// The value of eight lowercase hex digits (first character in the lowest byte), or nil.
    @inline(__always)
    private static func hex8(_ w: UInt64) -> UInt64? {
        let high: UInt64 = 0x8080_8080_8080_8080
        guard w & high == 0 else { return nil }  // ASCII only, so the additions below never carry
        let atLeast0 = w &+ 0x5050_5050_5050_5050      // high bit set where byte >= 0x30
        let above9 = w &+ 0x4646_4646_4646_4646        // where byte >= 0x3A
        let atLeastA = w &+ 0x1F1F_1F1F_1F1F_1F1F      // where byte >= 0x61
        let aboveF = w &+ 0x1919_1919_1919_1919        // where byte >= 0x67
        let valid = (atLeast0 & ~above9) | (atLeastA & ~aboveF)
        guard valid & high == high else { return nil }
        // Nibble values: digits are `byte & 0xF`; letters add 9 (their bit 6 is set).
        var x = (w & 0x0F0F_0F0F_0F0F_0F0F) &+ ((w >> 6) & 0x0101_0101_0101_0101) &* 9
        x = x.byteSwapped  // first character in the highest byte
        x = ((x >> 4) | x) & 0x00FF_00FF_00FF_00FF
        x = ((x >> 8) | x) & 0x0000_FFFF_0000_FFFF
        x = ((x >> 16) | x) & 0x0000_0000_FFFF_FFFF
        return x
    }
}
