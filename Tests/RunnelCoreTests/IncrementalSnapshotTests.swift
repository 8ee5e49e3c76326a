@testable import RunnelCore
import RunnelOperators
import Testing

/// Incremental checkpoints of keyed state: key groups written as the changes since the
/// previous checkpoint, restored by replaying them on the group's last full block.
@Suite struct IncrementalSnapshotTests {
    static let ttl = StateTTL(.seconds(60), timeDomain: .eventTime)

    /// The states of one subtask: two with raw encodings (logged) and one without (always full).
    final class States {
        let backend: KeyedStateBackend<String>
        let counter: ValueState<Int>
        let seen: ValueState<Bool>
        let list: ListState<String>
        var watermark: Timestamp = Watermark.initial

        init(subtask: Int, parallelism: Int) {
            let assignment = KeyGroupAssignment(parallelism: parallelism)
            let box = WatermarkBox()
            backend = KeyedStateBackend(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: subtask),
                                        eventTime: { box.value })
            counter = backend.valueState(ValueStateDescriptor<Int>("counter"))
            seen = backend.valueState(ValueStateDescriptor<Bool>("seen", ttl: IncrementalSnapshotTests.ttl))
            list = backend.listState(ListStateDescriptor<String>("list"))
            self.box = box
        }

        private let box: WatermarkBox

        func advance(to watermark: Timestamp) {
            box.value = watermark
            // A full round of the TTL sweep over every key group.
            for _ in backend.keyGroups { backend.sweepExpiredEntries() }
        }

        func owns(_ key: String) -> Bool { backend.keyGroups.contains(backend.assignment.keyGroup(of: key)) }

        /// Sets the counter of `user-0` … `user-(n-1)` to its number.
        func fillCounters(_ n: Int) {
            for i in 0..<n {
                backend.setCurrentKey("user-\(i)")
                counter.value = i
            }
        }

