import Foundation
import RunnelCheckpoint
#if canImport(Glibc)
import Glibc
#endif

/// An append-only, partitioned log of records on local disk that a job reads as a
/// replayable source (``DurableLogSource``): what a collector accepts is appended here and
/// acknowledged only once it is on stable storage, and a job restored from a checkpoint
/// reads it again from the offsets the checkpoint recorded. The role Kafka plays for Flink,
/// for one machine. (Written here: no library in the mirror or in Debian provides an
/// embeddable log with these guarantees.)
///
/// Layout: `log.meta` (the format version and the number of partitions, fixed when the log
/// is created), and per partition a directory `p-<n>` of segment files (``LogSegments``)
/// holding checksummed frames (``LogFrame``), one per append. An offset is a byte position
/// in a partition.
///
/// Durability: appends go to a writer thread, which writes what has queued up, `fdatasync`s
/// each partition it wrote to (group commit: one flush for many appends) and only then
/// reports the appends complete and lets readers see them (``durableEnd(of:)``). So a record
/// a reader has seen, and a record whose append was acknowledged, survive a crash of the
/// process or of the machine. On open, a torn frame at the end of a partition (the append
/// in progress when the process died, never acknowledged) is cut off. If a flush fails, the
/// log refuses every later append: what the page cache then holds is not known to be on disk.
///
/// Retention: once a partition holds more than its share of
/// ``Configuration/retentionBytes`` in segments that are complete, its oldest segments are
/// deleted, as Kafka's `retention.bytes` does — but never a segment a reader has not read
/// yet, nor one holding an offset among the last ``protectedPositions`` a reader recorded for
/// checkpoints (so the checkpoints kept can be restored). A reader needing a deleted offset
/// gets an error saying so.
///
/// Call ``close()`` when done: the writer thread keeps the log (and its files) alive until
/// then.
///
/// One process at a time: the log holds an exclusive lock (`flock`) on `log.lock` in its
/// directory while it is open; a second opener gets an error saying the log is in use.
///
/// Thread safety: all methods may be called from any thread. Completions run on the writer
/// thread, except for appends refused at once (too large, the log closed or failed), whose
/// completion runs on the caller's thread before `append` returns.
public final class DurableLog: @unchecked Sendable {
    // @unchecked: the mutable state below is guarded by `condition`, except `writers`, which
    // only the writer thread touches after `init`.

    /// Where the log lives and how it is cut.
    public struct Configuration: Sendable {
        /// The log's directory (created if missing).
        public var directory: String
        /// Partitions of a new log; an existing log keeps the number it was created with.
        public var partitions: Int
        /// A segment is closed and a new one begun once it would grow beyond this.
        public var segmentBytes: Int64
        /// Bytes kept over all partitions before the oldest segments are deleted.
        public var retentionBytes: Int64

        /// Creates a configuration (default: 64 MiB segments, 1 GiB kept).
        public init(directory: String, partitions: Int, segmentBytes: Int64 = 64 << 20, retentionBytes: Int64 = 1 << 30) {
            precondition(partitions > 0 && segmentBytes > 0 && retentionBytes > 0)
            self.directory = directory
            self.partitions = partitions
            self.segmentBytes = segmentBytes
            self.retentionBytes = retentionBytes
        }
    }

    /// What an append reports: the partition's offset after its frame, or why it failed.
    public typealias Completion = @Sendable (Result<Int64, DurableLogError>) -> Void

    private struct Append {
        var partition: Int
        var records: Int
        var header: [UInt8]
        var payload: [UInt8]
        var completion: Completion
    }

    /// The writer thread's handle on a partition's open segment.
    private struct PartitionWriter {
        var directory: String
        var fd: Int32
        var base: Int64
        var end: Int64
    }

    /// What readers and the writer share about a partition.
    private struct PartitionState {
        var segments: [Int64]
        var durableEnd: Int64
        var readPosition: Int64
        /// Whether a reader has reported its position (until then the partition counts no
        /// backlog: the job is still starting).
        var readReported = false
        /// The last offsets readers recorded for checkpoints, oldest first.
        var protected: [Int64] = []
    }

    /// Offsets recorded for checkpoints that each partition protects from retention: more
    /// than the checkpoints a job keeps (3 by default), as some recorded ones may belong to
    /// checkpoints that were aborted.
    public static let protectedPositions = 8

    /// The configuration the log was opened with.
    public let configuration: Configuration
    /// The number of partitions.
    public let partitionCount: Int
    /// Bytes of torn frames cut off the ends of partitions when the log was opened.
    public let recoveredTornBytes: Int64

