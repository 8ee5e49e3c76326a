import Foundation
import RunnelCheckpoint
import RunnelCore
import Testing

/// A fresh temporary directory, removed at the end of the test.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "runnel-chk-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

@Suite("Checkpoint files and directories")
struct CheckpointStoreTests {
    /// Writes checkpoint `id` with two state files whose payloads mention the id.
    @discardableResult
    func writeCheckpoint(_ store: CheckpointStore, id: Int64, kind: CheckpointManifest.Kind = .checkpoint,
                         dependsOn: [Int64] = []) throws -> String {
        let pending = try store.begin(id: id)
        var files: [CheckpointManifest.File] = []
        var states: [CheckpointManifest.StateEntry] = []
        for subtask in 0..<2 {
            var writer = BinaryWriter()
            writer.write("state of \(id)/\(subtask)")
            writer.write(Array(0..<Int(id) * 10))
            let name = "dedup-\(subtask).state"
            files.append(try pending.write(name: name, payload: writer.bytes))
            states.append(.init(step: "dedup", subtask: subtask, file: name, keyGroups: (subtask * 64)..<((subtask + 1) * 64)))
        }
        let manifest = CheckpointManifest(id: id, kind: kind, createdAtMillis: 1_700_000_000_000 + id, jobName: "test",
                                          parallelism: 2, maxParallelism: 128, files: files, states: states, dependsOn: dependsOn)
        return try pending.commit(manifest)
    }

