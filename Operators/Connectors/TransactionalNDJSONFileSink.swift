#if canImport(Glibc)
import Glibc
#endif
import RunnelCore
import RunnelJSON
import Synchronization

/// An NDJSON sink with exactly-once output under checkpoints: a two-phase commit over part
/// files in a directory (Flink's `FileSink`).
///
/// Each writer (one per subtask of each step using the sink) writes records to its own
/// hidden in-progress file (`.part-<prefix>-<writer>-<run>-<n>.ndjson.inprogress`). When a checkpoint barrier reaches
/// it, the file is flushed, `fsync`ed and renamed to a hidden pending file, listed in the
/// checkpoint, and a new in-progress file is started (pre-commit). Once that checkpoint is
/// complete on disk the pending file is renamed to its visible name
/// `part-<prefix>-<writer>-<run>-<n>.ndjson` (commit). After a crash the job restores the
/// last complete checkpoint: the pending files it lists are committed if they were not yet,
/// and every other hidden file of this sink (output after that checkpoint, which the
/// restored job produces again) is deleted. So the visible files always hold exactly the
/// output of the records before the last complete checkpoint, each once.
///
/// At the end of a bounded input a writer makes its last file pending; the job's final
/// checkpoint covers it and it is committed then.
public struct TransactionalNDJSONFileSink<Element>: Sink, Sendable {
    /// The output directory.
    public let directory: String
    /// Distinguishes the files of one sink step from another's in the same directory.
    public let prefix: String
    /// Bytes buffered before they are written to the in-progress file.
    public let flushBytes: Int
    /// Writes one record's JSON object (without newline).
    public let encode: @Sendable (Element, inout JSONWriter) -> Void
    /// Names this run's files, so that restoring a run never deletes the files it writes.
    let runToken: String
    /// Numbers the writers of this sink in this run (a sink may serve several steps).
    private let writers = WriterCounter()

    final class WriterCounter: Sendable {
        private let next = Atomic<Int>(0)
        func take() -> Int { next.add(1, ordering: .relaxed).oldValue }
    }

