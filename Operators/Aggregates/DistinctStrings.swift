import RunnelCore
#if canImport(Glibc)
import Glibc
#endif

/// A set of distinct strings held as their UTF-8 bytes in one buffer: for distinct-count
/// accumulators over ids (viewers of a post, posts of a session, active users).
///
/// ``DistinctValues`` of `String` keeps one `String` per member, each usually a heap
/// object of its own: a checkpoint that encodes the set visits (and retains) every one of
/// them, and a window accumulator copied for a checkpoint (copy-on-write) retains them all
/// again. Here a set is one buffer (``DistinctStringsStorage``) holding its members, their
/// hash table and their bytes, so that copying a set retains one object, and adding to a
/// set that is not in the cache costs one miss for the buffer's first line rather than one
/// for each of several buffers.
///
/// A member of at most 8 bytes (most ids: `p-375`, `u-16872`) is stored in its member
/// record itself, and small sets compare such values as one word, without hashing them.
/// Longer members keep their stable hash in the record and their bytes in the buffer's
/// byte area.
///
/// The checkpoint encoding is that of `DistinctValues<String>` (a count, then each member
/// as length-prefixed UTF-8, in insertion order), so either type restores the other's
/// checkpoints.
///
/// Written here rather than taken from a library: neither the standard library nor
/// swift-collections has a string set stored in one buffer.
public struct DistinctStrings: Sendable, Hashable {
    /// The members, their table and bytes; nil while the set is empty. Unsafe only for
    /// the compiler: the buffer is copied before a write whenever it is shared, so a set
    /// sent to another thread shares nothing that either side writes.
    nonisolated(unsafe) private var storage: DistinctStringsStorage?

    /// Sets up to this size are searched linearly; larger ones through a hash table.
    public static var inlineLimit: Int { DistinctStringsStorage.linearLimit }

    /// An empty set.
    public init() {}

    /// The number of distinct strings.
    public var count: Int { storage?.header.count ?? 0 }

    /// Whether the set is empty.
    public var isEmpty: Bool { count == 0 }

    /// The members, in insertion order (allocates a `String` each; not for hot paths).
    public var values: [String] {
        guard let storage else { return [] }
        return (0..<storage.header.count).map { i in storage.withMemberBytes(i) { String(decoding: $0, as: UTF8.self) } }
    }

    /// Adds `value` unless present.
    public mutating func insert(_ value: String) {
        value.withUTF8Bytes { insert(utf8: $0, knownHash: nil) }
    }

    /// Whether `value` is a member.
    public func contains(_ value: String) -> Bool {
        guard let storage else { return false }
        return value.withUTF8Bytes { storage.find($0, knownHash: nil).found }
    }

    /// Adds every member of `other`.
    public mutating func formUnion(_ other: DistinctStrings) {
        guard let source = other.storage else { return }
        if storage == nil {
            self = other
            return
        }
        for i in 0..<source.header.count {
            let hash = source.storedHash(i)
            source.withMemberBytes(i) { insert(utf8: $0, knownHash: hash) }
        }
    }

    /// Adds the string whose UTF-8 bytes are `utf8` (with stable hash `knownHash`, when the
    /// caller has it) unless present.
    private mutating func insert(utf8: UnsafeRawBufferPointer, knownHash: UInt64?) {
        guard storage != nil else {
            let storage = DistinctStringsStorage.make(memberCapacity: DistinctStringsStorage.initialMembers, tableSize: 0,
                                                      byteCapacity: DistinctStringsStorage.initialBytes(forFirst: utf8.count))
            _ = storage.insert(utf8, knownHash: knownHash)
            self.storage = storage
            return
        }
        if !isKnownUniquelyReferenced(&storage) { storage = storage.unsafelyUnwrapped.copy() }
        // One call finds the value and, when there is room, adds it; only growth (into a
        // new buffer, which then has room) takes a second.
        // Through an unmanaged reference: the call needs no retain of the buffer that `self`
        // holds throughout (the compiler adds one around a call on a stored property).
        let outcome = Unmanaged.passUnretained(storage.unsafelyUnwrapped)._withUnsafeGuaranteedRef {
            $0.insert(utf8, knownHash: knownHash)
        }
        guard case .needsRoom(let hash) = outcome else { return }
        let grown = storage.unsafelyUnwrapped.grown(toAdd: utf8.count)
        _ = grown.insert(utf8, knownHash: hash)
        storage = grown
    }

    public static func == (a: DistinctStrings, b: DistinctStrings) -> Bool {
        guard a.count == b.count else { return false }
        guard let left = a.storage, let right = b.storage else { return true }
        return (0..<left.header.count).allSatisfy { i in
            let hash = left.storedHash(i)
            return left.withMemberBytes(i) { right.find($0, knownHash: hash).found }
        }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of the members' stable hashes.
        hasher.combine(count)
        var sum: UInt64 = 0
        if let storage {
            for i in 0..<storage.header.count {
                // A long member's stable hash is stored with it; a short one is hashed here.
                sum &+= storage.storedHash(i) ?? storage.withMemberBytes(i) { StableHash.hash(bytes: $0) }
            }
        }
        hasher.combine(sum)
    }
}

extension DistinctStrings: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        guard let storage else { return }
        for i in 0..<storage.header.count { storage.withMemberBytes(i) { writer.writeBytes($0) } }
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        for _ in 0..<(try reader.readCount()) {
            let start = reader.offset
            try reader.withByteString { bytes in
                // As `String` decoding does: invalid UTF-8 is an error, not repaired.
                guard String(validating: bytes, as: UTF8.self) != nil else {
                    throw SnapshotDecodingError.malformed("invalid UTF-8 in a string", offset: start)
                }
                insert(utf8: bytes, knownHash: nil)
            }
        }
    }
}