    @Test("checkpoints that incremental ones build on are kept as long as those are, then deleted")
    func retentionKeepsDependencies() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path, retained: 2)
        try writeCheckpoint(store, id: 1)
        try writeCheckpoint(store, id: 2)
        try writeCheckpoint(store, id: 3, dependsOn: [2])
        try writeCheckpoint(store, id: 4, dependsOn: [2, 3])
        // Newest two: 3 and 4; 2 stays because both build on it; 1 goes.
        #expect(try store.completedIDs() == [2, 3, 4])
        let restored = try #require(try store.latestValid())
        #expect(restored.manifest.dependsOn == [2, 3])
        #expect(restored.dependencies.map(\.manifest.id) == [2, 3])
        #expect(try stateText(restored.dependencies[0], subtask: 1) == "state of 2/1")
        #expect(restored.restoreSize == restored.manifest.totalSize + restored.dependencies.reduce(0) { $0 + $1.manifest.totalSize })
        // A self-contained checkpoint ends the chain: once it and its successor are the
        // newest two, the chain's checkpoints are deleted.
        try writeCheckpoint(store, id: 5)
        try writeCheckpoint(store, id: 6, dependsOn: [5])
        #expect(try store.completedIDs() == [5, 6])
        #expect(try CheckpointCatalog.list(store).last?.contains("incremental on chk-5") == true)
    }

    @Test("a checkpoint kept only because another builds on it keeps what it builds on too")
    func retentionIsTransitive() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path, retained: 1)
        try writeCheckpoint(store, id: 1)
        try writeCheckpoint(store, id: 2, dependsOn: [1])
        try writeCheckpoint(store, id: 3, dependsOn: [1, 2])
        try writeCheckpoint(store, id: 4, dependsOn: [2, 3])
        // 4 needs 2 and 3; 3 (kept for 4) needs 1: nothing may go, and every one still checks.
        #expect(try store.completedIDs() == [1, 2, 3, 4])
        #expect(try CheckpointCatalog.list(store).allSatisfy { $0.hasSuffix("ok") })
    }

    @Test("an incremental checkpoint loads from a path with a trailing slash, and finds its siblings")
    func trailingSlash() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path)
        try writeCheckpoint(store, id: 1)
        try writeCheckpoint(store, id: 2, dependsOn: [1])
        #expect(try store.load(store.path(of: 2) + "/").dependencies.map(\.manifest.id) == [1])
        #expect(CheckpointStore.sibling(of: "/a/chk-3//", named: "chk-2") == "/a/chk-2")
        #expect(CheckpointStore.sibling(of: "/chk-3", named: "chk-2") == "/chk-2")
        #expect(CheckpointStore.sibling(of: "chk-3", named: "chk-2") == "chk-2")
    }

    @Test("a checkpoint whose earlier checkpoint is missing or damaged is skipped for one that can be restored",
          arguments: ["missing", "damaged"])
    func brokenDependencyFallsBack(how: String) throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path, retained: 5)
        try writeCheckpoint(store, id: 1)
        try writeCheckpoint(store, id: 2)
        try writeCheckpoint(store, id: 3, dependsOn: [2])
        if how == "missing" {
            try FileManager.default.removeItem(atPath: store.path(of: 2))
        } else {
            let file = store.path(of: 2) + "/dedup-0.state"
            var data = try Data(contentsOf: URL(fileURLWithPath: file))
            data[data.count / 2] ^= 0x40
            try data.write(to: URL(fileURLWithPath: file))
        }
        var reports: [String] = []
        let restored = try #require(try store.latestValid { reports.append($0) })
        // 3 needs 2, which cannot be read; 2 itself is gone or corrupt: back to 1.
        #expect(restored.manifest.id == 1)
        #expect(reports.first?.contains("checkpoint 3 cannot be restored") == true)
        #expect(reports.first?.contains("builds on checkpoint 2") == true)
        #expect(throws: CheckpointLoadError.self) { try store.load(store.path(of: 3)) }
    }

    func stateText(_ checkpoint: RestoredCheckpoint, subtask: Int) throws -> String {
        var reader = BinaryReader(try #require(checkpoint.payload(of: "dedup-\(subtask).state")))
        return try reader.read()
    }

    @Test("a committed checkpoint reads back with its manifest and payloads")
    func roundTrip() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path + "/nested/chk")
        #expect(try store.latestValid() == nil)
        #expect(try store.nextID() == 1)
        try writeCheckpoint(store, id: 1)
        let restored = try #require(try store.latestValid())
        #expect(restored.manifest.id == 1)
        #expect(restored.manifest.states.map(\.keyGroups) == [0..<64, 64..<128])
        #expect(try stateText(restored, subtask: 1) == "state of 1/1")
        #expect(try store.nextID() == 2)
        #expect(try String(contentsOfFile: store.directory + "/_latest", encoding: .utf8) == "chk-1\n")
    }

    @Test("large payloads (written with O_DIRECT where the file system allows it, plain writes on tmpfs) read back byte for byte",
          arguments: [NSTemporaryDirectory(), "/dev/shm/"])
    func largePayloads(base: String) throws {
        guard FileManager.default.fileExists(atPath: base) else { return }
        let path = base + "runnel-chk-large-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let store = try CheckpointStore(directory: path)
        let pending = try store.begin(id: 1)
        // Sizes around the 4 MiB write chunk and the 4 KiB block: whole chunks, a ragged
        // tail, exactly one block over.
        let sizes = [(1 << 20) + 1, 4 << 20, (9 << 20) + 4_097]
        var payloads: [[UInt8]] = []
        var files: [CheckpointManifest.File] = []
        var states: [CheckpointManifest.StateEntry] = []
        for (i, size) in sizes.enumerated() {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
            payloads.append(payload)
            files.append(try pending.write(name: "big-\(i).state", payload: payload))
            states.append(.init(step: "big", subtask: i, file: "big-\(i).state", keyGroups: i..<(i + 1)))
        }
        _ = try pending.commit(CheckpointManifest(id: 1, kind: .checkpoint, createdAtMillis: 0, jobName: "test", parallelism: 3,
                                                  maxParallelism: 3, files: files, states: states))
        let restored = try #require(try store.latestValid())
        for (i, payload) in payloads.enumerated() {
            #expect(restored.payload(of: "big-\(i).state") == payload, "payload \(i) of \(payload.count) bytes")
        }
    }

    @Test("only the newest N complete checkpoints are kept")
    func retention() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path, retained: 3)
        for id in 1...6 { try writeCheckpoint(store, id: Int64(id)) }
        #expect(try store.completedIDs() == [4, 5, 6])
        #expect(try store.latestValid()?.manifest.id == 6)
    }

    @Test("an unfinished checkpoint is invisible and cleaned up by the next one")
    func inProgressIsIgnored() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path)
        try writeCheckpoint(store, id: 1)
        let crashed = try store.begin(id: 2)
        _ = try crashed.write(name: "dedup-0.state", payload: [1, 2, 3])
        // (the process dies here: no manifest, no rename)
        #expect(try store.completedIDs() == [1])
        #expect(try store.latestValid()?.manifest.id == 1)
        #expect(try store.nextID() == 3)
        try writeCheckpoint(store, id: 3)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!names.contains { $0.hasPrefix(".inprogress") })
    }

    @Test("an aborted checkpoint leaves the previous one as the latest")
    func abort() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path)
        try writeCheckpoint(store, id: 1)
        let failed = try store.begin(id: 2)
        _ = try failed.write(name: "x.state", payload: [9])
        failed.abort()
        #expect(try store.completedIDs() == [1])
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/.inprogress-chk-2"))
    }

    enum Damage: String, CaseIterable { case truncateState, flipStateByte, deleteState, truncateManifest, flipManifestByte, deleteManifest }

    @Test("a damaged newest checkpoint is detected, reported and skipped for the previous one", arguments: Damage.allCases)
    func corruptionFallsBack(damage: Damage) throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path)
        try writeCheckpoint(store, id: 1)
        let newest = try writeCheckpoint(store, id: 2)
        let state = newest + "/dedup-1.state", manifest = newest + "/_manifest"
        func mutate(_ path: String, _ change: (inout Data) -> Void) throws {
            var data = try Data(contentsOf: URL(fileURLWithPath: path))
            change(&data)
            try data.write(to: URL(fileURLWithPath: path))
        }
        switch damage {
        case .truncateState: try mutate(state) { $0 = $0.prefix($0.count - 5) }
        case .flipStateByte: try mutate(state) { $0[30] ^= 0x40 }
        case .deleteState: try FileManager.default.removeItem(atPath: state)
        case .truncateManifest: try mutate(manifest) { $0 = $0.prefix(20) }
        case .flipManifestByte: try mutate(manifest) { $0[$0.count / 2] ^= 0x01 }
        case .deleteManifest: try FileManager.default.removeItem(atPath: manifest)
        }
        var reports: [String] = []
        let restored = try #require(try store.latestValid { reports.append($0) })
        #expect(restored.manifest.id == 1)
        #expect(try stateText(restored, subtask: 0) == "state of 1/0")
        if damage == .deleteManifest {
            // Without a manifest the checkpoint never completed: nothing to report.
            #expect(reports.isEmpty)
        } else {
            #expect(reports.count == 1)
            #expect(reports.first?.contains("checkpoint 2 cannot be restored") == true)
        }
        #expect(throws: CheckpointLoadError.self) { _ = try store.load(newest) }
    }

    @Test("framing rejects every single-byte change and every truncation")
    func framing() throws {
        let payload: [UInt8] = Array("some state".utf8)
        let framed = CheckpointFile.encode(kind: .state, payload: payload)
        #expect(try CheckpointFile.decode(framed, expecting: .state) == payload)
        #expect(throws: CheckpointFileError.wrongKind(1)) { _ = try CheckpointFile.decode(framed, expecting: .manifest) }
        for i in framed.indices {
            var damaged = framed
            damaged[i] ^= 0x10
            #expect(throws: CheckpointFileError.self) { _ = try CheckpointFile.decode(damaged, expecting: .state) }
        }
        for length in 0..<framed.count {
            #expect(throws: CheckpointFileError.self) { _ = try CheckpointFile.decode(Array(framed[0..<length]), expecting: .state) }
        }
        #expect(throws: CheckpointFileError.self) { _ = try CheckpointFile.decode(framed + [0], expecting: .state) }
    }
}

