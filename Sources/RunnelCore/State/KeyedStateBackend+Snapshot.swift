/// Checkpointing a subtask's keyed state by key group, and restoring it at any parallelism.
///
/// Layout of a snapshot: the key-group range (lower and upper bound, varints), the number
/// of states, then per state (sorted by name) its name and, per key group of the range,
/// the group's index, the byte length of its block and the block (see
/// `KeyedStateTable.snapshot(keyGroup:keys:to:)`). Blocks are length-prefixed so that a
/// subtask restoring with another parallelism takes the groups it owns without decoding
/// the others.
extension KeyedStateBackend {
    /// Entries over all declared states (for checkpoint summaries).
    public var entryCount: Int {
        codecs.values.reduce(0) { $0 + $1.entryCount() }
    }

    /// The keyed state of every declared state for the key groups this subtask owns.
    public func snapshot() throws -> [UInt8] {
        try snapshotLater().serialize()
    }

    /// Freezes the state (O(states × key groups)) and returns what encodes it, which may
    /// run on another thread while the task goes on: the task's later writes go to copies
    /// of the key groups they touch (copy-on-write), so the encoding shows the state as it
    /// was at this call. Throws at once if a state or the key type has no encoding.
    public func snapshotLater() throws -> DeferredSnapshot {
        let range = keyGroups
        var writers: [(name: String, write: (Int, inout BinaryWriter) -> Void)] = []
        for name in stateNames {
            writers.append((name, try codecs[name]!.frozenWriter()))
        }
        return DeferredSnapshot { writer in
            writer.write(range.lowerBound)
            writer.write(range.upperBound)
            writer.writeVarUInt(UInt64(writers.count))
            for (name, write) in writers {
                writer.writeString(name)
                for group in range {
                    writer.write(group)
                    let block = writer.beginLengthPrefixed()
                    write(group, &writer)
                    writer.endLengthPrefixed(block)
                }
            }
        }
    }

    /// Takes the key groups this subtask owns from `snapshots` (of any subtasks, at any
    /// parallelism). States already declared are filled now; others when they are declared.
    /// Call ``finishRestore()`` once the operator has declared its states.
    public func restore(from snapshots: [[UInt8]]) throws {
        for bytes in snapshots {
            var reader = BinaryReader(bytes)
            let lower: Int = try reader.read()
            let upper: Int = try reader.read()
            guard lower <= upper else { throw SnapshotDecodingError.malformed("key group range \(lower)..<\(upper)", offset: 0) }
            let stateCount = try reader.readCount()
            for _ in 0..<stateCount {
                let name = try reader.readString()
                var blocks: [Int: [UInt8]] = [:]
                for _ in lower..<upper {
                    let group: Int = try reader.read()
                    let block = try reader.readBytes()
                    guard (lower..<upper).contains(group) else {
                        throw SnapshotDecodingError.malformed("key group \(group) outside \(lower)..<\(upper)", offset: reader.offset)
                    }
                    if keyGroups.contains(group) { blocks[group] = block }
                }
                guard !blocks.isEmpty else { continue }
                if let codec = codecs[name] {
                    restore(codec, blocks)
                } else {
                    pendingRestore[name, default: [:]].merge(blocks) { _, new in new }
                }
            }
            guard reader.isAtEnd else { throw SnapshotDecodingError.malformed("bytes after the last state", offset: reader.offset) }
        }
    }

    /// Throws if restored state could not be decoded into the declared states, or if a
    /// restored state was never declared (state would otherwise be dropped silently).
    public func finishRestore() throws {
        if let failure = restoreFailures.first { throw KeyedStateRestoreError(reason: failure) }
        if let name = pendingRestore.keys.sorted().first {
            throw KeyedStateRestoreError(reason: "the checkpoint holds state '\(name)', which this operator no longer declares")
        }
    }

    func restore(_ codec: TableCodec<Key>, _ blocks: [Int: [UInt8]]) {
        do {
            for (group, block) in blocks.sorted(by: { $0.key < $1.key }) {
                var reader = BinaryReader(block)
                try codec.restore(group, &reader, assignment)
                guard reader.isAtEnd else {
                    throw SnapshotDecodingError.malformed("bytes after the entries of key group \(group)", offset: reader.offset)
                }
            }
        } catch {
            restoreFailures.append("state '\(codec.stateName)': \(error)")
        }
    }

}

/// Encodes a snapshot taken earlier; safe to call on another thread (it reads only state
/// frozen for it). `@unchecked`: the frozen key-group maps it reads are never changed again.
public struct DeferredSnapshot: @unchecked Sendable {
    /// Appends the snapshot's encoding to a writer.
    public let write: (inout BinaryWriter) throws -> Void

    /// Creates a snapshot encoded by `write`.
    public init(_ write: @escaping (inout BinaryWriter) throws -> Void) {
        self.write = write
    }

    /// The snapshot's encoding on its own.
    public func serialize() throws -> [UInt8] {
        var writer = BinaryWriter(capacity: 4096)
        try write(&writer)
        return writer.bytes
    }

    /// Appends the encoding as a length-prefixed byte string, without an intermediate copy
    /// (reads back with `BinaryReader.readBytes()`).
    public func writeLengthPrefixed(to writer: inout BinaryWriter) throws {
        let start = writer.beginLengthPrefixed()
        try write(&writer)
        writer.endLengthPrefixed(start)
    }
}

/// Keyed state could not be restored into the operator as declared.
public struct KeyedStateRestoreError: Error, CustomStringConvertible {
    /// What went wrong.
    public var reason: String
    public var description: String { "cannot restore keyed state: \(reason)" }
}

/// How one declared state is snapshotted and restored, seen without its value type (the
/// backend holds tables of many types).
///
/// Made by the backend where the table's value type is concrete (``KeyedStateBackend``'s
/// `table(named:ttl:of:)`), so the closures run the specialized entry loops. Reached
/// through a protocol existential instead, they ran as unspecialized generic code:
/// per-entry metadata lookups and value-witness calls made encoding and restoring several
/// times slower.
struct TableCodec<Key: StreamKey> {
    /// The state's name.
    let stateName: String
    /// The number of entries.
    let entryCount: () -> Int
    /// Freezes the table and returns what writes one key group of it (see
    /// `KeyedStateTable.frozenWriter(keys:)`).
    let frozenWriter: () throws -> (Int, inout BinaryWriter) -> Void
    /// Adds the entries of one key group's block.
    let restore: (Int, inout BinaryReader, KeyGroupAssignment) throws -> Void

    init<Value>(_ table: KeyedStateTable<Key, Value>) {
        stateName = table.name
        entryCount = { [unowned table] in table.count }
        frozenWriter = { [unowned table] in
            guard let keys = StateSerializer<Key>.ofCodable else {
                throw StateNotSerializable(what: "keyed state keys", type: String(reflecting: Key.self))
            }
            return try table.frozenWriter(keys: keys)
        }
        restore = { [unowned table] group, reader, assignment in
            guard let keys = StateSerializer<Key>.ofCodable else {
                throw StateNotSerializable(what: "keyed state keys", type: String(reflecting: Key.self))
            }
            try table.restore(keyGroup: group, from: &reader, keys: keys, assignment: assignment)
        }
    }
}
