/// Writing the key groups of a state table to a checkpoint and reading them back.
///
/// Layout of a key group's block: a kind byte, then
/// - `0` (full): the entry count, then per entry the key, the TTL stamp (`refreshedAt`,
///   zigzag varint) and the value, each in its type's ``StateCodable`` encoding;
/// - `1` (delta): the id of the checkpoint it follows (zigzag varint), then the change
///   records made since that checkpoint (see ``StateChangelog``), to the end of the block.
extension KeyedStateTable {
    /// The kinds of key-group blocks.
    enum BlockKind: UInt8 {
        case full = 0
        case delta = 1
    }

    /// Decides which key groups checkpoint `request` writes in full and which as deltas
    /// (see ``StateChangelog``), freezes the full ones, and returns what writes one key
    /// group's block — which may run on another thread while the task goes on — with the
    /// earlier checkpoints the deltas build on.
    func snapshotWriter(keys: StateSerializer<Key>, request: SnapshotRequest) throws
        -> (write: (Int, inout BinaryWriter) -> Void, dependsOn: [Int64]) {
        guard let values = StateSerializer<Value>.ofCodable else {
            throw StateNotSerializable(what: "state '\(name)'", type: String(reflecting: Value.self))
        }
        let plan = changelog?.plan(checkpoint: request.checkpointID, previousCompleted: request.previousCompletedID,
                                   incremental: request.incremental) { g in self.group(g).count }
        let deltas = plan?.deltas
        let full = fullGroupWriter(keys: keys, values: values, maps: freeze { g in deltas?[g] == nil })
        let first = firstKeyGroup
        let write: (Int, inout BinaryWriter) -> Void = { group, writer in
            if let delta = deltas?[group - first] {
                writer.writeByte(BlockKind.delta.rawValue)
                writer.writeVarInt(delta.previous)
                delta.log.withUnsafeBytes { writer.appendEncoded($0) }
            } else {
                writer.writeByte(BlockKind.full.rawValue)
                full(group, &writer)
            }
        }
        return (write, plan?.dependsOn ?? [])
    }

    /// What writes the entries of one key group of `maps`, frozen for it. Each group is
    /// written once, and its frozen map let go as soon as it is written: until then the task
    /// copies each entry it changes in that group (per-entry copy-on-write), so a map held
    /// to the end of the snapshot would cost the task copies of entries the snapshot no
    /// longer reads.
    private func fullGroupWriter(keys: StateSerializer<Key>, values: StateSerializer<Value>,
                                 maps: [KeyGroupMap<Key, Entry>]) -> (Int, inout BinaryWriter) -> Void {
        let first = firstKeyGroup
        let raw = Self.rawGroupWriter()
        let frozen = FrozenGroups(maps)
        return { group, writer in
            let map = frozen.take(group - first)
            writer.writeVarUInt(UInt64(map.count))
            guard let raw else {
                map.forEachInPlace { key, entry in Self.writeEntry(key, entry, keys: keys, values: values, to: &writer) }
                return
            }
            raw(map, &writer) { key, entry, writer in Self.writeEntry(key, entry, keys: keys, values: values, to: &writer) }
        }
    }

    /// Writes one entry through the serializers: key, TTL stamp, value.
    private static func writeEntry(_ key: UnsafePointer<Key>, _ entry: UnsafePointer<Entry>, keys: StateSerializer<Key>,
                                   values: StateSerializer<Value>, to writer: inout BinaryWriter) {
        keys.encodeInPlace(key, &writer)
        writer.writeVarInt(entry.pointee.refreshedAt)
        values.encodeInPlace(UnsafeRawPointer(entry).advanced(by: MemoryLayout<Entry>.offset(of: \Entry.value)!)
                                .assumingMemoryBound(to: Value.self), &writer)
    }

    /// A map's entries in raw encodings (``RawStateEncodable``), when the key and value types
    /// have them; `slowly` writes an entry too large for the scratch buffer.
    typealias RawGroupWriter = (KeyGroupMap<Key, Entry>, inout BinaryWriter,
                                (UnsafePointer<Key>, UnsafePointer<Entry>, inout BinaryWriter) -> Void) -> Void

    /// What writes a map's entries in raw encodings, or nil when the key or the value type
    /// has none.
    private static func rawGroupWriter() -> RawGroupWriter? {
        guard let keyType = Key.self as? any RawStateEncodable.Type,
              let valueType = Value.self as? any RawStateEncodable.Type else { return nil }
        return rawGroupWriter(keyType, valueType)
    }