        /// Every entry of every state with its TTL stamp, bypassing TTL (what a checkpoint holds).
        func dump() -> Set<String> {
            var lines = Set<String>()
            func add<V>(_ name: String, _ type: V.Type) {
                let table = backend.stateTable(named: name, of: V.self)!
                for map in table.groups {
                    map.forEach { key, entry in lines.insert("\(name) \(key)=\(entry.value)@\(entry.refreshedAt)") }
                }
            }
            add("counter", Int.self)
            add("seen", Bool.self)
            add("list", [String].self)
            return lines
        }
    }

    final class WatermarkBox: @unchecked Sendable {
        var value: Timestamp = Watermark.initial
    }

    /// A checkpoint as the coordinator would keep it: the snapshot bytes and what it builds on.
    struct Taken {
        var bytes: [UInt8]
        var dependsOn: [Int64]
        var expected: Set<String>
    }

    static func restore(_ taken: Taken, _ all: [Int64: Taken], parallelism: Int) throws -> Set<String> {
        var union = Set<String>()
        for subtask in 0..<parallelism {
            let target = States(subtask: subtask, parallelism: parallelism)
            try target.backend.restore(from: [taken.bytes], earlier: Dictionary(uniqueKeysWithValues: taken.dependsOn.map { ($0, [all[$0]!.bytes]) }))
            try target.backend.finishRestore()
            union.formUnion(target.dump())
        }
        return union
    }

    @Test("random changes, sweeps and aborted checkpoints: every checkpoint restores to its state, at any parallelism",
          arguments: [UInt64(1), 2, 3])
    func randomizedChains(seed: UInt64) throws {
        var random = SeededRNG(seed)
        let source = States(subtask: 0, parallelism: 1)
        var taken: [Int64: Taken] = [:]
        var lastCompleted: Int64?
        var time: Timestamp = 0
        var sawDelta = false
        var keys = 400
        for id in Int64(1)...40 {
            // An interval of changes: the key space grows, so groups are materialized now and then.
            keys += 150
            let counters = try #require(source.backend.stateTable(named: "counter", of: Int.self))
            let seen = try #require(source.backend.stateTable(named: "seen", of: Bool.self))
            for _ in 0..<900 {
                let key = "k\(random.below(keys))"
                source.backend.setCurrentKey(key)
                time += Timestamp(random.below(40))
                source.backend.currentTimestamp = time - Timestamp(random.below(5_000))
                switch random.below(12) {
                case 10:
                    // A change in place of an existing entry, some removing it (as a window
                    // operator takes a fired window out); an absent key stays absent.
                    _ = counters.modifyExisting(source.backend, ttl: nil) { value -> (result: Void, remove: Bool) in
                        value += 5
                        return ((), value % 3 == 0)
                    }
                case 11:
                    // With a TTL: an expired entry is removed, a live one refreshed or removed.
                    _ = seen.modifyExisting(source.backend, ttl: IncrementalSnapshotTests.ttl) { value -> (result: Void, remove: Bool) in
                        ((), random.below(2) == 0)
                    }
                case 0...3: source.counter.modify(default: 0) { $0 += 1 }
                case 4: source.counter.value = random.below(1000)
                case 5: source.counter.clear()
                case 6...7: source.seen.value = true
                case 8: source.list.append("x\(random.below(9))")
                default: _ = source.seen.value  // reading an expired entry removes it
                }
            }
            source.advance(to: time - 10_000)
            let expected = source.dump()
            let request = SnapshotRequest(checkpointID: id, previousCompletedID: lastCompleted, incremental: true)
            let deferred = try source.backend.snapshotLater(request)
            if random.below(8) == 0 {
                continue  // aborted: never completes, so the next checkpoint may not build on it
            }
            let bytes = try deferred.serialize()
            #expect(deferred.dependsOn.allSatisfy { taken[$0] != nil && $0 < id })
            if !deferred.dependsOn.isEmpty { sawDelta = true }
            taken[id] = Taken(bytes: bytes, dependsOn: deferred.dependsOn, expected: expected)
            lastCompleted = id
        }
        #expect(sawDelta)
        for (id, checkpoint) in taken.sorted(by: { $0.key < $1.key }) where id % 3 == 0 || id >= 38 {
            let parallelism = 1 + Int(id % 3)
            let restored = try Self.restore(checkpoint, taken, parallelism: parallelism)
            #expect(restored == checkpoint.expected, "checkpoint \(id) at parallelism \(parallelism)")
        }
    }

    @Test("a delta holds only the changes: much smaller than the state, and it needs the checkpoint before")
    func deltaIsSmall() throws {
        let source = States(subtask: 0, parallelism: 1)
        source.fillCounters(20_000)
        let first = try source.backend.snapshotLater(SnapshotRequest(checkpointID: 1, previousCompletedID: nil, incremental: true))
        let full = try first.serialize()
        #expect(first.dependsOn.isEmpty)
        for i in 0..<200 {
            source.backend.setCurrentKey("user-\(i * 7)")
            source.counter.value = -i
        }
        source.backend.setCurrentKey("user-3")
        source.counter.clear()
        let expected = source.dump()
        let second = try source.backend.snapshotLater(SnapshotRequest(checkpointID: 2, previousCompletedID: 1, incremental: true))
        let delta = try second.serialize()
        #expect(second.dependsOn == [1])
        #expect(delta.count * 20 < full.count, "delta \(delta.count) bytes against \(full.count) in full")
        let all = [Int64(1): Taken(bytes: full, dependsOn: [], expected: []), 2: Taken(bytes: delta, dependsOn: [1], expected: expected)]
        #expect(try Self.restore(all[2]!, all, parallelism: 1) == expected)
        // Without the checkpoint it builds on, the delta cannot be restored, and says why.
        let orphan = States(subtask: 0, parallelism: 1)
        #expect(throws: KeyedStateRestoreError.self) { try orphan.backend.restore(from: [delta]) }
        // A damaged chain that points back at the same checkpoint is refused, not followed forever.
        let looping = States(subtask: 0, parallelism: 1)
        #expect(throws: KeyedStateRestoreError.self) { try looping.backend.restore(from: [delta], earlier: [1: [delta]]) }
    }

    @Test("after a checkpoint that did not complete, and for savepoints, everything is written in full")
    func fullAfterAbortAndForSavepoints() throws {
        let source = States(subtask: 0, parallelism: 1)
        func change(_ round: Int) {
            for i in 0..<500 {
                source.backend.setCurrentKey("user-\(i)")
                source.counter.value = round * 1000 + i
            }
        }
        change(0)
        _ = try source.backend.snapshotLater(SnapshotRequest(checkpointID: 1, previousCompletedID: nil, incremental: true))
        change(1)
        let second = try source.backend.snapshotLater(SnapshotRequest(checkpointID: 2, previousCompletedID: 1, incremental: true))
        #expect(second.dependsOn == [1])
        change(2)
        // Checkpoint 2 was aborted: the job's last completed one is still 1.
        let third = try source.backend.snapshotLater(SnapshotRequest(checkpointID: 3, previousCompletedID: 1, incremental: true))
        #expect(third.dependsOn.isEmpty)
        let expected = source.dump()
        let restored = States(subtask: 0, parallelism: 1)
        try restored.backend.restore(from: [try third.serialize()])
        #expect(restored.dump() == expected)
        change(3)
        let savepoint = try source.backend.snapshotLater(SnapshotRequest(checkpointID: 4, previousCompletedID: 3, incremental: false))
        #expect(savepoint.dependsOn.isEmpty)
    }

    @Test("a state rewritten more than its size every interval stops logging and is written in full")
    func hotStateGoesFull() throws {
        let source = States(subtask: 0, parallelism: 1)
        var lastCompleted: Int64?
        var dependencies: [[Int64]] = []
        for id in Int64(1)...6 {
            for i in 0..<5_000 {
                source.backend.setCurrentKey("counter-\(i % 20)")
                source.counter.modify(default: 0) { $0 += 1 }
            }
            let snapshot = try source.backend.snapshotLater(SnapshotRequest(checkpointID: id, previousCompletedID: lastCompleted, incremental: true))
            dependencies.append(snapshot.dependsOn)
            lastCompleted = id
        }
        // The first interval's log is written (it was already recorded); then logging stops.
        #expect(dependencies[1] == [1])
        #expect(dependencies[2...].allSatisfy { $0.isEmpty })
    }

    @Test("chains stay short: a state that barely changes, or not at all, does not pin old checkpoints")
    func chainsAreBounded() throws {
        let source = States(subtask: 0, parallelism: 1)
        source.fillCounters(5_000)
        var taken: [Int64: Taken] = [:]
        var longest = 0
        for id in Int64(1)...60 {
            source.backend.setCurrentKey("user-\(id)")
            source.counter.value = -Int(id)
            let snapshot = try source.backend.snapshotLater(SnapshotRequest(checkpointID: id, previousCompletedID: id - 1, incremental: true))
            taken[id] = Taken(bytes: try snapshot.serialize(), dependsOn: snapshot.dependsOn, expected: source.dump())
            longest = max(longest, snapshot.dependsOn.count)
            #expect(snapshot.dependsOn.allSatisfy { id - $0 <= 20 }, "checkpoint \(id) depends on \(snapshot.dependsOn)")
        }
        #expect(longest >= 10, "small changes are written as deltas")
        #expect(try Self.restore(taken[60]!, taken, parallelism: 2) == taken[60]!.expected)
    }
}
