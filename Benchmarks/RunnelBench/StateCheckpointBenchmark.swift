import RunnelCheckpoint
import RunnelCore
import RunnelRuntime

#if canImport(Glibc)
import Glibc
#endif

/// Checkpoint and restore of keyed state by number of keys, in one process (run as the
/// benchmark's child so that its peak RSS is its own).
///
/// The state is shaped like the replay job's deduplication state: one value state with an
/// event-time TTL, keyed by 24-character event ids (heap-allocated strings), over all 128
/// key groups of one subtask. Each phase is timed on its own:
/// - pause: freezing the state at the barrier (what the task waits for);
/// - encode: encoding the frozen state (the checkpoint writer's thread);
/// - write: framing, checksumming, writing and `fsync`ing the file, then committing the
///   checkpoint (manifest, directory renames);
/// - first writes after: one write to every key group after the checkpoint, which copies
///   each group once (copy-on-write);
/// - restore: reading and verifying the checkpoint, then decoding it into a new backend;
/// - incremental: after the full checkpoint, five more each with 10 % of the keys changed
///   since the one before — the pause and encoding of such a delta, its size, and decoding
///   the state from the full checkpoint and the five deltas.
struct StateCheckpointBenchmark {
    /// The measured figures of one run.
    struct Figures {
        var keys: Int
        var bytes: Int
        var pause: Duration
        var encode: Duration
        var write: Duration
        var firstWritesAfter: Duration
        var restoreRead: Duration
        var restoreDecode: Duration
        var deltaBytes: Int
        var deltaPause: Duration
        var deltaEncode: Duration
        var chainDecode: Duration
    }

    /// Changed keys per delta: one in `deltaStride`.
    static let deltaStride = 10
    /// Deltas taken after the full checkpoint.
    static let deltas = 5

    static let ttl = StateTTL(.seconds(3600), timeDomain: .eventTime)

    let keys: Int
    let directory: String

    /// The key of entry `i`: 24 characters, like an event id.
    static func key(_ i: Int) -> String {
        let digits = String(i, radix: 16)
        return "evt-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits
    }

