import RunnelCore

/// The deduplication key of an event id: the 128 bits of a UUID when the id is one
/// (the common case, hashed and compared as two integers), else the id itself.
///
/// Dedup state holds an entry per event id for an hour of event time; hashing and
/// comparing two words instead of a 36-character string is most of its cost.
public enum EventIDKey: StreamKey {
    /// A canonical UUID (`8-4-4-4-12` hex digits, either case).
    case uuid(UInt64, UInt64)
    /// Any other id.
    case text(String)

    /// Parses an event id.
    public init(_ id: String) {
        var copy = id
        let parsed: (UInt64, UInt64)? = copy.withUTF8 { EventIDKey.parseUUID($0) }
        if let (hi, lo) = parsed { self = .uuid(hi, lo) } else { self = .text(id) }
    }

    public var stableHash: UInt64 {
        switch self {
        case .uuid(let hi, let lo): return StableHash.mix(hi ^ StableHash.mix(lo))
        case .text(let s): return s.stableHash
        }
    }

    private static func parseUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64)? {
        guard bytes.count == 36, let p = bytes.baseAddress,
              p[8] == 0x2D, p[13] == 0x2D, p[18] == 0x2D, p[23] == 0x2D else { return nil }
        var hi: UInt64 = 0, lo: UInt64 = 0
        var bad: UInt8 = 0
        @inline(__always) func digit(_ c: UInt8) -> UInt64 {
            let d = c &- 48
            if d < 10 { return UInt64(d) }
            let l = (c | 0x20) &- 97
            if l < 6 { return UInt64(l + 10) }
            bad = 1
            return 0
        }
        for i in 0..<8 { hi = hi << 4 | digit(p[i]) }
        for i in 9..<13 { hi = hi << 4 | digit(p[i]) }
        for i in 14..<18 { hi = hi << 4 | digit(p[i]) }
        for i in 19..<23 { lo = lo << 4 | digit(p[i]) }
        for i in 24..<36 { lo = lo << 4 | digit(p[i]) }
        return bad == 0 ? (hi, lo) : nil
    }
}
