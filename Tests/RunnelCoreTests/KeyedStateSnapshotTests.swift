@testable import RunnelCore
import RunnelOperators
import Testing

/// Keyed state of every kind survives a snapshot and a restore at another parallelism.
@Suite struct KeyedStateSnapshotTests {
    static let keys = (0..<500).map { "user-\($0)" }
    static let ttl = StateTTL(.seconds(60), timeDomain: .eventTime)

    /// The states of one subtask, declared as an operator would.
    struct States {
        let backend: KeyedStateBackend<String>
        let value: ValueState<Int>
        let list: ListState<String>
        let map: MapState<String, Double>
        let reducing: ReducingState<Int>
        let aggregating: AggregatingState<String, Int>
        let withTTL: ValueState<Bool>

        init(subtask: Int, parallelism: Int) {
            let assignment = KeyGroupAssignment(parallelism: parallelism)
            backend = KeyedStateBackend(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: subtask))
            value = backend.valueState(ValueStateDescriptor<Int>("value"))
            list = backend.listState(ListStateDescriptor<String>("list"))
            map = backend.mapState(MapStateDescriptor<String, Double>("map"))
            reducing = backend.reducingState(ReducingStateDescriptor<Int>("reducing") { $0 + $1 })
            aggregating = backend.aggregatingState(AggregatingStateDescriptor("aggregating", function: CountAggregate<String>()))
            withTTL = backend.valueState(ValueStateDescriptor<Bool>("ttl", ttl: KeyedStateSnapshotTests.ttl))
        }

        func owns(_ key: String) -> Bool {
            backend.keyGroups.contains(backend.assignment.keyGroup(of: key))
        }

        func fill(_ key: String, _ i: Int) {
            backend.setCurrentKey(key)
            backend.currentTimestamp = Timestamp(1_000 * i)
            value.value = i
            list.append("a\(i)")
            list.append("b\(i)")
            map["x"] = Double(i) / 2
            map["y\(i % 3)"] = -1
            reducing.add(i)
            reducing.add(10)
            for _ in 0..<(i % 4) { aggregating.add(key) }
            withTTL.value = true
        }

