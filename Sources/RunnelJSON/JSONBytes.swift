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
    /// Short values (up to 15 bytes, which `String` stores inline: most ids) are built in
    /// place with `String(unsafeUninitializedCapacity:initializingUTF8With:)`, which checks
    /// an inline string for ASCII a word at a time, where `String(decoding:as:)` validates
    /// byte by byte and then copies: about 27 of its ~175 instructions per id fewer (0.6 %
    /// of the replay's instructions at parallelism 2).
    @inlinable
    public static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        let count = bytes.count
        guard count > 0, count <= 15, let source = bytes.baseAddress else { return String(decoding: bytes, as: UTF8.self) }
        return String(unsafeUninitializedCapacity: count) { buffer in
            UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(from: source, byteCount: count)
            return count
        }
    }
}