    func run() throws -> Figures {
        let clock = ContinuousClock()
        let assignment = KeyGroupAssignment(parallelism: 1)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        let state = backend.valueState(ValueStateDescriptor<Int64>("seen", ttl: Self.ttl))
        for i in 0..<keys {
            backend.setCurrentKey(Self.key(i))
            backend.currentTimestamp = Timestamp(i)
            state.value = Int64(i)
        }

        let start = clock.now
        // Incremental allowed: the first checkpoint is full, and from it on changes are logged.
        let frozen = try backend.snapshotLater(SnapshotRequest(checkpointID: 1, previousCompletedID: nil, incremental: true))
        let pause = start.duration(to: clock.now)

        let encodeStart = clock.now
        let payload = try frozen.serialize()
        let encode = encodeStart.duration(to: clock.now)

        let writeStart = clock.now
        let store = try CheckpointStore(directory: directory)
        let pending = try store.begin(id: 1)
        let file = try pending.write(name: "state-0.state", payload: payload)
        let manifest = CheckpointManifest(
            id: 1, createdAtMillis: 0, jobName: "state-benchmark", parallelism: 1, maxParallelism: assignment.maxParallelism,
            files: [file],
            states: [.init(step: "state", subtask: 0, file: file.name, keyGroups: backend.keyGroups)])
        try pending.commit(manifest)
        let write = writeStart.duration(to: clock.now)

        // One write per key group: each copies its group once.
        let copyStart = clock.now
        var touched = Set<Int>()
        var i = 0
        while touched.count < backend.keyGroups.count && i < keys {
            let key = Self.key(i)
            if touched.insert(assignment.keyGroup(of: key)).inserted {
                backend.setCurrentKey(key)
                state.value = -1
            }
            i += 1
        }
        let firstWritesAfter = copyStart.duration(to: clock.now)

        let readStart = clock.now
        guard let restored = try store.latestValid(), let bytes = restored.payload(of: file.name) else {
            throw BenchmarkFailure("checkpoint not found after writing it")
        }
        let restoreRead = readStart.duration(to: clock.now)

        let decodeStart = clock.now
        let target = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        try target.restore(from: [bytes])
        let restoredState = target.valueState(ValueStateDescriptor<Int64>("seen", ttl: Self.ttl))
        try target.finishRestore()
        let restoreDecode = decodeStart.duration(to: clock.now)

        guard target.entryCount == keys else {
            throw BenchmarkFailure("restored \(target.entryCount) entries, expected \(keys)")
        }
        let probe = keys / 2
        target.setCurrentKey(Self.key(probe))
        target.currentTimestamp = Timestamp(probe)
        guard restoredState.value == Int64(probe) else { throw BenchmarkFailure("restored value of key \(probe) differs") }

        // Deltas: 10 % of the keys changed before each.
        var chain: [Int64: [[UInt8]]] = [1: [payload]]
        var deltaBytes = 0
        var deltaPause = Duration.zero
        var deltaEncode = Duration.zero
        var last: [UInt8] = []
        for id in Int64(2)...Int64(1 + Self.deltas) {
            for i in stride(from: Int(id) % Self.deltaStride, to: keys, by: Self.deltaStride) {
                backend.setCurrentKey(Self.key(i))
                backend.currentTimestamp = Timestamp(i)
                state.value = Int64(i) * id
            }
            let pauseStart = clock.now
            let delta = try backend.snapshotLater(SnapshotRequest(checkpointID: id, previousCompletedID: id - 1, incremental: true))
            let thisPause = pauseStart.duration(to: clock.now)
            let encodeStart = clock.now
            last = try delta.serialize()
            let thisEncode = encodeStart.duration(to: clock.now)
            guard delta.dependsOn == Array(1..<id) else { throw BenchmarkFailure("delta \(id) depends on \(delta.dependsOn)") }
            if id == 2 { (deltaBytes, deltaPause, deltaEncode) = (last.count, thisPause, thisEncode) }
            chain[id] = [last]
        }
        let chainStart = clock.now
        let rebuilt = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        chain[Int64(1 + Self.deltas)] = nil
        try rebuilt.restore(from: [last], earlier: chain)
        let rebuiltState = rebuilt.valueState(ValueStateDescriptor<Int64>("seen", ttl: Self.ttl))
        try rebuilt.finishRestore()
        let chainDecode = chainStart.duration(to: clock.now)
        guard rebuilt.entryCount == keys else { throw BenchmarkFailure("rebuilt \(rebuilt.entryCount) entries, expected \(keys)") }
        // A key the last delta changed.
        let lastID = 1 + Self.deltas
        let probeKey = Self.deltaStride + lastID % Self.deltaStride
        rebuilt.setCurrentKey(Self.key(probeKey))
        rebuilt.currentTimestamp = Timestamp(probeKey)
        guard rebuiltState.value == Int64(probeKey * lastID) else {
            throw BenchmarkFailure("rebuilt value of key \(probeKey) is \(String(describing: rebuiltState.value)), expected \(probeKey * lastID)")
        }

        return Figures(keys: keys, bytes: file.size, pause: pause, encode: encode, write: write,
                       firstWritesAfter: firstWritesAfter, restoreRead: restoreRead, restoreDecode: restoreDecode,
                       deltaBytes: deltaBytes, deltaPause: deltaPause, deltaEncode: deltaEncode, chainDecode: chainDecode)
    }
}

extension StateCheckpointBenchmark.Figures {
    /// The figures as `key=value` words (passed from the child to the parent on stdout).
    var line: String {
        [("keys", Int64(keys)), ("bytes", Int64(bytes)), ("pause_us", pause.microseconds), ("encode_us", encode.microseconds),
         ("write_us", write.microseconds), ("cow_us", firstWritesAfter.microseconds),
         ("read_us", restoreRead.microseconds), ("decode_us", restoreDecode.microseconds),
         ("delta_bytes", Int64(deltaBytes)), ("delta_pause_us", deltaPause.microseconds),
         ("delta_encode_us", deltaEncode.microseconds), ("chain_decode_us", chainDecode.microseconds)]
            .map { "\($0.0)=\($0.1)" }.joined(separator: " ")
    }
}

extension Duration {
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

/// A benchmark run that produced wrong or no results.
struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