    /// The raw group writer with `K` and `V` standing for the key and value types, so that
    /// each entry is encoded by direct calls. (Through the serializers' stored closures each
    /// entry cost several indirect calls and reabstraction thunks: on the replay job about a
    /// quarter of the checkpoint writer's time.)
    private static func rawGroupWriter<K: RawStateEncodable, V: RawStateEncodable>(_: K.Type, _: V.Type) -> RawGroupWriter {
        let valueOffset = MemoryLayout<Entry>.offset(of: \Entry.value)!
        let scratch = EncodingScratch()
        return { map, writer, slowly in
            // Entries are written into the scratch buffer and appended to the writer in large
            // pieces; an entry that does not fit in what is left is retried after a flush, and
            // one larger than the whole buffer goes through the writer.
            map.forEachInPlace { key, entry in
                let rawKey = UnsafeRawPointer(key).assumingMemoryBound(to: K.self)
                let rawValue = UnsafeRawPointer(entry).advanced(by: valueOffset).assumingMemoryBound(to: V.self)
                for attempt in 0..<2 {
                    if scratch.write(key: rawKey, stamp: entry.pointee.refreshedAt, value: rawValue,
                                     { $0.pointee.encodeRaw(to: $1, capacity: $2) },
                                     { $0.pointee.encodeRaw(to: $1, capacity: $2) }) { return }
                    scratch.flush(into: &writer)
                    if attempt == 1 { slowly(key, entry, &writer) }
                }
            }
            scratch.flush(into: &writer)
        }
    }

    /// Applies a key group's block written by ``snapshotWriter(keys:request:)`` to key group
    /// `group`: a full block adds its entries, a delta block replays its changes (restore
    /// applies a group's full block first, then the deltas after it, oldest first). Every
    /// key must belong to that group.
    func restore(keyGroup group: Int, from reader: inout BinaryReader, keys: StateSerializer<Key>,
                 assignment: KeyGroupAssignment) throws {
        guard let values = StateSerializer<Value>.ofCodable else {
            throw StateNotSerializable(what: "state '\(name)'", type: String(reflecting: Value.self))
        }
        // Restored state starts a new chain: the next checkpoint writes it in full.
        changelog?.reset()
        let local = group - firstKeyGroup
        let map = mutableGroup(local)
        func readKey() throws -> HashedKey<Key> {
            let key = HashedKey(try keys.decode(&reader))
            guard assignment.keyGroup(forHash: key.hash) == group else {
                throw SnapshotDecodingError.malformed("a key of state '\(name)' does not belong to key group \(group)",
                                                      offset: reader.offset)
            }
            return key
        }
        // An entry as a full block and a put record hold it: key, TTL stamp, value.
        func readEntry() throws {
            let key = try readKey()
            let stamp = try reader.readVarInt()
            let value = try values.decode(&reader)
            map.updateValue(Entry(value: value, refreshedAt: stamp), forKey: key)
        }
        switch BlockKind(rawValue: try reader.readByte()) {
        case .full:
            let count = try reader.readCount()
            map.reserveCapacity(map.count + count)
            for _ in 0..<count { try readEntry() }
        case .delta:
            _ = try reader.readVarInt()
            while !reader.isAtEnd {
                let tagOffset = reader.offset
                switch StateChangelog<Key, Value>.Record(rawValue: try reader.readByte()) {
                case .put:
                    try readEntry()
                case .remove:
                    map.removeValue(forKey: try readKey())
                case .expire:
                    let limit = try reader.readVarInt()
                    map.removeAll { $1.refreshedAt <= limit }
                case nil:
                    throw SnapshotDecodingError.malformed("unknown change record in state '\(name)'", offset: tagOffset)
                }
            }
        case nil:
            throw SnapshotDecodingError.malformed("unknown block kind in state '\(name)'", offset: reader.offset - 1)
        }
    }
}

/// What a checkpoint asks of keyed state: its id, the last checkpoint of the job that
/// completed (deltas may only follow that one), and whether deltas are allowed at all.
public struct SnapshotRequest: Sendable {
    /// The checkpoint being taken.
    public var checkpointID: Int64
    /// The job's last completed checkpoint when this one was triggered.
    public var previousCompletedID: Int64?
    /// Whether key groups may be written as deltas (false for savepoints, which must be
    /// self-contained, and when incremental checkpoints are off).
    public var incremental: Bool

    /// Creates a request.
    public init(checkpointID: Int64, previousCompletedID: Int64?, incremental: Bool) {
        self.checkpointID = checkpointID
        self.previousCompletedID = previousCompletedID
        self.incremental = incremental
    }

    /// A self-contained snapshot of everything (outside checkpoints: tests, inspection).
    public static let full = SnapshotRequest(checkpointID: 0, previousCompletedID: nil, incremental: false)

    /// The request a checkpoint barrier makes.
    public init(_ barrier: CheckpointBarrier) {
        self.init(checkpointID: barrier.id, previousCompletedID: barrier.previousCompletedID,
                  incremental: barrier.incremental && !barrier.isSavepoint)
    }
}

/// The frozen maps of a state's key groups, handed over one by one to the writer of a
/// snapshot, which lets go of each once written.
///
/// Thread safety: filled where the snapshot is taken, then used by the one thread that
/// writes the snapshot.
private final class FrozenGroups<Key: StreamKey, Value>: @unchecked Sendable {
    private var maps: [KeyGroupMap<Key, Value>?]

    init(_ maps: [KeyGroupMap<Key, Value>]) { self.maps = maps }

    /// Takes the map of local group `g` out.
    /// - Precondition: Not taken before (a snapshot is written once).
    func take(_ g: Int) -> KeyGroupMap<Key, Value> {
        guard let map = maps[g] else { preconditionFailure("key group \(g) of a snapshot written twice") }
        maps[g] = nil
        return map
    }
}
