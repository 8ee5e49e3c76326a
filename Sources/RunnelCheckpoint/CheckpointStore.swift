#if canImport(Glibc)
import Glibc
#endif
import RunnelCore

/// The checkpoints of a job in one directory (`--checkpoint-dir`).
///
/// ```
/// DIR/
///   chk-41/                 a complete checkpoint
///     _manifest             written last: lists every file with size and checksum
///     dedup-0.state …       one framed file per operator subtask / source reader
///   chk-42/
///   .inprogress-chk-43/     being written; never read, removed on the next start
///   _latest                 "chk-42": a hint, checked against the directory scan
/// ```
///
/// A checkpoint is written into an in-progress directory, every file and then the
/// manifest flushed to disk, and the directory renamed into place (rename is atomic), so
/// a crash at any moment leaves either the complete checkpoint or none. Restoring checks
/// the manifest and every file against their checksums and falls back to the previous
/// complete checkpoint when one is corrupt, saying why. The newest ``retained`` complete
/// checkpoints are kept; older ones are deleted only after a newer one is complete.
public final class CheckpointStore: Sendable {
    /// The directory.
    public let directory: String
    /// Complete checkpoints kept.
    public let retained: Int

    static let manifestName = "_manifest"
    static let latestName = "_latest"
    static let prefix = "chk-"
    static let inProgressPrefix = ".inprogress-chk-"

    /// Opens a checkpoint directory, creating it (and its parents) unless `create` is false.
    public init(directory: String, retained: Int = 3, create: Bool = true) throws(CheckpointIOError) {
        precondition(retained >= 1, "at least one checkpoint must be kept")
        self.directory = directory
        self.retained = retained
        if create {
            try DurableFiles.makeDirectory(directory)
        } else if !DurableFiles.isDirectory(directory) {
            throw CheckpointIOError(operation: "open checkpoint directory", path: directory, code: ENOENT)
        }
    }

    /// The path of checkpoint `id`.
    public func path(of id: Int64) -> String { directory + "/" + Self.prefix + String(id) }

    /// Starts writing checkpoint `id` (left-over in-progress directories of crashed runs
    /// with the same id are discarded).
    public func begin(id: Int64) throws(CheckpointIOError) -> PendingCheckpoint {
        let staging = directory + "/" + Self.inProgressPrefix + String(id)
        try DurableFiles.removeTree(staging)
        try DurableFiles.makeDirectory(staging)
        return PendingCheckpoint(store: self, id: id, staging: staging)
    }

    /// Ids of the complete checkpoints (those with a manifest), oldest first. Checksums
    /// are not checked here; ``latestValid(report:)`` and ``load(_:)`` check them.
    public func completedIDs() throws(CheckpointIOError) -> [Int64] {
        try DurableFiles.list(directory).compactMap { name -> Int64? in
            guard name.hasPrefix(Self.prefix), let id = Int64(name.dropFirst(Self.prefix.count)) else { return nil }
            return DurableFiles.exists(path(of: id) + "/" + Self.manifestName) ? id : nil
        }.sorted()
    }

    /// The id a new checkpoint should take: above every checkpoint on disk, complete or not.
    public func nextID() throws(CheckpointIOError) -> Int64 {
        let ids = try DurableFiles.list(directory).compactMap { name -> Int64? in
            if name.hasPrefix(Self.prefix) { return Int64(name.dropFirst(Self.prefix.count)) }
            if name.hasPrefix(Self.inProgressPrefix) { return Int64(name.dropFirst(Self.inProgressPrefix.count)) }
            return nil
        }
        return (ids.max() ?? 0) + 1
    }

    /// Reads and checks a checkpoint: its manifest and every file it lists.
    /// - Parameter path: a checkpoint directory (`DIR/chk-42`).
    public func load(_ path: String) throws(CheckpointLoadError) -> RestoredCheckpoint {
        try Self.load(path)
    }

    /// Reads and checks the checkpoint at `path` (a `chk-<id>` directory) and the earlier
    /// checkpoints it depends on (incremental keyed state; siblings in the same directory).
    /// A missing or corrupt dependency makes the checkpoint unrestorable, and says which.
    public static func load(_ path: String) throws(CheckpointLoadError) -> RestoredCheckpoint {
        var loaded: [String: Result<RestoredCheckpoint, CheckpointLoadError>] = [:]
        return try load(path, loaded: &loaded)
    }

