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
}