    /// Creates the sink, and the directory if needed.
    public init(directory: String, prefix: String, flushBytes: Int = 1 << 20,
                encode: @escaping @Sendable (Element, inout JSONWriter) -> Void) throws {
        precondition(!prefix.isEmpty && !prefix.contains("/") && !prefix.hasPrefix("."), "invalid part file prefix '\(prefix)'")
        self.directory = directory
        self.prefix = prefix
        self.flushBytes = flushBytes
        self.encode = encode
        var random = SystemRandomNumberGenerator()
        runToken = String(UInt32(truncatingIfNeeded: random.next()), radix: 36) + String(getpid(), radix: 36)
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw SinkError.io(operation: "mkdir", path: directory, errno: errno)
        }
    }

    public func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(sink: self, number: writers.take()) }

    /// One subtask's writer.
    public final class Writer: SinkWriter {
        /// A file awaiting commit: visible once a checkpoint with an id of at least
        /// `coveredBy` is complete.
        struct Pending {
            var name: String
            var coveredBy: Int64
        }

        let sink: TransactionalNDJSONFileSink
        /// This writer's number among the sink's writers in this run.
        let number: Int
        private var json: JSONWriter
        private var fd: Int32 = -1
        private var sequence = 0
        private var pending: [Pending] = []
        private var lastCheckpoint: Int64 = 0
        /// Records written by this subtask.
        public private(set) var written = 0

        init(sink: TransactionalNDJSONFileSink, number: Int) {
            self.sink = sink
            self.number = number
            json = JSONWriter(capacity: sink.flushBytes + 4096)
        }

        deinit { if fd >= 0 { Glibc.close(fd) } }

        private var finalName: String { "part-\(sink.prefix)-\(number)-\(sink.runToken)-\(sequence).ndjson" }
        private func path(_ name: String) -> String { sink.directory + "/" + name }
        private static func inProgress(_ final: String) -> String { "." + final + ".inprogress" }
        private static func pendingName(_ final: String) -> String { "." + final + ".pending" }

        public func write(_ value: Element, timestamp: Timestamp) throws {
            sink.encode(value, &json)
            json.newline()
            written += 1
            if json.count >= sink.flushBytes { try flush() }
        }

        /// Appends the buffer to the in-progress file (opening it on first use).
        private func flush() throws {
            guard !json.isEmpty else { return }
            if fd < 0 {
                let file = path(Self.inProgress(finalName))
                fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw SinkError.io(operation: "open", path: file, errno: errno) }
            }
            let fd = self.fd
            try json.withBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw SinkError.io(operation: "write", path: sink.directory, errno: errno)
                    }
                    done += n
                }
            }
            json.removeAll()
        }

        /// Flushes, syncs and closes the in-progress file and makes it pending (at the end
        /// of the input, where nothing is left to overlap with).
        private func preCommit(coveredBy checkpoint: Int64) throws {
            try handOff(coveredBy: checkpoint)?.makeDurable()
        }

        /// Flushes the in-progress file and hands it over, to be made durable and pending
        /// by the returned object; the next records go to a new file. Nil when nothing
        /// was written since the last hand-over.
        private func handOff(coveredBy checkpoint: Int64) throws -> InProgressFile? {
            try flush()
            guard fd >= 0 else { return nil }
            let final = finalName
            let file = InProgressFile(fd: fd, inProgress: path(Self.inProgress(final)), pending: path(Self.pendingName(final)),
                                      directory: sink.directory)
            fd = -1
            pending.append(Pending(name: final, coveredBy: checkpoint))
            sequence += 1
            return file
        }

        private func pendingPayload() -> [UInt8] {
            var writer = BinaryWriter()
            writer.write(pending.map(\.name))
            return writer.bytes
        }

        public func snapshot(checkpointID: Int64) throws -> [UInt8]? {
            try preCommit(coveredBy: checkpointID)
            lastCheckpoint = checkpointID
            return pendingPayload()
        }

        /// The pre-commit at a barrier: the file is handed over at once and synced on the
        /// checkpoint writer's thread (an `fsync` of a second's output took up to 12 ms of
        /// the task's time when done here).
        public func prepareCheckpoint(checkpointID: Int64) throws -> SinkCheckpointPart? {
            let file = try handOff(coveredBy: checkpointID)
            lastCheckpoint = checkpointID
            guard let file else { return SinkCheckpointPart(payload: pendingPayload()) }
            return SinkCheckpointPart(payload: pendingPayload(), makeDurable: { try file.makeDurable() })
        }

        public func finish() throws {
            // Covered by any checkpoint after the last this writer took part in: those
            // record its task as finished (see the type's documentation).
            try preCommit(coveredBy: lastCheckpoint + 1)
        }

        public func finishedState() throws -> [UInt8]? { pendingPayload() }

        public func checkpointComplete(_ checkpointID: Int64) throws {
            var kept: [Pending] = []
            for file in pending {
                if file.coveredBy <= checkpointID {
                    try commit(file.name)
                } else {
                    kept.append(file)
                }
            }
            if kept.count != pending.count { try syncDirectory() }
            pending = kept
        }

        /// Makes a pending file visible (idempotent: a file committed before a crash is fine).
        /// A file whose checkpoint was aborted before it was synced is still in progress:
        /// it is synced and published now, as a later complete checkpoint covers it.
        private func commit(_ final: String) throws {
            if rename(path(Self.pendingName(final)), path(final)) == 0 { return }
            let code = errno
            if code == ENOENT, access(path(final), F_OK) == 0 { return }
            if code == ENOENT, access(path(Self.inProgress(final)), F_OK) == 0 {
                try InProgressFile.publish(path(Self.inProgress(final)), as: path(final))
                return
            }
            throw SinkError.io(operation: "commit (rename)", path: path(Self.pendingName(final)), errno: code)
        }

        public func restore(from parts: [[UInt8]]) throws {
            var listed = Set<String>()
            for part in parts {
                var reader = BinaryReader(part)
                let names: [String] = try reader.read()
                listed.formUnion(names)
            }
            for name in listed.sorted() { try commit(name) }
            // Everything else hidden of this sink is output after the restored checkpoint
            // (or of a run that never completed one): the restored job writes it again.
            guard let dir = opendir(sink.directory) else { throw SinkError.io(operation: "opendir", path: sink.directory, errno: errno) }
            defer { closedir(dir) }
            var stale: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name.hasPrefix(".part-\(sink.prefix)-") && !name.contains("-\(sink.runToken)-") { stale.append(name) }
            }
            for name in stale { unlink(path(name)) }
            if !stale.isEmpty || !listed.isEmpty { try syncDirectory() }
        }

        public func close() {
            if fd >= 0 {
                Glibc.close(fd)
                fd = -1
            }
        }

        private func syncDirectory() throws {
            try InProgressFile.syncDirectory(sink.directory)
        }
    }
}

/// An in-progress part file handed over at a checkpoint barrier: `makeDurable` syncs and
/// closes it and renames it to its pending name, on whichever thread finishes the
/// checkpoint. Closes the file if that never happens (the checkpoint was aborted first;
/// the writer then publishes the file when a later checkpoint completes).
final class InProgressFile: @unchecked Sendable {
    // @unchecked: used by one thread at a time — the task hands it over and never touches
    // it again; the checkpoint writer runs `makeDurable` once.
    private var fd: Int32
    private let inProgress: String
    private let pending: String
    private let directory: String

    init(fd: Int32, inProgress: String, pending: String, directory: String) {
        self.fd = fd
        self.inProgress = inProgress
        self.pending = pending
        self.directory = directory
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Syncs, closes and renames the file to its pending name, then syncs the directory.
    func makeDurable() throws {
        guard fd >= 0 else { return }
        guard fsync(fd) == 0 else { throw SinkError.io(operation: "fsync", path: inProgress, errno: errno) }
        close(fd)
        fd = -1
        guard rename(inProgress, pending) == 0 else { throw SinkError.io(operation: "rename", path: inProgress, errno: errno) }
        try Self.syncDirectory(directory)
    }

    /// Syncs the file at `path` and renames it to `final`.
    static func publish(_ path: String, as final: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SinkError.io(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SinkError.io(operation: "fsync", path: path, errno: errno) }
        guard rename(path, final) == 0 else { throw SinkError.io(operation: "commit (rename)", path: path, errno: errno) }
    }

    /// Flushes a directory's entries (renames) to disk.
    static func syncDirectory(_ directory: String) throws {
        let dfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw SinkError.io(operation: "open", path: directory, errno: errno) }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw SinkError.io(operation: "fsync", path: directory, errno: errno) }
    }
}