@Suite("Checkpoint catalog")
struct CheckpointCatalogTests {
    @Test("list marks corrupt checkpoints; describe gives parseable JSON with key groups and summaries")
    func listAndDescribe() throws {
        let dir = TemporaryDirectory()
        let store = try CheckpointStore(directory: dir.path)
        let helper = CheckpointStoreTests()
        try helper.writeCheckpoint(store, id: 7)
        let second = try helper.writeCheckpoint(store, id: 8, kind: .savepoint)
        try Data([0]).write(to: URL(fileURLWithPath: second + "/dedup-0.state"))
        let lines = try CheckpointCatalog.list(store)
        #expect(lines.count == 2)
        #expect(lines[0].contains("id 7") && lines[0].hasSuffix("ok"))
        #expect(lines[1].contains("CORRUPT"))
        let text = CheckpointCatalog.describe(try #require(try store.latestValid()))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["id"] as? Int == 7)
        #expect(object["kind"] as? String == "checkpoint")
        #expect(object["created"] as? String == "2023-11-14T22:13:20.007Z")
        let states = try #require(object["states"] as? [[String: Any]])
        #expect(states.map { $0["key_groups"] as? [Int] } == [[0, 63], [64, 127]])
        #expect(throws: CheckpointIOError.self) { _ = try CheckpointStore(directory: dir.path + "/missing", create: false) }
    }
}