    /// ``load(_:)``, reading each checkpoint directory at most once across calls that share
    /// `loaded` (checking every checkpoint of a directory reads a chain's earlier
    /// checkpoints once, not once per checkpoint that builds on them). Without
    /// `keepPayloads` the files are checked but not kept (the result has no payloads), so
    /// that `loaded` holds manifests only.
    static func load(_ path: String, keepPayloads: Bool = true,
                     loaded: inout [String: Result<RestoredCheckpoint, CheckpointLoadError>]) throws(CheckpointLoadError) -> RestoredCheckpoint {
        func one(_ path: String) throws(CheckpointLoadError) -> RestoredCheckpoint {
            let result: Result<RestoredCheckpoint, CheckpointLoadError>
            if let known = loaded[path] {
                result = known
            } else {
                do throws(CheckpointLoadError) {
                    result = .success(try loadOne(path, keepPayloads: keepPayloads))
                } catch {
                    result = .failure(error)
                }
                loaded[path] = result
            }
            return try result.get()
        }
        var checkpoint = try one(path)
        for id in checkpoint.manifest.dependsOn {
            let dependencyPath = sibling(of: path, named: prefix + String(id))
            let dependency: RestoredCheckpoint
            do {
                dependency = try one(dependencyPath)
            } catch {
                throw .dependency(path: path, id: id, reason: error.description)
            }
            let (m, d) = (checkpoint.manifest, dependency.manifest)
            guard d.id == id, d.jobName == m.jobName, d.maxParallelism == m.maxParallelism else {
                throw .dependency(path: path, id: id, reason: "\(dependencyPath) holds checkpoint \(d.id) of job '\(d.jobName)' "
                                  + "with \(d.maxParallelism) key groups")
            }
            checkpoint.dependencies.append(dependency)
        }
        return checkpoint
    }

    /// The path of `name` in the directory that holds the checkpoint at `path` (which may
    /// end with slashes, as shells complete directories).
    public static func sibling(of path: String, named name: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return name }
        let parent = trimmed[..<slash]
        return (parent.isEmpty ? "" : String(parent)) + "/" + name
    }

    /// Reads and checks one checkpoint directory's manifest and files.
    private static func loadOne(_ path: String, keepPayloads: Bool = true) throws(CheckpointLoadError) -> RestoredCheckpoint {
        let manifest = try manifest(at: path)
        var payloads: [String: [UInt8]] = [:]
        for file in manifest.files {
            let bytes: [UInt8]
            do {
                bytes = try DurableFiles.read(path + "/" + file.name)
            } catch {
                throw .corrupt(path: path, file: file.name, reason: error.description)
            }
            guard bytes.count == file.size else {
                throw .corrupt(path: path, file: file.name, reason: "size \(bytes.count) bytes, manifest says \(file.size)")
            }
            guard XXHash64.hash(bytes) == file.checksum else {
                throw .corrupt(path: path, file: file.name, reason: "checksum does not match the manifest")
            }
            do {
                let payload = try CheckpointFile.decode(bytes, expecting: .state)
                if keepPayloads { payloads[file.name] = payload }
            } catch {
                throw .corrupt(path: path, file: file.name, reason: error.description)
            }
        }
        return RestoredCheckpoint(path: path, manifest: manifest, payloads: payloads)
    }

    /// The manifest of the checkpoint at `path`, checked (its files are not read).
    public static func manifest(at path: String) throws(CheckpointLoadError) -> CheckpointManifest {
        let manifestBytes: [UInt8]
        do {
            manifestBytes = try DurableFiles.read(path + "/" + manifestName)
        } catch {
            throw .unreadable(path: path, reason: error.description)
        }
        do {
            var reader = BinaryReader(try CheckpointFile.decode(manifestBytes, expecting: .manifest))
            return try CheckpointManifest(from: &reader)
        } catch {
            throw .corrupt(path: path, file: manifestName, reason: "\(error)")
        }
    }

    /// The newest complete checkpoint that passes its checks, or nil when there is none.
    /// Each newer one that fails is reported through `report` (and skipped, not deleted).
    public func latestValid(report: (String) -> Void = { _ in }) throws(CheckpointIOError) -> RestoredCheckpoint? {
        for id in try completedIDs().reversed() {
            do {
                return try load(path(of: id))
            } catch {
                report("checkpoint \(id) cannot be restored: \(error); trying the previous one")
            }
        }
        return nil
    }

    /// Records `id` as the latest checkpoint and deletes complete checkpoints beyond the
    /// newest ``retained`` — except those a retained one depends on — and any in-progress
    /// directories older than `id`.
    func didComplete(_ id: Int64) throws(CheckpointIOError) {
        try DurableFiles.replace(directory + "/" + Self.latestName, Array("\(Self.prefix)\(id)\n".utf8))
        let complete = try completedIDs()
        // The kept checkpoints and, transitively, those they build on (a manifest lists the
        // checkpoints a restore of it reads, but a checkpoint kept as a dependency may list
        // older ones, and `checkpoints list` checks every checkpoint on disk). A manifest that
        // cannot be read keeps only itself: it cannot be restored anyway.
        var needed = Set<Int64>()
        var pending = Array(complete.suffix(retained))
        while let next = pending.popLast() {
            for earlier in (try? Self.manifest(at: path(of: next)))?.dependsOn ?? [] where needed.insert(earlier).inserted {
                pending.append(earlier)
            }
        }
        for old in complete.dropLast(retained) where old < id && !needed.contains(old) { try DurableFiles.removeTree(path(of: old)) }
        for name in try DurableFiles.list(directory) where name.hasPrefix(Self.inProgressPrefix) {
            if let staleID = Int64(name.dropFirst(Self.inProgressPrefix.count)), staleID < id {
                try DurableFiles.removeTree(directory + "/" + name)
            }
        }
    }
}

