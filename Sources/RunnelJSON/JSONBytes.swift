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
}