    private let condition = NSCondition()
    private var queue: [Append] = []
    private var queuedBytes = 0
    private var closing = false
    private var finished = false
    private var failure: DurableLogError?
    private var partitions: [PartitionState]
    private var writers: [PartitionWriter]
    private var appended = (frames: 0, records: 0, bytes: Int64(0))
    /// Holds the directory's lock while the log is open.
    private let lockFD: Int32

    /// Opens the log in `configuration.directory`, creating it if needed, and recovers the
    /// end of each partition.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        let directory = configuration.directory
        try LogSegments.io { try DurableFiles.makeDirectory(directory) }
        lockFD = try Self.lock(directory)
        let count: Int
        do {
            count = try Self.partitionCount(in: directory, creating: configuration.partitions)
        } catch {
            Glibc.close(lockFD)
            throw error
        }
        partitionCount = count
        let opened: (states: [PartitionState], writers: [PartitionWriter], torn: Int64)
        do {
            opened = try Self.openPartitions(in: directory, count: count)
        } catch {
            Glibc.close(lockFD)
            throw error
        }
        let (states, writers, torn) = opened
        partitions = states
        self.writers = writers
        recoveredTornBytes = torn
        let thread = Thread { [self] in writerLoop() }
        thread.name = "runnel-log-writer"
        thread.start()
    }

    /// Opens each partition's last segment for appending, after cutting off a torn frame at
    /// its end; on failure closes what it opened.
    private static func openPartitions(in directory: String, count: Int) throws
        -> (states: [PartitionState], writers: [PartitionWriter], torn: Int64) {
        var states: [PartitionState] = []
        var writers: [PartitionWriter] = []
        var torn: Int64 = 0
        do {
            for p in 0..<count {
                let partitionDirectory = directory + "/p-\(p)"
                try LogSegments.io { try DurableFiles.makeDirectory(partitionDirectory) }
                var bases = try LogSegments.list(partitionDirectory)
                if bases.isEmpty {
                    let fd = open(LogSegments.path(partitionDirectory, base: 0), O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
                    guard fd >= 0 else { throw DurableLogError("create", path: partitionDirectory, code: errno) }
                    Glibc.close(fd)
                    try LogSegments.io { try DurableFiles.syncDirectory(partitionDirectory) }
                    bases = [0]
                }
                for (a, b) in zip(bases, bases.dropFirst()) {
                    let size = try LogSegments.size(LogSegments.path(partitionDirectory, base: a))
                    guard a + size == b else {
                        throw DurableLogError("open", path: partitionDirectory,
                                              detail: "segment \(LogSegments.name(base: a)) holds \(size) bytes but the next begins at \(b)")
                    }
                }
                let last = bases[bases.count - 1]
                let path = LogSegments.path(partitionDirectory, base: last)
                let fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
                guard fd >= 0 else { throw DurableLogError("open", path: path, code: errno) }
                writers.append(PartitionWriter(directory: partitionDirectory, fd: fd, base: last, end: last))
                let size = try LogSegments.size(path)
                let (valid, nextWholeFrame) = try LogSegments.recover(path)
                if valid < size {
                    // Only a torn last append may be cut: a whole frame after the bad bytes
                    // means the damage is in the middle, where acknowledged frames follow.
                    if let next = nextWholeFrame {
                        throw DurableLogError("open", path: path,
                                              detail: "damaged frame at offset \(last + valid), with whole frames after it (from \(last + next)); refusing to cut acknowledged data")
                    }
                    guard ftruncate(fd, off_t(valid)) == 0, fsync(fd) == 0 else { throw DurableLogError("truncate", path: path, code: errno) }
                    torn += size - valid
                }
                writers[p].end = last + valid
                states.append(PartitionState(segments: bases, durableEnd: last + valid, readPosition: bases[0]))
            }
        } catch {
            for w in writers { Glibc.close(w.fd) }
            throw error
        }
        return (states, writers, torn)
    }

    /// Takes the directory's exclusive lock, or fails when another process holds it.
    private static func lock(_ directory: String) throws -> Int32 {
        let path = directory + "/log.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableLogError("open", path: path, code: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            Glibc.close(fd)
            if code == EWOULDBLOCK {
                throw DurableLogError("open", path: directory, detail: "the log is in use by another process (it holds \(path))")
            }
            throw DurableLogError("lock", path: path, code: code)
        }
        return fd
    }

    /// Reads `log.meta`, or writes it for a new log.
    private static func partitionCount(in directory: String, creating partitions: Int) throws -> Int {
        let path = directory + "/log.meta"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let fields = text.split(whereSeparator: \.isWhitespace)
            guard fields.count == 3, fields[0] == "runnel-log", fields[1] == "1", fields[2].hasPrefix("partitions="),
                  let count = Int(fields[2].dropFirst("partitions=".count)), count > 0 else {
                throw DurableLogError("open", path: path, detail: "not a version 1 log description: \(text.prefix(80))")
            }
            return count
        }
        try LogSegments.io { try DurableFiles.replace(path, Array("runnel-log 1 partitions=\(partitions)\n".utf8)) }
        return partitions
    }

    // MARK: Appending

    /// Appends `payload` (`records` lines, each ending in `\n`) to `partition` as one frame;
    /// `completion` runs on the writer thread once the frame is on stable storage (or failed).
    public func append(partition: Int, payload: [UInt8], records: Int, completion: @escaping Completion) {
        precondition(partition >= 0 && partition < partitionCount, "no partition \(partition)")
        guard payload.count <= LogFrame.maximumPayload else {
            completion(.failure(DurableLogError("append", path: configuration.directory, detail: "a frame of \(payload.count) bytes is too large")))
            return
        }
        let header = payload.withUnsafeBytes { LogFrame.header(for: $0, records: records) }
        condition.lock()
        if closing || failure != nil {
            let error = failure ?? DurableLogError("append", path: configuration.directory, detail: "the log is closed")
            condition.unlock()
            completion(.failure(error))
            return
        }
        queue.append(Append(partition: partition, records: records, header: header, payload: payload, completion: completion))
        queuedBytes += payload.count + header.count
        condition.signal()
        condition.unlock()
    }

    private func writerLoop() {
        while true {
            condition.lock()
            while queue.isEmpty && !closing { condition.wait() }
            if queue.isEmpty {
                finished = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let batch = queue
            queue = []
            let failed = failure
            condition.unlock()
            write(batch, failed: failed)
        }
    }

    /// Writes, flushes and completes one batch of appends (on the writer thread).
    private func write(_ batch: [Append], failed: DurableLogError?) {
        var results: [Result<Int64, DurableLogError>] = []
        var touched: [Int] = []
        var batchBytes = 0
        var latched = failed
        for item in batch {
            batchBytes += item.header.count + item.payload.count
            if let latched {
                results.append(.failure(latched))
                continue
            }
            do {
                results.append(.success(try writeFrame(item)))
                if !touched.contains(item.partition) { touched.append(item.partition) }
            } catch {
                results.append(.failure(error as? DurableLogError ?? DurableLogError("write", path: configuration.directory, detail: "\(error)")))
                // A failure that leaves a partition's end unknown fails the rest too.
                condition.lock()
                latched = failure
                condition.unlock()
            }
        }
        var syncFailure: DurableLogError?
        for p in touched where fdatasync(writers[p].fd) != 0 {
            syncFailure = DurableLogError("fsync", path: writers[p].directory, code: errno)
        }
        condition.lock()
        queuedBytes -= batchBytes
        if let syncFailure {
            failure = syncFailure
        } else {
            for p in touched { partitions[p].durableEnd = writers[p].end }
            for (item, result) in zip(batch, results) {
                guard case .success = result else { continue }
                appended.frames += 1
                appended.records += item.records
                appended.bytes += Int64(item.header.count + item.payload.count)
            }
        }
        condition.unlock()
        // Retention before the completions, so that an acknowledged append sees its effect.
        if syncFailure == nil {
            for p in touched { applyRetention(p) }
        }
        for (item, result) in zip(batch, results) {
            if let syncFailure, case .success = result { item.completion(.failure(syncFailure)) } else { item.completion(result) }
        }
    }

    /// Writes one frame at the end of its partition, beginning a new segment first when the
    /// current one is full; returns the partition's new end.
    private func writeFrame(_ item: Append) throws -> Int64 {
        let p = item.partition
        let size = Int64(item.header.count + item.payload.count)
        if writers[p].end > writers[p].base && writers[p].end - writers[p].base + size > configuration.segmentBytes {
            try roll(p)
        }
        let w = writers[p]
        let path = LogSegments.path(w.directory, base: w.base)
        do {
            try LogSegments.io {
                try DurableFiles.writeAll(w.fd, item.header, path: path)
                try DurableFiles.writeAll(w.fd, item.payload, path: path)
            }
        } catch {
            // Cut the partial frame off, so the next append starts at a frame boundary.
            if ftruncate(w.fd, off_t(w.end - w.base)) != 0 {
                condition.lock()
                failure = DurableLogError("truncate", path: path, code: errno)
                condition.unlock()
            }
            throw error
        }
        writers[p].end += size
        return writers[p].end
    }

    /// Closes partition `p`'s segment (flushed) and begins the next.
    private func roll(_ p: Int) throws {
        let w = writers[p]
        guard fdatasync(w.fd) == 0 else {
            // As for any failed flush: what the page cache holds is not known to be on disk.
            let error = DurableLogError("fsync", path: w.directory, code: errno)
            condition.lock()
            failure = error
            condition.unlock()
            throw error
        }
        let path = LogSegments.path(w.directory, base: w.end)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableLogError("create", path: path, code: errno) }
        do {
            try LogSegments.io { try DurableFiles.syncDirectory(w.directory) }
        } catch {
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        Glibc.close(w.fd)
        writers[p] = PartitionWriter(directory: w.directory, fd: fd, base: w.end, end: w.end)
        condition.lock()
        partitions[p].segments.append(w.end)
        condition.unlock()
    }

    /// Deletes partition `p`'s oldest segments while the rest still hold its share of the
    /// retention.
    private func applyRetention(_ p: Int) {
        let share = max(1, configuration.retentionBytes / Int64(partitionCount))
        var doomed: [Int64] = []
        condition.lock()
        // A segment may go once everything in it is read and no kept checkpoint needs it.
        let floor = ([partitions[p].readPosition] + partitions[p].protected).min()!
        while partitions[p].segments.count > 1, writers[p].end - partitions[p].segments[1] >= share,
              partitions[p].segments[1] <= floor {
            doomed.append(partitions[p].segments.removeFirst())
        }
        condition.unlock()
        for base in doomed { unlink(LogSegments.path(writers[p].directory, base: base)) }
        if !doomed.isEmpty { try? DurableFiles.syncDirectory(writers[p].directory) }
    }

    // MARK: Reading

    /// The end of what is on stable storage in `partition`: readers read up to here.
    public func durableEnd(of partition: Int) -> Int64 {
        condition.lock()
        defer { condition.unlock() }
        return partitions[partition].durableEnd
    }

    /// The oldest offset `partition` still holds (older segments were deleted by retention).
    public func startOffset(of partition: Int) -> Int64 {
        condition.lock()
        defer { condition.unlock() }
        return partitions[partition].segments[0]
    }

    /// The base offset of the segment holding `offset` of `partition`, or nil when retention
    /// deleted it.
    func segmentBase(containing offset: Int64, partition: Int) -> Int64? {
        condition.lock()
        defer { condition.unlock() }
        let segments = partitions[partition].segments
        guard let first = segments.first, offset >= first else { return nil }
        return segments.last { $0 <= offset }
    }

    /// The directory of `partition`'s segments.
    func directory(of partition: Int) -> String { configuration.directory + "/p-\(partition)" }

    /// A reader reports how far it has read `partition` (for ``backlogBytes``).
    func noteReadPosition(_ offset: Int64, partition: Int) {
        condition.lock()
        partitions[partition].readPosition = offset
        partitions[partition].readReported = true
        condition.unlock()
    }

    /// A reader recorded `offset` of `partition` for a checkpoint: retention keeps it
    /// (among the last ``protectedPositions``).
    func protectForCheckpoint(_ offset: Int64, partition: Int) {
        condition.lock()
        partitions[partition].protected.append(offset)
        if partitions[partition].protected.count > Self.protectedPositions { partitions[partition].protected.removeFirst() }
        condition.unlock()
    }

    /// Bytes appended (or queued to be) that readers have not read yet: how far the job is
    /// behind its input (partitions no reader has reported on yet count none).
    public var backlogBytes: Int64 {
        condition.lock()
        defer { condition.unlock() }
        return Int64(queuedBytes) + partitions.reduce(0) { $0 + ($1.readReported ? max(0, $1.durableEnd - $1.readPosition) : 0) }
    }

    /// Frames, records and bytes appended durably since the log was opened.
    public var appendedSinceOpen: (frames: Int, records: Int, bytes: Int64) {
        condition.lock()
        defer { condition.unlock() }
        return appended
    }

    /// Whether ``close()`` has completed the appends queued before it: readers that have read
    /// everything then finish.
    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return finished
    }

    /// Completes the appends queued so far, then stops the writer and closes the files;
    /// later appends fail.
    public func close() {
        condition.lock()
        guard !closing else {
            while !finished { condition.wait() }
            condition.unlock()
            return
        }
        closing = true
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
        for w in writers { Glibc.close(w.fd) }
        // Last: another process may open the log once the files are closed.
        Glibc.close(lockFD)
    }
}