        func read(_ key: String) -> String {
            backend.setCurrentKey(key)
            return "\(String(describing: value.value)) \(list.elements) \(map.entries.sorted { $0.key < $1.key }) "
                + "\(String(describing: reducing.value)) \(String(describing: aggregating.result)) \(String(describing: withTTL.value))"
        }
    }

    func subtasks(_ parallelism: Int) -> [States] {
        (0..<parallelism).map { States(subtask: $0, parallelism: parallelism) }
    }

    @Test(arguments: [(2, 1), (2, 3), (3, 2), (1, 4), (4, 4)])
    func roundTripAcrossParallelism(from: Int, to: Int) throws {
        let before = subtasks(from)
        for (i, key) in Self.keys.enumerated() { before.first { $0.owns(key) }!.fill(key, i) }
        let expected = Self.keys.map { key in before.first { $0.owns(key) }!.read(key) }
        let snapshots = try before.map { try $0.backend.snapshot() }

        let after = subtasks(to)
        for subtask in after {
            try subtask.backend.restore(from: snapshots)
            try subtask.backend.finishRestore()
        }
        let restored = Self.keys.map { key in after.first { $0.owns(key) }!.read(key) }
        #expect(restored == expected)
        // TTL stamps survive: an entry written at time 1000·i expires 60 s later.
        for (i, key) in [(3, "user-3"), (4, "user-4")] {
            let owner = after.first { $0.owns(key) }!
            owner.backend.setCurrentKey(key)
            owner.backend.expiryTimeOverride = Timestamp(1_000 * i) + 59_999
            #expect(owner.withTTL.value == true)
            owner.backend.expiryTimeOverride = Timestamp(1_000 * i) + 60_000
            #expect(owner.withTTL.value == nil)
            owner.backend.expiryTimeOverride = nil
        }
    }

    @Test("raw encodings are the writer's bytes exactly, and refuse what does not fit")
    func rawEncodingsMatchTheWriter() {
        func check<T: RawStateEncodable>(_ value: T) {
            var writer = BinaryWriter()
            writer.write(value)
            let expected = writer.bytes
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: expected.count + 16, alignment: 1)
            defer { buffer.deallocate() }
            let written = value.encodeRaw(to: buffer, capacity: expected.count + 16)
            #expect(written == expected.count, "\(value)")
            #expect(Array(UnsafeRawBufferPointer(start: buffer, count: written ?? 0)) == expected, "\(value)")
            #expect(value.encodeRaw(to: buffer, capacity: expected.count - 1) == nil, "\(value) with a byte too few")
        }
        for v in [true, false] { check(v) }
        for v in [0, 1, -1, 63, -64, 64, Int.max, Int.min] { check(v) }
        for v: Int64 in [0, -5, .max, .min] { check(v) }
        for v: UInt64 in [0, 127, 128, .max] { check(v) }
        for v in [0.0, -0.5, .infinity, 1e300] { check(v) }
        for v in ["", "p-375", "héllo 世界 🎉", String(repeating: "x", count: 1000), "a" + String(repeating: "é", count: 70)] { check(v) }
    }

    @Test("a table larger than the encoding buffer, with entries larger than it, round-trips")
    func largeEntriesRoundTrip() throws {
        let assignment = KeyGroupAssignment(parallelism: 1)
        func backend() -> (KeyedStateBackend<String>, ValueState<String>) {
            let b = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
            return (b, b.valueState(ValueStateDescriptor<String>("text")))
        }
        let (before, text) = backend()
        // 3 000 entries of ~100 bytes (several flushes of the 64 KiB buffer), one key and one
        // value each bigger than the buffer (written through the writer instead).
        var expected: [String: String] = [:]
        for i in 0..<3_000 { expected["key-\(i)"] = "value \(i) " + String(repeating: "v", count: 80) }
        expected[String(repeating: "k", count: 70_000)] = "short"
        expected["short"] = String(repeating: "w", count: 100_000)
        for (key, value) in expected {
            before.setCurrentKey(key)
            text.value = value
        }
        let (after, restoredText) = backend()
        try after.restore(from: [try before.snapshot()])
        try after.finishRestore()
        for (key, value) in expected {
            after.setCurrentKey(key)
            #expect(restoredText.value == value, "key of \(key.utf8.count) bytes")
        }
    }

    /// Every entry of `tables` (the same state's tables on several subtasks), TTL ignored.
    static func entries(of tables: [KeyedStateTable<String, [Int]>]) -> [String: [Int]] {
        var all: [String: [Int]] = [:]
        for table in tables { for map in table.groups { map.forEach { all[$0] = $1.value } } }
        return all
    }

    /// A state whose maps lay entries out in the probe table (the session slots) writes the
    /// same blocks as one with an index: a checkpoint written in either layout restores into
    /// the other, at another parallelism too, while a snapshot of the live table is still
    /// being read.
    @Test(arguments: [(KeyGroupMapLayout.indexed, KeyGroupMapLayout.inline), (.inline, .indexed), (.inline, .inline)])
    func restoresAcrossLayouts(from: KeyGroupMapLayout, to: KeyGroupMapLayout) throws {
        func subtasks(_ parallelism: Int, _ layout: KeyGroupMapLayout)
            -> [(KeyedStateBackend<String>, KeyedStateTable<String, [Int]>)] {
            let assignment = KeyGroupAssignment(parallelism: parallelism)
            return (0..<parallelism).map { subtask in
                let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: subtask))
                return (backend, backend.table(named: "slots", ttl: nil, of: [Int].self, layout: layout))
            }
        }
        func owner(_ subtasks: [(KeyedStateBackend<String>, KeyedStateTable<String, [Int]>)], _ key: String)
            -> (KeyedStateBackend<String>, KeyedStateTable<String, [Int]>) {
            subtasks.first { $0.0.keyGroups.contains($0.0.assignment.keyGroup(of: key)) }!
        }
        func dump(_ subtasks: [(KeyedStateBackend<String>, KeyedStateTable<String, [Int]>)]) -> [String: [Int]] {
            Self.entries(of: subtasks.map(\.1))
        }
        let before = subtasks(2, from)
        var expected: [String: [Int]] = [:]
        for i in 0..<4_000 {
            let key = "visitor-\(i % 1_500)"
            let (backend, table) = owner(before, key)
            backend.setCurrentKey(key)
            if i % 7 == 0 {
                table.remove(backend)
                expected[key] = nil
            } else {
                table.modify(backend, ttl: nil, initial: { [] }) { $0.append(i) }
                expected[key, default: []].append(i)
            }
        }
        #expect(dump(before) == expected)
        // Written while the tables go on changing (copy-on-write keeps the snapshot's view).
        let pending = try before.map { try $0.0.snapshotLater() }
        for i in 0..<1_500 {
            let key = "visitor-\(i)"
            let (backend, table) = owner(before, key)
            backend.setCurrentKey(key)
            table.modify(backend, ttl: nil, initial: { [] }) { $0 = [-1] }
        }
        let snapshots = try pending.map { try $0.serialize() }
        for parallelism in [1, 3] {
            let after = subtasks(parallelism, to)
            for (backend, _) in after {
                try backend.restore(from: snapshots)
                try backend.finishRestore()
            }
            #expect(dump(after) == expected, "restored at parallelism \(parallelism)")
        }
    }

    /// Snapshots taken one after another while the state keeps changing, several in flight
    /// at once and each written only after more changes (so the maps are copied on write
    /// from a frozen one whose storage is then reused, and grow while a snapshot reads
    /// them), restore exactly what the state held when each was taken, in either layout.
    @Test(arguments: [KeyGroupMapLayout.indexed, .inline])
    func snapshotsInFlightRestoreTheirOwnState(layout: KeyGroupMapLayout) throws {
        let assignment = KeyGroupAssignment(parallelism: 1)
        func declare(_ backend: KeyedStateBackend<String>) -> KeyedStateTable<String, [Int]> {
            backend.table(named: "slots", ttl: nil, of: [Int].self, layout: layout)
        }
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        let table = declare(backend)
        var rng = SeededRNG(7)
        var expected: [String: [Int]] = [:]
        var inFlight: [(DeferredSnapshot, [String: [Int]])] = []
        var checked = 0
        for round in 0..<20 {
            for i in 0..<3_000 {
                let key = "k\(rng.below(round % 2 == 0 ? 4_000 : 300))"
                backend.setCurrentKey(key)
                if rng.below(3) == 0 {
                    table.remove(backend)
                    expected[key] = nil
                } else {
                    table.modify(backend, ttl: nil, initial: { [] }) { $0.append(i) }
                    expected[key, default: []].append(i)
                }
            }
            inFlight.append((try backend.snapshotLater(), expected))
            guard rng.below(2) == 0 || round == 19 else { continue }
            let (snapshot, state) = inFlight.removeFirst()
            let restored = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
            let restoredTable = declare(restored)
            try restored.restore(from: [try snapshot.serialize()])
            try restored.finishRestore()
            #expect(Self.entries(of: [restoredTable]) == state, "round \(round)")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test("restore before the states are declared fills them on declaration")
    func restoreBeforeDeclaring() throws {
        let source = States(subtask: 0, parallelism: 1)
        source.fill("k", 7)
        let snapshot = try source.backend.snapshot()
        let assignment = KeyGroupAssignment(parallelism: 1)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        try backend.restore(from: [snapshot])
        #expect(throws: KeyedStateRestoreError.self) { try backend.finishRestore() }
        let value = backend.valueState(ValueStateDescriptor<Int>("value"))
        backend.setCurrentKey("k")
        #expect(value.value == 7)
    }

    @Test("a state restored as another type, or not declared, is an error")
    func mismatches() throws {
        let source = States(subtask: 0, parallelism: 1)
        source.fill("k", 7)
        let snapshot = try source.backend.snapshot()
        let assignment = KeyGroupAssignment(parallelism: 1)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        _ = backend.valueState(ValueStateDescriptor<String>("value"))  // was Int
        try backend.restore(from: [snapshot])
        #expect(throws: KeyedStateRestoreError.self) { try backend.finishRestore() }
    }

    @Test("state of a type without StateCodable cannot be snapshotted, with the type named")
    func notCodable() {
        struct Opaque {}
        let assignment = KeyGroupAssignment(parallelism: 1)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        let state = backend.valueState(ValueStateDescriptor<Opaque>("opaque"))
        backend.setCurrentKey("k")
        state.value = Opaque()
        #expect {
            _ = try backend.snapshot()
        } throws: { error in
            "\(error)".contains("Opaque") && "\(error)".contains("state 'opaque'")
        }
    }

    @Test("a truncated snapshot is rejected")
    func truncated() throws {
        let source = States(subtask: 0, parallelism: 1)
        for (i, key) in Self.keys.prefix(20).enumerated() { source.fill(key, i) }
        let snapshot = try source.backend.snapshot()
        for length in stride(from: 0, to: snapshot.count, by: 37) {
            let target = States(subtask: 0, parallelism: 1)
            #expect(throws: (any Error).self) {
                try target.backend.restore(from: [Array(snapshot[0..<length])])
                try target.backend.finishRestore()
            }
        }
    }

    @Test("a deferred snapshot shows the state at the freeze, whatever is written after it")
    func copyOnWriteSnapshot() throws {
        let source = States(subtask: 0, parallelism: 1)
        for (i, key) in Self.keys.prefix(100).enumerated() { source.fill(key, i) }
        let expected = Self.keys.prefix(100).map { source.read($0) }
        let deferred = try source.backend.snapshotLater()
        // Change, add and remove entries after the freeze.
        for (i, key) in Self.keys.prefix(100).enumerated() {
            source.backend.setCurrentKey(key)
            if i % 3 == 0 { source.value.value = -1 }
            if i % 3 == 1 { source.list.clear() }
            source.map["z"] = 9
        }
        for key in Self.keys.suffix(50) { source.fill(key, 1) }
        let target = States(subtask: 0, parallelism: 1)
        try target.backend.restore(from: [try deferred.serialize()])
        try target.backend.finishRestore()
        #expect(Self.keys.prefix(100).map { target.read($0) } == expected)
        for key in Self.keys.suffix(50) {
            target.backend.setCurrentKey(key)
            #expect(target.value.value == nil)
        }
        // The live state has the later writes.
        source.backend.setCurrentKey(Self.keys[0])
        #expect(source.value.value == -1)
    }

    @Test("writing a deferred snapshot lets go of each key group: the task's next write to it stops copying on write")
    func writtenGroupsAreReleased() throws {
        let source = States(subtask: 0, parallelism: 1)
        for (i, key) in Self.keys.prefix(100).enumerated() { source.fill(key, i) }
        let table = source.backend.table(named: "value", ttl: nil, of: Int.self)
        let key = Self.keys[0]
        let group = source.backend.assignment.keyGroup(of: key) - table.firstKeyGroup
        let deferred = try source.backend.snapshotLater()
        source.backend.setCurrentKey(key)
        source.value.value = 1  // the first write copies the frozen group, sharing its entries
        #expect(table.groups[group].isSharing)
        // Written, but still held (as by a checkpoint part until it is dropped).
        _ = try deferred.serialize()
        source.value.value = 2  // the snapshot no longer reads the group: sharing ends
        #expect(!table.groups[group].isSharing)
        withExtendedLifetime(deferred) {}
    }
}
