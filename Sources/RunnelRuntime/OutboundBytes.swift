/// Bytes to write to connections, in memory that stays put until every write that
/// references them has finished.
///
/// A message for many subscribers is encoded once into one of these and the same memory
/// is handed to each connection's write; nothing is copied per subscriber.
///
/// Thread safety: immutable after creation, so it may be shared between loops.
public final class OutboundBytes: @unchecked Sendable {
    // @unchecked: the storage is written only in init and freed in deinit.
    /// At least one byte long, so that an empty message still has a valid address.
    let storage: UnsafeMutableRawBufferPointer
    /// The number of bytes.
    public let count: Int

    /// Copies `bytes` into stable memory.
    public init(_ bytes: some Collection<UInt8>) {
        count = bytes.count
        storage = .allocate(byteCount: max(count, 1), alignment: 16)
        _ = storage.initializeMemory(as: UInt8.self, from: bytes)
    }

    deinit { storage.deallocate() }

    /// The bytes, for reading.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }
}
