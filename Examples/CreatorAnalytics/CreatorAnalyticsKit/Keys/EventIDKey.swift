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
    private static func parseUUID(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        guard bytes.count == 36 else { return nil }
        let p = bytes.bindMemory(to: UInt8.self)
        guard p[8] == 0x2D, p[13] == 0x2D, p[18] == 0x2D, p[23] == 0x2D else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        var bad = false
        @inline(__always) func digit(_ c: UInt8) -> UInt64 {
            let d = c &- 48
            if d < 10 { return UInt64(d) }
            let l = c &- 97
            if l < 6 { return UInt64(l + 10) }
            bad = true
            return 0
        }
        for i in 0..<8 { hi = hi << 4 | digit(p[i]) }
        for i in 9..<13 { hi = hi << 4 | digit(p[i]) }
        for i in 14..<18 { hi = hi << 4 | digit(p[i]) }
        for i in 19..<23 { lo = lo << 4 | digit(p[i]) }
        for i in 24..<36 { lo = lo << 4 | digit(p[i]) }
        return bad ? nil : (hi, lo)
    }
}
