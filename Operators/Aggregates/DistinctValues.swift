import RunnelCore

/// An exact set of distinct values for aggregates (distinct viewers, distinct posts).
///
/// Values are kept densely in insertion order next to their 64-bit ``StreamKey/stableHash``;
/// a lookup compares hashes first and values only when the hashes agree, so the set stays
/// exact while a miss costs integer comparisons. Up to ``inlineLimit`` values are found by
/// a linear scan of the hashes; beyond that an open-addressing index over the dense
/// arrays is built.
///
/// Written here rather than using `Set`: a `Set` per accumulator paid SipHash on every
/// insert (and again on every rehash and union), which was about a tenth of the replay
/// job's per-event time; stable hashes are cheaper to compute and are never recomputed
/// (a union copies them along with the values).
public struct DistinctValues<Value: StreamKey>: Sendable, Hashable {
    /// The members with their stable hashes, in insertion order (one array, so a small set
    /// costs one allocation).
    private var members: [(hash: UInt64, value: Value)] = []
    /// Finds members by hash (see ``DistinctIndex``).
    private var index = DistinctIndex()

    /// Values found by a linear scan before an index is built.
    public static var inlineLimit: Int { DistinctIndex.inlineLimit }

    /// An empty set.
    public init() {}

    /// The number of distinct values.
    public var count: Int { members.count }

    /// The values, in insertion order.
    public var values: [Value] { members.map(\.value) }

    /// Adds a value (no effect if present).
    public mutating func insert(_ value: Value) {
        insert(value, hash: value.stableHash)
    }

    /// Adds every value of `other`.
    public mutating func formUnion(_ other: DistinctValues) {
        if members.isEmpty && !other.members.isEmpty {
            self = other
            return
        }
        for member in other.members { insert(member.value, hash: member.hash) }
    }

    /// Whether `value` is in the set.
    public func contains(_ value: Value) -> Bool {
        position(of: value, hash: value.stableHash).found
    }

    private mutating func insert(_ value: Value, hash: UInt64) {
        let (slot, found) = position(of: value, hash: hash)
        if found { return }
        if members.isEmpty { members.reserveCapacity(4) }
        members.append((hash, value))
        if !index.record(count: members.count, slot: slot, hash: hash) {
            let members = self.members
            index.rebuild(count: members.count) { members[$0].hash }
        }
    }

    /// Where `value` is: found, or (with an index) the empty slot where it would go.
    @inline(__always)
    private func position(of value: Value, hash: UInt64) -> (slot: Int, found: Bool) {
        index.position(hash: hash, count: members.count, hashOf: { members[$0].hash }, matches: { members[$0].value == value })
    }

    public static func == (a: DistinctValues, b: DistinctValues) -> Bool {
        a.count == b.count && a.members.allSatisfy { b.position(of: $0.value, hash: $0.hash).found }
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: the sum of the members' stable hashes.
        hasher.combine(count)
        hasher.combine(members.reduce(0) { $0 &+ $1.hash })
    }
}

extension DistinctValues: StateCodable where Value: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        // In place: copying each member out would retain and release its value.
        members.withUnsafeBufferPointer { members in
            for i in members.indices { members[i].value.encode(to: &writer) }
        }
    }

    /// Reads the values back; their stable hashes are recomputed (they are deterministic).
    public init(from reader: inout BinaryReader) throws {
        self.init()
        for _ in 0..<(try reader.readCount()) { insert(try Value(from: &reader)) }
    }
}
