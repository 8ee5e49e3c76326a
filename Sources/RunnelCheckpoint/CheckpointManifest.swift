import RunnelCore

/// What a complete checkpoint holds: written last, so a checkpoint exists only once its
/// manifest does. It lists every file with its size and checksum, which state each file
/// holds (operator step, subtask, key groups) and where each source will replay from.
public struct CheckpointManifest: Sendable, Equatable {
    /// A checkpoint taken on the interval, or a savepoint taken on request (stop-with-savepoint).
    public enum Kind: UInt8, Sendable {
        /// Periodic.
        case checkpoint = 0
        /// Requested, e.g. on SIGTERM before a clean stop.
        case savepoint = 1
    }

    /// A file of the checkpoint.
    public struct File: Sendable, Equatable {
        /// Its name inside the checkpoint directory.
        public var name: String
        /// Its size in bytes (framing included).
        public var size: Int
        /// The XXH3-64 of its whole content.
        public var checksum: UInt64

        /// Describes a file.
        public init(name: String, size: Int, checksum: UInt64) {
            self.name = name
            self.size = size
            self.checksum = checksum
        }
    }

    /// The state of one operator subtask (or source reader) and where it is stored.
    public struct StateEntry: Sendable, Equatable {
        /// The step name (the checkpoint key of the operator).
        public var step: String
        /// The subtask that wrote it.
        public var subtask: Int
        /// The file holding it.
        public var file: String
        /// The key groups it covers (empty for non-keyed state, e.g. a source position).
        public var keyGroups: Range<Int>
        /// A human-readable summary (e.g. a source offset), for `describe`.
        public var summary: String

        /// Describes an entry.
        public init(step: String, subtask: Int, file: String, keyGroups: Range<Int> = 0..<0, summary: String = "") {
            self.step = step
            self.subtask = subtask
            self.file = file
            self.keyGroups = keyGroups
            self.summary = summary
        }
    }

    /// The checkpoint's number (increasing over a job's life, across restores).
    public var id: Int64
    /// Checkpoint or savepoint.
    public var kind: Kind
    /// When it was triggered (milliseconds since the epoch, wall clock).
    public var createdAtMillis: Int64
    /// The job's name.
    public var jobName: String
    /// Subtasks per step when it was taken.
    public var parallelism: Int
    /// The number of key groups keyed state is cut into.
    public var maxParallelism: Int
    /// Every file, with sizes and checksums.
    public var files: [File]
    /// Which file holds what.
    public var states: [StateEntry]
    /// Earlier checkpoints whose files this one needs (keyed state written as changes since
    /// them: incremental checkpoints), oldest first; empty for a self-contained checkpoint.
    /// They are kept as long as this one is, and checked and read with it on restore.
    public var dependsOn: [Int64]

    /// Creates a manifest.
    public init(id: Int64, kind: Kind = .checkpoint, createdAtMillis: Int64, jobName: String, parallelism: Int,
                maxParallelism: Int, files: [File] = [], states: [StateEntry] = [], dependsOn: [Int64] = []) {
        self.dependsOn = dependsOn
        self.id = id
        self.kind = kind
        self.createdAtMillis = createdAtMillis
        self.jobName = jobName
        self.parallelism = parallelism
        self.maxParallelism = maxParallelism
        self.files = files
        self.states = states
    }

    /// Total bytes of the checkpoint's files.
    public var totalSize: Int { files.reduce(0) { $0 + $1.size } }
}

extension CheckpointManifest: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarInt(id)
        writer.writeByte(kind.rawValue)
        writer.writeVarInt(createdAtMillis)
        writer.writeString(jobName)
        writer.write(parallelism)
        writer.write(maxParallelism)
        writer.writeVarUInt(UInt64(files.count))
        for file in files {
            writer.writeString(file.name)
            writer.write(file.size)
            writer.writeFixed(file.checksum)
        }
        writer.writeVarUInt(UInt64(states.count))
        for state in states {
            writer.writeString(state.step)
            writer.write(state.subtask)
            writer.writeString(state.file)
            writer.write(state.keyGroups.lowerBound)
            writer.write(state.keyGroups.upperBound)
            writer.writeString(state.summary)
        }
        writer.writeVarUInt(UInt64(dependsOn.count))
        for id in dependsOn { writer.writeVarInt(id) }
    }

    public init(from reader: inout BinaryReader) throws {
        id = try reader.readVarInt()
        guard let kind = Kind(rawValue: try reader.readByte()) else {
            throw SnapshotDecodingError.malformed("unknown checkpoint kind", offset: reader.offset - 1)
        }
        self.kind = kind
        createdAtMillis = try reader.readVarInt()
        jobName = try reader.readString()
        parallelism = try reader.read()
        maxParallelism = try reader.read()
        files = []
        for _ in 0..<(try reader.readCount()) {
            files.append(File(name: try reader.readString(), size: try reader.read(), checksum: try reader.readFixed64()))
        }
        states = []
        for _ in 0..<(try reader.readCount()) {
            let step = try reader.readString()
            let subtask: Int = try reader.read()
            let file = try reader.readString()
            let lower: Int = try reader.read()
            let upper: Int = try reader.read()
            guard lower <= upper else { throw SnapshotDecodingError.malformed("key group range \(lower)..<\(upper)", offset: reader.offset) }
            states.append(StateEntry(step: step, subtask: subtask, file: file, keyGroups: lower..<upper, summary: try reader.readString()))
        }
        dependsOn = []
        for _ in 0..<(try reader.readCount()) {
            let earlier = try reader.readVarInt()
            guard earlier < self.id, earlier > (dependsOn.last ?? 0) else {
                throw SnapshotDecodingError.malformed("checkpoint \(self.id) depends on checkpoint \(earlier)", offset: reader.offset)
            }
            dependsOn.append(earlier)
        }
    }
}
