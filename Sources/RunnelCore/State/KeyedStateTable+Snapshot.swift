/// Writing the key groups of a state table to a checkpoint and reading them back.
///
/// Layout of a key group's block: the entry count, then per entry the key, the TTL stamp
/// (`refreshedAt`, zigzag varint) and the value, each in its type's ``StateCodable``
/// encoding.
extension KeyedStateTable {
    /// Freezes the table for a snapshot (see ``freeze()``) and returns what writes the
    /// entries of one key group of it, which may run on another thread while the task goes
    /// on: writes after the freeze go to copies of the groups.
    func frozenWriter(keys: StateSerializer<Key>) throws -> (Int, inout BinaryWriter) -> Void {
        guard let values = StateSerializer<Value>.ofCodable else {
            throw StateNotSerializable(what: "state '\(name)'", type: String(reflecting: Value.self))
        }
        let maps = freeze()
        let first = firstKeyGroup
        let valueOffset = MemoryLayout<Entry>.offset(of: \Entry.value)!
        let raw = keys.encodeRawInPlace.flatMap { rawKey in values.encodeRawInPlace.map { (rawKey, $0) } }
        let scratch = raw == nil ? nil : EncodingScratch()
        return { group, writer in
            let map = maps[group - first]
            writer.writeVarUInt(UInt64(map.count))
            func slowly(_ key: UnsafePointer<Key>, _ entry: UnsafePointer<Entry>) {
                keys.encodeInPlace(key, &writer)
                writer.writeVarInt(entry.pointee.refreshedAt)
                values.encodeInPlace(UnsafeRawPointer(entry).advanced(by: valueOffset).assumingMemoryBound(to: Value.self),
                                     &writer)
            }
            guard let (rawKey, rawValue) = raw, let scratch else {
                map.forEachInPlace(slowly)
                return
            }
            // Entries are written into the scratch buffer and appended to the writer in large
            // pieces; an entry that does not fit in what is left is retried after a flush, and
            // one larger than the whole buffer goes through the writer.
            map.forEachInPlace { key, entry in
                let value = UnsafeRawPointer(entry).advanced(by: valueOffset).assumingMemoryBound(to: Value.self)
                for attempt in 0..<2 {
                    if scratch.write(key: key, stamp: entry.pointee.refreshedAt, value: value, rawKey, rawValue) { return }
                    scratch.flush(into: &writer)
                    if attempt == 1 { slowly(key, entry) }
                }
            }
            scratch.flush(into: &writer)
        }
    }

    /// Adds the entries of a block written by `snapshot(keyGroup:keys:to:)` to key group
    /// `group`; every key must belong to that group.
    func restore(keyGroup group: Int, from reader: inout BinaryReader, keys: StateSerializer<Key>,
                 assignment: KeyGroupAssignment) throws {
        guard let values = StateSerializer<Value>.ofCodable else {
            throw StateNotSerializable(what: "state '\(name)'", type: String(reflecting: Value.self))
        }
        let map = mutableGroup(group - firstKeyGroup)
        let count = try reader.readCount()
        map.reserveCapacity(map.count + count)
        for _ in 0..<count {
            let key = HashedKey(try keys.decode(&reader))
            guard assignment.keyGroup(forHash: key.hash) == group else {
                throw SnapshotDecodingError.malformed("a key of state '\(name)' does not belong to key group \(group)",
                                                      offset: reader.offset)
            }
            let stamp = try reader.readVarInt()
            let value = try values.decode(&reader)
            map.updateValue(Entry(value: value, refreshedAt: stamp), forKey: key)
        }
    }
}
