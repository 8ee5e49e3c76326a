@testable import RunnelCore
import Testing

/// A key whose stable hash the test chooses, to force collisions and wrap-around probing.
private struct CollidingKey: StreamKey {
    var id: Int
    var stableHash: UInt64 { UInt64(id % 7) &* 0x9E37_79B9 }  // many keys share a hash
}

@Suite struct KeyGroupMapTests {
    /// Random inserts, updates, in-place updates (of existing entries only, some removing
    /// them) and removals agree with a Dictionary, including heavy collisions (probe chains
    /// wrap the table) and back-shift deletion.
    @Test(arguments: [KeyGroupMapLayout.indexed, .inline], [1, 2, 3, 4, 5] as [UInt64])
    func agreesWithDictionary(layout: KeyGroupMapLayout, seed: UInt64) {
        var rng = SeededRNG(seed)
        let map = KeyGroupMap<CollidingKey, Int>(layout: layout)
        var reference: [Int: Int] = [:]
        for step in 0..<20_000 {
            let id = Int(rng.next() % 300)
            let key = HashedKey(CollidingKey(id: id))
            switch rng.next() % 6 {
            case 0, 1:
                let old = map.updateValue(step, forKey: key)
                #expect(old == reference.updateValue(step, forKey: id))
            case 5:
                // Odd values are removed after the update; an absent key stays absent.
                let r = map.withExistingValue(forKey: key) { v -> (result: Int, remove: Bool) in
                    v += 3
                    return (v, v % 2 != 0)
                }
                if let old = reference[id] {
                    #expect(r == old + 3)
                    reference[id] = (old + 3) % 2 != 0 ? nil : old + 3
                } else {
                    #expect(r == nil)
                }
            case 2:
                let r = map.withValue(forKey: key, default: { -1 }) { v -> Int in v += 1; return v }
                reference[id, default: -1] += 1
                #expect(r == reference[id])
            case 3:
                #expect(map.removeValue(forKey: key) == reference.removeValue(forKey: id))
            default:
                #expect(map[key] == reference[id])
            }
            #expect(map.count == reference.count)
        }
        for id in 0..<300 { #expect(map[HashedKey(CollidingKey(id: id))] == reference[id]) }
        #expect(Set(map.allKeys.map(\.id)) == Set(reference.keys))
        // A copy is independent of the map it was made from.
        let copy = map.copy()
        let before = reference
        map.removeAll { k, _ in k.id % 2 == 0 }
        reference = reference.filter { $0.key % 2 != 0 }
        #expect(Set(map.allKeys.map(\.id)) == Set(reference.keys))
        for id in 0..<300 { #expect(map[HashedKey(CollidingKey(id: id))] == reference[id]) }
        #expect(copy.count == before.count)
        for id in 0..<300 { #expect(copy[HashedKey(CollidingKey(id: id))] == before[id]) }
        var seen: [Int: Int] = [:]
        copy.forEachInPlace { k, v in seen[k.pointee.id] = v.pointee }
        #expect(seen == before)
        #expect(copy.count(where: { _, v in v % 2 == 0 }) == before.values.filter { $0 % 2 == 0 }.count)
        #expect(copy.contains(where: { k, _ in k.id == before.keys.first }) == !before.isEmpty)
        #expect(!copy.contains(where: { k, _ in k.id >= 300 }))
    }

    /// Removing many entries at once (compaction and an index rebuild) or a few (one by
    /// one) leaves a map that agrees with a Dictionary through later inserts, updates and
    /// removals; with colliding keys whose probe chains wrap the table.
    @Test(arguments: [KeyGroupMapLayout.indexed, .inline], [1, 2, 3] as [UInt64])
    func bulkRemovalRebuildsAConsistentIndex(layout: KeyGroupMapLayout, seed: UInt64) {
        var rng = SeededRNG(seed)
        let map = KeyGroupMap<CollidingKey, [Int]>(layout: layout)
        var reference: [Int: [Int]] = [:]
        for round in 0..<30 {
            for step in 0..<2_000 {
                let id = Int(rng.next() % 1_500)
                let key = HashedKey(CollidingKey(id: id))
                if rng.next() % 4 == 0 {
                    #expect(map.removeValue(forKey: key) == reference.removeValue(forKey: id))
                } else {
                    map.updateValue([step, round], forKey: key)
                    reference[id] = [step, round]
                }
            }
            // A share of the entries that is above the bulk threshold in some rounds and
            // below it in others (from all, to one in 40).
            let modulus = 1 + round % 40
            let remove = { (id: Int) in id % modulus == round % modulus }
            let expected = reference.keys.filter(remove).count
            #expect(map.count(where: { k, _ in remove(k.id) }) == expected)
            map.removeAll(expected: expected) { k, _ in remove(k.id) }
            reference = reference.filter { !remove($0.key) }
            #expect(map.count == reference.count)
            for id in 0..<1_500 { #expect(map[HashedKey(CollidingKey(id: id))] == reference[id], "round \(round), key \(id)") }
        }
    }

    /// The backend prefetches only once its state is large; then its prefetch touches every
    /// declared state for keys of its own groups, ignores hashes of groups another subtask
    /// owns, and changes nothing.
    @Test func backendPrefetchIsOnlyAHint() {
        let assignment = KeyGroupAssignment(parallelism: 2)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        let value = backend.valueState(ValueStateDescriptor<Int>("value"))
        let list = backend.listState(ListStateDescriptor<String>("list"))
        let owned = (0..<30_000).map { "key-\($0)" }
            .filter { backend.keyGroups.contains(assignment.keyGroup(forHash: $0.stableHash)) }
        backend.judgePrefetching()
        #expect(!backend.prefetchPays)
        for (i, key) in owned.enumerated() {
            backend.setCurrentKey(key)
            value.value = i
            list.append(key)
        }
        // Two states of ~15 k entries each: past the threshold. Judged again as keys are
        // set (every ~9 k), with no call from the operator.
        #expect(backend.prefetchPays)
        for i in 0..<60_000 { backend.prefetch(keyHash: "key-\(i)".stableHash) }
        for hash in [UInt64.max, 0, 1 << 63] { backend.prefetch(keyHash: hash) }
        for (i, key) in owned.enumerated() {
            backend.setCurrentKey(key)
            #expect(value.value == i)
            #expect(list.elements == [key])
        }
    }

    /// An operator that passes keys to its table itself, without setting a current key (the
    /// built-in deduplication), has its state judged for prefetching all the same.
    @Test func keysPassedDirectlyAreJudgedForPrefetching() {
        let assignment = KeyGroupAssignment(parallelism: 2)
        let backend = KeyedStateBackend<String>(assignment: assignment, keyGroups: assignment.keyGroups(ofSubtask: 0))
        let seen = backend.table(named: "seen", ttl: nil, of: Bool.self)
        let owned = (0..<60_000).map { "key-\($0)" }
            .filter { backend.keyGroups.contains(assignment.keyGroup(forHash: $0.stableHash)) }
        backend.judgePrefetching()
        #expect(!backend.prefetchPays)
        for key in owned {
            let hashed = HashedKey(key)
            let group = backend.ownedLocalGroup(forHash: hashed.hash)
            #expect(seen.insertIfAbsent(hashed, localGroup: group, stamp: 0, expiredAtOrBefore: nil, true) == nil)
        }
        // ~30 k entries, past the threshold, judged as the keys were counted.
        #expect(backend.prefetchPays)
    }

    @Test(arguments: [KeyGroupMapLayout.indexed, .inline])
    func stringKeysAndGrowth(layout: KeyGroupMapLayout) {
        let map = KeyGroupMap<String, [Int]>(layout: layout)
        map.reserveCapacity(100)
        for i in 0..<10_000 { map.updateValue([i], forKey: HashedKey("key-\(i)")) }
        #expect(map.count == 10_000)
        for i in stride(from: 0, to: 10_000, by: 3) { map.removeValue(forKey: HashedKey("key-\(i)")) }
        for i in 0..<10_000 {
            #expect(map[HashedKey("key-\(i)")] == (i % 3 == 0 ? nil : [i]))
        }
    }

    /// A frozen view keeps showing the entries as they were while the copy made with
    /// ``KeyGroupMap/sharingCopy(reusing:)`` is written in every way: overwrites, in-place
    /// changes of values with their own storage, removals (the last entry moves into the
    /// hole, with back-shifting of the index), growth,
    /// removals of many entries at once, and the end of sharing, with the view still read
    /// (it adopts what it reads) or not.
    @Test(arguments: [KeyGroupMapLayout.indexed, .inline], [1, 2, 3] as [UInt64])
    func sharingCopyKeepsTheViewIntact(layout: KeyGroupMapLayout, seed: UInt64) {
        var rng = SeededRNG(seed)
        var live = KeyGroupMap<CollidingKey, [String]>(layout: layout)
        var reference: [Int: [String]] = [:]
        var spare: KeyGroupMap<CollidingKey, [String]>?
        for round in 0..<6 {
            // Frozen now; the snapshot reads `view` from here on.
            let view = live
            let frozen = reference
            live = view.sharingCopy(reusing: spare)
            for step in 0..<3_000 {
                let id = Int(rng.next() % (200 + UInt64(round) * 150))  // the key space grows: the copy grows too
                let key = HashedKey(CollidingKey(id: id))
                switch rng.next() % 4 {
                case 0:
                    let value = ["r\(round)", "s\(step)-" + String(repeating: "x", count: 20)]
                    live.updateValue(value, forKey: key)
                    reference[id] = value
                case 1:
                    live.withValue(forKey: key, default: { [] }) { $0.append("a\(step)-" + String(repeating: "y", count: 20)) }
                    reference[id, default: []].append("a\(step)-" + String(repeating: "y", count: 20))
                case 2:
                    live.removeValue(forKey: key)
                    reference[id] = nil
                default:
                    #expect(live[key] == reference[id])
                }
                if step == 1_000 {
                    // Removal of many entries at once moves entries the view reads.
                    // With the count given, as TTL sweeps do: a bulk removal, which must
                    // fall back to one by one while the view shares the entries.
                    let expected = live.count(where: { k, _ in k.id % 7 == round })
                    live.removeAll(expected: expected) { k, _ in k.id % 7 == round }
                    reference = reference.filter { $0.key % 7 != round }
                }
                if step == 1_500 && round % 2 == 1 {
                    // The snapshot still reads the view: it takes over what it reads.
                    live.endSharing(view: view)
                }
            }
            var seen: [Int: [String]] = [:]
            view.forEach { key, value in seen[key.id] = value }
            #expect(seen == frozen, "round \(round): the view changed")
            #expect(live.count == reference.count)
            // The snapshot lets go of the view; its storage is reused by the next copy.
            live.endSharing(view: nil)
            spare = view
        }
    }

}

/// A deterministic generator (SplitMix64), so that a failing seed reproduces.
struct SeededRNG {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    /// A number in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
