import CXXHash

/// 64-bit XXH3 checksums (Debian's libxxhash) of checkpoint files.
public enum XXHash64 {
    /// The XXH3-64 hash of `bytes`.
    public static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        XXH3_64bits(bytes.baseAddress, bytes.count)
    }

    /// The XXH3-64 hash of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { hash($0) }
    }

    /// The XXH3-64 hash of the concatenation of `pieces` (the same value as hashing them
    /// joined), without joining them.
    public static func hash(pieces: [UnsafeRawBufferPointer]) -> UInt64 {
        guard let state = XXH3_createState() else {
            // Out of memory for the 576-byte state: join instead.
            var joined: [UInt8] = []
            for piece in pieces { joined.append(contentsOf: piece) }
            return hash(joined)
        }
        defer { XXH3_freeState(state) }
        XXH3_64bits_reset(state)
        for piece in pieces where piece.count > 0 { XXH3_64bits_update(state, piece.baseAddress, piece.count) }
        return XXH3_64bits_digest(state)
    }
}
