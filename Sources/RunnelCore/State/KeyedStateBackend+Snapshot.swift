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
        stateNames.reduce(0) { $0 + (registeredTable(named: $1).map { $0.entryCount } ?? 0) }
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
        let keys = try keySerializer()
        let range = keyGroups
        var writers: [(name: String, write: (Int, inout BinaryWriter) -> Void)] = []
        for name in stateNames {
            writers.append((name, try registeredTable(named: name)!.frozenWriterAny(keys: keys)))
        }
        return DeferredSnapshot {
            var writer = BinaryWriter(capacity: 4096)
            writer.write(range.lowerBound)
            writer.write(range.upperBound)
            writer.writeVarUInt(UInt64(writers.count))
            for (name, write) in writers {
                writer.writeString(name)
                for group in range {
                    var block = BinaryWriter()
                    write(group, &block)
                    writer.write(group)
                    writer.writeBytes(block.bytes)
                }
            }
            return writer.bytes
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
                if let table = registeredTable(named: name) {
                    restore(table, blocks)
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

    func restore(_ table: any SnapshottableTable<Key>, _ blocks: [Int: [UInt8]]) {
        do {
            let keys = try keySerializer()
            for (group, block) in blocks.sorted(by: { $0.key < $1.key }) {
                var reader = BinaryReader(block)
                try table.restoreAny(keyGroup: group, from: &reader, keys: keys, assignment: assignment)
                guard reader.isAtEnd else {
                    throw SnapshotDecodingError.malformed("bytes after the entries of key group \(group)", offset: reader.offset)
                }
            }
        } catch {
            restoreFailures.append("state '\(table.stateName)': \(error)")
        }
    }

    private func keySerializer() throws -> StateSerializer<Key> {
        guard let keys = StateSerializer<Key>.ofCodable else {
            throw StateNotSerializable(what: "keyed state keys", type: String(reflecting: Key.self))
        }
        return keys
    }

    private func registeredTable(named name: String) -> (any SnapshottableTable<Key>)? {
        registeredState(named: name) as? any SnapshottableTable<Key>
    }
}

/// Encodes a snapshot taken earlier; safe to call on another thread (it reads only state
/// frozen for it). `@unchecked`: the frozen key-group maps it reads are never changed again.
public struct DeferredSnapshot: @unchecked Sendable {
    /// Encodes the snapshot.
    public let serialize: () throws -> [UInt8]
}

/// Keyed state could not be restored into the operator as declared.
public struct KeyedStateRestoreError: Error, CustomStringConvertible {
    /// What went wrong.
    public var reason: String
    public var description: String { "cannot restore keyed state: \(reason)" }
}

/// A state table seen without its value type (the backend holds tables of many types).
protocol SnapshottableTable<Key>: AnyObject {
    associatedtype Key: StreamKey
    var stateName: String { get }
    var entryCount: Int { get }
    func frozenWriterAny(keys: StateSerializer<Key>) throws -> (Int, inout BinaryWriter) -> Void
    func restoreAny(keyGroup: Int, from reader: inout BinaryReader, keys: StateSerializer<Key>, assignment: KeyGroupAssignment) throws
}

extension KeyedStateTable: SnapshottableTable {
    var stateName: String { name }
    var entryCount: Int { count }

    func frozenWriterAny(keys: StateSerializer<Key>) throws -> (Int, inout BinaryWriter) -> Void {
        try frozenWriter(keys: keys)
    }

    func restoreAny(keyGroup: Int, from reader: inout BinaryReader, keys: StateSerializer<Key>, assignment: KeyGroupAssignment) throws {
        try restore(keyGroup: keyGroup, from: &reader, keys: keys, assignment: assignment)
    }
}
