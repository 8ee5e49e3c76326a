/// The buffer a table's entries are encoded into before being appended to the snapshot's
/// writer in large pieces (see ``RawStateEncodable``). Used by one snapshot writer at a time.
final class EncodingScratch {
    static let capacity = 64 * 1024
    private let base = UnsafeMutableRawPointer.allocate(byteCount: EncodingScratch.capacity, alignment: 16)
    private var used = 0

    deinit { base.deallocate() }

    /// Writes one entry (key, TTL stamp, value) if it fits; false, having written nothing,
    /// if it does not.
    @inline(__always)
    func write<Key, Value>(key: UnsafePointer<Key>, stamp: Int64, value: UnsafePointer<Value>,
                           _ rawKey: (UnsafePointer<Key>, UnsafeMutableRawPointer, Int) -> Int?,
                           _ rawValue: (UnsafePointer<Value>, UnsafeMutableRawPointer, Int) -> Int?) -> Bool {
        guard let n = RawEncoding.entry(key: key, stamp: stamp, value: value, rawKey, rawValue,
                                        to: base + used, capacity: Self.capacity - used) else { return false }
        used += n
        return true
    }

    /// Appends what was written to `writer` and empties the buffer.
    func flush(into writer: inout BinaryWriter) {
        guard used > 0 else { return }
        writer.appendEncoded(UnsafeRawBufferPointer(start: base, count: used))
        used = 0
    }
}
