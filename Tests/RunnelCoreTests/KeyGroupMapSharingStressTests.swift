@testable import RunnelCore
import Testing

/// A key whose hash the seed's mode chooses: colliding groups, hashes 0 and 1 (which the
/// inline layout stores alike, so only the keys tell them apart), or homes at the table's
/// end (probes wrap around).
private struct CKey: StreamKey {
    var id: Int
    var mode: Int
    var stableHash: UInt64 {
        switch mode {
        case 0: return UInt64(id % 13) &* 0x9E37_79B9 &+ UInt64(id % 3) << 40
        case 1: return UInt64(id % 2)
        case 2: return UInt64.max - UInt64(id % 3)
        default: return UInt64(id % 5)
        }
    }
}

nonisolated(unsafe) private var liveAddrs: [UnsafeRawPointer: Int] = [:]

private final class Box {
    let id: Int
    init(_ id: Int) { self.id = id; liveAddrs[UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())] = id }
    deinit {
        let address = UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())
        precondition(liveAddrs[address] == id, "box \(id) released twice")
        liveAddrs[address] = nil
    }
}

private struct Val { var box: Box; var n: Int }

/// Frozen views of a key-group map, read without retaining anything while the live copy is
/// written in every way (updates, in-place changes, removals, `removeAll` one by one and in
/// bulk, growth and `reserveCapacity`, `copy()`, the end of sharing part-way, spare reuse):
/// every value a view or copy shows must still be alive and unchanged. Values hold class
/// boxes whose addresses are tracked while alive, so an entry released or changed under a
/// view is caught (`sharingCopyKeepsTheViewIntact` compares values, which its reference copy
/// keeps alive), a box released twice stops the test, and once every map is dropped no box
/// may be left (nothing leaks).
@Suite(.serialized) struct KeyGroupMapSharingStressTests {
    /// Checks a view without retaining: each value's box must be alive with the expected id.
    private func check(_ view: KeyGroupMap<CKey, Val>, _ expected: [Int: (Int, Int)], _ msg: String) {
        var seen = 0
        var bad = 0
        view.forEachInPlace { k, v in
            seen += 1
            let addr = UnsafeRawPointer(v).load(as: UnsafeRawPointer.self)
            let n = (UnsafeRawPointer(v) + MemoryLayout<Val>.offset(of: \Val.n)!).load(as: Int.self)
            guard let e = expected[k.pointee.id], liveAddrs[addr] == e.0, n == e.1 else { bad += 1; return }
        }
        #expect(seen == expected.count, "\(msg) count")
        #expect(bad == 0, "\(msg): \(bad) bad entries")
    }

    @Test(arguments: [KeyGroupMapLayout.indexed, .inline], Array(1...16) as [UInt64])
    func stress(layout: KeyGroupMapLayout, seed: UInt64) {
        let mode = Int(seed % 4)
        do {
            var rng = SeededRNG(seed)
            var live = KeyGroupMap<CKey, Val>(layout: layout)
            var ref: [Int: (Int, Int)] = [:]
            var nextBox = 0
            var spare: KeyGroupMap<CKey, Val>?
            var olderViews: [(KeyGroupMap<CKey, Val>, [Int: (Int, Int)])] = []
            var copies: [(KeyGroupMap<CKey, Val>, [Int: (Int, Int)])] = []
            for round in 0..<10 {
                let view = live
                let frozen = ref
                live = view.sharingCopy(reusing: spare)
                spare = nil
                // Few keys for the modes whose hashes collide in a handful of values.
                let space = mode == 0 ? 20 + rng.below(seed % 2 == 0 ? 6000 : 300) : 4 + rng.below(round % 3 == 0 ? 1500 : 60)
                let ops = rng.below(mode == 0 ? 20000 : 6000)
                let endAt = rng.below(ops + 1)
                for step in 0..<ops {
                    let id = rng.below(space)
                    let key = HashedKey(CKey(id: id, mode: mode))
                    switch rng.below(7) {
                    case 0, 1:
                        nextBox += 1
                        live.updateValue(Val(box: Box(nextBox), n: step), forKey: key)
                        ref[id] = (nextBox, step)
                    case 2:
                        live.withValue(forKey: key, default: { nextBox += 1; return Val(box: Box(nextBox), n: 0) }) { $0.n += 1 }
                        if ref[id] == nil { ref[id] = (nextBox, 1) } else { ref[id]!.1 += 1 }
                    case 3:
                        live.removeValue(forKey: key)
                        ref[id] = nil
                    case 4:
                        if rng.below(50) == 0 {
                            // One by one, or in bulk when the count is given (TTL sweeps).
                            let m = rng.below(5) + 2
                            let expected = rng.below(2) == 0 ? nil : live.count(where: { k, _ in k.id % m == 0 })
                            live.removeAll(expected: expected) { k, _ in k.id % m == 0 }
                            ref = ref.filter { $0.key % m != 0 }
                        }
                    case 5:
                        if rng.below(300) == 0 { live.reserveCapacity(live.count * 3 + 10) }
                        if rng.below(500) == 0 { copies.append((live.copy(), ref)) }
                    default:
                        #expect(live[key]?.n == ref[id]?.1)
                    }
                    if step == endAt && rng.below(2) == 0 {
                        live.endSharing(view: view)
                    }
                }
                check(view, frozen, "seed \(seed) round \(round) view")
                check(live, ref, "seed \(seed) round \(round) live")
                for (v, f) in olderViews { check(v, f, "older") }
                for (c, f) in copies { check(c, f, "copy") }
                for id in 0..<space { #expect(live[HashedKey(CKey(id: id, mode: mode))]?.n == ref[id]?.1) }
                switch rng.below(3) {
                case 0:
                    live.endSharing(view: nil)
                    spare = view
                    olderViews = []
                case 1:
                    // the view is still read by an older snapshot
                    live.endSharing(view: view)
                    olderViews.append((view, frozen))
                default:
                    live.endSharing(view: view)
                    spare = view
                    olderViews = []
                }
                if rng.below(4) == 0 { copies = [] }
            }
            live.endSharing(view: nil)
        }
        // Every map is gone: each box was released exactly once.
        #expect(liveAddrs.isEmpty, "\(liveAddrs.count) boxes leaked")
        liveAddrs = [:]
    }
}