/// A checkpoint being written. Subtasks may write their files concurrently (each its own
/// name); ``commit(_:)`` makes the checkpoint complete.
public final class PendingCheckpoint: Sendable {
    /// The checkpoint's id.
    public let id: Int64
    private let store: CheckpointStore
    private let staging: String

    init(store: CheckpointStore, id: Int64, staging: String) {
        self.store = store
        self.id = id
        self.staging = staging
    }

    /// Writes one state file (framed and checksummed, flushed to disk); returns its
    /// manifest entry.
    public func write(name: String, payload: [UInt8]) throws(CheckpointIOError) -> CheckpointManifest.File {
        precondition(!name.hasPrefix("_") && !name.contains("/"), "reserved or invalid checkpoint file name '\(name)'")
        let (header, trailer) = CheckpointFile.frame(kind: .state, payload: payload)
        try DurableFiles.writeNew(staging + "/" + name, pieces: [header, payload, trailer])
        let checksum = header.withUnsafeBytes { h in
            payload.withUnsafeBytes { p in trailer.withUnsafeBytes { t in XXHash64.hash(pieces: [h, p, t]) } }
        }
        return CheckpointManifest.File(name: name, size: header.count + payload.count + trailer.count, checksum: checksum)
    }

    /// Writes the manifest and moves the checkpoint into place; older checkpoints beyond
    /// the store's retention are deleted afterwards. Returns the checkpoint's path.
    @discardableResult
    public func commit(_ manifest: CheckpointManifest) throws(CheckpointIOError) -> String {
        precondition(manifest.id == id, "manifest of checkpoint \(manifest.id) committed as \(id)")
        var writer = BinaryWriter()
        manifest.encode(to: &writer)
        try DurableFiles.writeNew(staging + "/" + CheckpointStore.manifestName,
                                  CheckpointFile.encode(kind: .manifest, payload: writer.bytes))
        try DurableFiles.syncDirectory(staging)
        let target = store.path(of: id)
        try DurableFiles.removeTree(target)
        try DurableFiles.renameDurably(staging, target)
        try store.didComplete(id)
        return target
    }

    /// Discards the checkpoint (after a failure); the previous one stays the latest.
    public func abort() {
        try? DurableFiles.removeTree(staging)
    }
}

/// A checkpoint read back and checked, with the payloads of its files.
public struct RestoredCheckpoint: Sendable {
    /// Its directory.
    public let path: String
    /// Its manifest.
    public let manifest: CheckpointManifest
    private let payloads: [String: [UInt8]]
    /// The earlier checkpoints it depends on (``CheckpointManifest/dependsOn``), read and
    /// checked with it, oldest first.
    public internal(set) var dependencies: [RestoredCheckpoint] = []

    init(path: String, manifest: CheckpointManifest, payloads: [String: [UInt8]]) {
        self.path = path
        self.manifest = manifest
        self.payloads = payloads
    }

    /// Bytes of its files and of the files of the checkpoints it depends on: what a restore reads.
    public var restoreSize: Int { manifest.totalSize + dependencies.reduce(0) { $0 + $1.manifest.totalSize } }

    /// The payload of a file listed in the manifest.
    public func payload(of file: String) -> [UInt8]? { payloads[file] }
}

/// Why a checkpoint could not be restored.
public enum CheckpointLoadError: Error, Equatable, CustomStringConvertible {
    /// The checkpoint (or its manifest) cannot be read.
    case unreadable(path: String, reason: String)
    /// A file is missing, truncated or fails its checksum.
    case corrupt(path: String, file: String, reason: String)
    /// An earlier checkpoint it depends on (incremental state) is missing or fails its checks.
    case dependency(path: String, id: Int64, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "\(path) is unreadable: \(reason)"
        case .corrupt(let path, let file, let reason): return "\(path)/\(file) is corrupt: \(reason)"
        case .dependency(let path, let id, let reason):
            return "\(path) builds on checkpoint \(id), which cannot be read: \(reason)"
        }
    }
}
