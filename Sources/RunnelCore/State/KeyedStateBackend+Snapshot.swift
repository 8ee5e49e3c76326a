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

    /// The keyed state of every declared state for the key groups this subtask owns, in
    /// full (self-contained).
    public func snapshot() throws -> [UInt8] {
        try snapshotLater().serialize()
    }

    /// Freezes the state (O(states × key groups)) and returns what encodes it in full,
    /// which may run on another thread while the task goes on (see
    /// ``snapshotLater(_:)``). Incremental logging restarts from it: the next checkpoint
    /// writes the state in full.
    public func snapshotLater() throws -> DeferredSnapshot {
        try snapshotLater(.full)
    }

    /// Decides per state and key group what checkpoint `request` writes — the group in
    /// full, or the changes since the previous checkpoint (see `StateChangelog`) — freezes
    /// what is written in full, and returns what encodes the snapshot, which may run on
    /// another thread while the task goes on: the task's later writes go to copies of the
    /// frozen key groups they touch (copy-on-write), so the encoding shows the state as it
    /// was at this call. Throws at once if a state or the key type has no encoding.
    public func snapshotLater(_ request: SnapshotRequest) throws -> DeferredSnapshot {
        let range = keyGroups
        var writers: [(name: String, write: (Int, inout BinaryWriter) -> Void)] = []
        var dependsOn = Set<Int64>()
        for name in stateNames {
            let (write, needs) = try codecs[name]!.snapshotWriter(request)
            writers.append((name, write))
            dependsOn.formUnion(needs)
        }
        return DeferredSnapshot(dependsOn: dependsOn.sorted()) { writer in
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
    /// parallelism). Key groups written as deltas are rebuilt from their chain: the blocks
    /// of the same state and group in `earlier` (snapshots of the checkpoints they build
    /// on, by checkpoint id), back to the one that holds the group in full. States already
    /// declared are filled now; others when they are declared. Call ``finishRestore()``
    /// once the operator has declared its states.
    public func restore(from snapshots: [[UInt8]], earlier: [Int64: [[UInt8]]] = [:]) throws {
        let latest = try ownedBlocks(of: snapshots)
        var earlierBlocks: [Int64: [String: [Int: [UInt8]]]] = [:]
        func blocks(of id: Int64) throws -> [String: [Int: [UInt8]]] {
            if let known = earlierBlocks[id] { return known }
            let decoded = try ownedBlocks(of: earlier[id] ?? [])
            earlierBlocks[id] = decoded
            return decoded
        }
        for (name, groups) in latest {
            var chains: [Int: [[UInt8]]] = [:]
            for (group, block) in groups {
                var chain = [block]
                var newer = Int64.max
                while let previous = try Self.previousCheckpoint(ofBlock: chain.last!) {
                    // Each step goes to an earlier checkpoint: a damaged chain cannot loop.
                    guard previous < newer else {
                        throw KeyedStateRestoreError(reason: "key group \(group) of state '\(name)' has a delta chain that "
                                                     + "does not go back in time (checkpoint \(previous) after \(newer))")
                    }
                    newer = previous
                    guard let older = try blocks(of: previous)[name]?[group] else {
                        throw KeyedStateRestoreError(reason: "key group \(group) of state '\(name)' builds on checkpoint \(previous), "
                                                     + "whose state is not available")
                    }
                    chain.append(older)
                }
                chains[group] = chain.reversed()
            }
            if let codec = codecs[name] {
                restore(codec, chains)
            } else {
                pendingRestore[name, default: [:]].merge(chains) { _, new in new }
            }
        }
    }

    /// The blocks of the key groups this subtask owns in `snapshots`, by state and group.
    private func ownedBlocks(of snapshots: [[UInt8]]) throws -> [String: [Int: [UInt8]]] {
        var result: [String: [Int: [UInt8]]] = [:]
        for bytes in snapshots {
            var reader = BinaryReader(bytes)
            let lower: Int = try reader.read()
            let upper: Int = try reader.read()
            guard lower <= upper else { throw SnapshotDecodingError.malformed("key group range \(lower)..<\(upper)", offset: 0) }
            let stateCount = try reader.readCount()
            for _ in 0..<stateCount {
                let name = try reader.readString()
                for _ in lower..<upper {
                    let group: Int = try reader.read()
                    let block = try reader.readBytes()
                    guard (lower..<upper).contains(group) else {
                        throw SnapshotDecodingError.malformed("key group \(group) outside \(lower)..<\(upper)", offset: reader.offset)
                    }
                    if keyGroups.contains(group) { result[name, default: [:]][group] = block }
                }
            }
            guard reader.isAtEnd else { throw SnapshotDecodingError.malformed("bytes after the last state", offset: reader.offset) }
        }
        return result
    }

    /// The checkpoint a delta block follows; nil for a full block.
    static func previousCheckpoint(ofBlock block: [UInt8]) throws -> Int64? {
        var reader = BinaryReader(block)
        guard try reader.readByte() == KeyedStateTable<Key, Never>.BlockKind.delta.rawValue else { return nil }
        return try reader.readVarInt()
    }

    /// Throws if restored state could not be decoded into the declared states, or if a
    /// restored state was never declared (state would otherwise be dropped silently).
    public func finishRestore() throws {
        if let failure = restoreFailures.first { throw KeyedStateRestoreError(reason: failure) }
        if let name = pendingRestore.keys.sorted().first {
            throw KeyedStateRestoreError(reason: "the checkpoint holds state '\(name)', which this operator no longer declares")
        }
    }

    /// Applies each group's chain of blocks (full first, then deltas, oldest first).
    func restore(_ codec: TableCodec<Key>, _ chains: [Int: [[UInt8]]]) {
        do {
            for (group, chain) in chains.sorted(by: { $0.key < $1.key }) {
                for block in chain {
                    var reader = BinaryReader(block)
                    try codec.restore(group, &reader, assignment)
                    guard reader.isAtEnd else {
                        throw SnapshotDecodingError.malformed("bytes after the entries of key group \(group)", offset: reader.offset)
                    }
                }
            }
        } catch {
            restoreFailures.append("state '\(codec.stateName)': \(error)")
        }
    }
}

/// Encodes a snapshot taken earlier; safe to call on another thread (it reads only state
/// frozen for it). `@unchecked`: the frozen key-group maps it reads are never changed again.
///
/// A snapshot is written once (by ``write``, ``serialize()`` or
/// ``writeLengthPrefixed(to:)``): keyed state lets go of each key group as soon as it is
/// written, so that the task stops copying it on write.
public struct DeferredSnapshot: @unchecked Sendable {
    /// Appends the snapshot's encoding to a writer (once).
    public let write: (inout BinaryWriter) throws -> Void
    /// Earlier checkpoints the snapshot builds on (key groups written as deltas).
    public let dependsOn: [Int64]

    /// Creates a snapshot encoded by `write`.
    public init(dependsOn: [Int64] = [], _ write: @escaping (inout BinaryWriter) throws -> Void) {
        self.dependsOn = dependsOn
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
    /// Plans the table's part of a checkpoint, freezes what it writes in full, and returns
    /// what writes one key group's block, with the checkpoints its deltas build on (see
    /// `KeyedStateTable.snapshotWriter(keys:request:)`).
    let snapshotWriter: (SnapshotRequest) throws -> (write: (Int, inout BinaryWriter) -> Void, dependsOn: [Int64])
    /// Adds the entries of one key group's block.
    let restore: (Int, inout BinaryReader, KeyGroupAssignment) throws -> Void

    init<Value>(_ table: KeyedStateTable<Key, Value>) {
        stateName = table.name
        entryCount = { [unowned table] in table.count }
        snapshotWriter = { [unowned table] request in
            guard let keys = StateSerializer<Key>.ofCodable else {
                throw StateNotSerializable(what: "keyed state keys", type: String(reflecting: Key.self))
            }
            return try table.snapshotWriter(keys: keys, request: request)
        }
        restore = { [unowned table] group, reader, assignment in
            guard let keys = StateSerializer<Key>.ofCodable else {
                throw StateNotSerializable(what: "keyed state keys", type: String(reflecting: Key.self))
            }
            try table.restore(keyGroup: group, from: &reader, keys: keys, assignment: assignment)
        }
    }
}
