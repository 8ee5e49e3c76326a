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
/// again. Here the members are bytes in one array, laid out exactly as their checkpoint
/// encoding (a varint length, then the UTF-8 bytes), so encoding the set is one copy of
/// that array and copying it retains three buffers whatever the size of the set. The
/// encoding is the same as that of `DistinctValues<String>`, so either type restores the
/// other's checkpoints.
///
/// Members are found through a ``DistinctIndex``, as in ``DistinctValues``.
///
/// Written here rather than taken from a library: neither the standard library nor
/// swift-collections has a string set stored in one buffer.
public struct DistinctStrings: Sendable, Hashable {
    /// A member: its stable hash (`String.stableHash`), and where its UTF-8 bytes are in
    /// ``arena``.
    private struct Member: Sendable, Hashable {
        var hash: UInt64
        var offset: UInt32
        var length: UInt32
    }

    /// The members' encodings, one after another, as `BinaryWriter.writeBytes` writes them:
    /// varint length, UTF-8 bytes.
    private var arena = BinaryWriter(capacity: 0)
    /// The members, in insertion order.
    private var members: [Member] = []
    /// Finds members by hash (see ``DistinctIndex``).
    private var index = DistinctIndex()

    /// Members reserved for at the first insert.
    private static var initialCapacity: Int { 8 }

    /// Sets up to this size are searched linearly.
    public static var inlineLimit: Int { DistinctIndex.inlineLimit }

    /// An empty set.
    public init() {}

    /// The number of distinct strings.
    public var count: Int { members.count }

    /// Whether the set is empty.
    public var isEmpty: Bool { members.isEmpty }

    /// The members, in insertion order (allocates a `String` each; not for hot paths).
    public var values: [String] {
        arena.bytes.withUnsafeBytes { bytes in
            members.map { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[Int($0.offset)..<Int($0.offset + $0.length)]), as: UTF8.self) }
        }
    }

    /// Adds `value` unless present.
    public mutating func insert(_ value: String) {
        value.withUTF8Bytes { insert(utf8: $0, hash: StableHash.hash(bytes: $0)) }
    }

    /// Whether `value` is a member.
    public func contains(_ value: String) -> Bool {
        value.withUTF8Bytes { position(of: $0, hash: StableHash.hash(bytes: $0)).found }
    }

    /// Adds every member of `other`.
    public mutating func formUnion(_ other: DistinctStrings) {
        if members.isEmpty {
            self = other
            return
        }
        other.arena.bytes.withUnsafeBytes { bytes in
            for member in other.members {
                insert(utf8: UnsafeRawBufferPointer(rebasing: bytes[Int(member.offset)..<Int(member.offset + member.length)]),
                       hash: member.hash)
            }
        }
    }

    /// Adds the string whose UTF-8 bytes are `utf8` and whose stable hash is `hash`.
    private mutating func insert(utf8: UnsafeRawBufferPointer, hash: UInt64) {
        let (slot, found) = position(of: utf8, hash: hash)
        if found { return }
        if members.isEmpty {
            // Most sets stay small (a window's viewers, a session's posts): room for a few
            // members up front spares the 1-2-4-8 reallocations of both arrays as it grows.
            members.reserveCapacity(Self.initialCapacity)
            arena.reserveCapacity(Self.initialCapacity * (utf8.count + 1))
        }
        arena.writeBytes(utf8)
        precondition(arena.count <= Int(UInt32.max), "a DistinctStrings set is limited to 4 GiB")
        members.append(Member(hash: hash, offset: UInt32(arena.count - utf8.count), length: UInt32(utf8.count)))
        if !index.record(count: members.count, slot: slot, hash: hash) {
            let members = self.members
            index.rebuild(count: members.count) { members[$0].hash }
        }
    }

    /// Where `utf8` is (found) or would go in the index (not found; 0 while there is none).
    @inline(__always)
    private func position(of utf8: UnsafeRawBufferPointer, hash: UInt64) -> (slot: Int, found: Bool) {
        arena.bytes.withUnsafeBytes { bytes in
            index.position(hash: hash, count: members.count, hashOf: { members[$0].hash }, matches: { i in
                let m = members[i]
                guard Int(m.length) == utf8.count else { return false }
                return utf8.count == 0 || memcmp(bytes.baseAddress! + Int(m.offset), utf8.baseAddress!, utf8.count) == 0
            })
        }
    }

    /// Same members, whatever the order they were added in.
    public static func == (a: DistinctStrings, b: DistinctStrings) -> Bool {
        guard a.count == b.count else { return false }
        return a.arena.bytes.withUnsafeBytes { bytes in
            a.members.allSatisfy { m in
                b.position(of: UnsafeRawBufferPointer(rebasing: bytes[Int(m.offset)..<Int(m.offset + m.length)]), hash: m.hash).found
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of the members' stable hashes.
        hasher.combine(count)
        hasher.combine(members.reduce(0) { $0 &+ $1.hash })
    }
}

extension DistinctStrings: StateCodable {
    /// The member count, then each member as a length-prefixed string: the buffer as it is.
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        arena.bytes.withUnsafeBytes { writer.appendEncoded($0) }
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
                insert(utf8: bytes, hash: StableHash.hash(bytes: bytes))
            }
        }
    }
}
