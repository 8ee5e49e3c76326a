@testable import RunnelCore
import Testing

private struct CKey: StreamKey {
    var id: Int
    var stableHash: UInt64 { UInt64(id % 13) &* 0x9E37_79B9 &+ UInt64(id % 3) << 40 }
}

nonisolated(unsafe) private var liveAddrs: [UnsafeRawPointer: Int] = [:]

private final class Box {
    let id: Int
    init(_ id: Int) { self.id = id; liveAddrs[UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())] = id }
    deinit { liveAddrs[UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque())] = nil }
}

private struct Val { var box: Box; var n: Int }

/// Frozen views of a key-group map, read without retaining anything while the live copy is
/// written in every way (updates, in-place changes, removals, `removeAll`, growth, the end of
/// sharing part-way, spare reuse): every value a view shows must still be alive and unchanged.
/// Values hold class boxes whose addresses are tracked while alive, so an entry released or
/// changed under a view is caught (`sharingCopyKeepsTheViewIntact` compares values, which its
/// reference copy keeps alive).
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

    @Test(arguments: [KeyGroupMapLayout.indexed, .inline], Array(1...12) as [UInt64])
    func stress(layout: KeyGroupMapLayout, seed: UInt64) {
        var rng = SeededRNG(seed)
        var live = KeyGroupMap<CKey, Val>(layout: layout)
        var ref: [Int: (Int, Int)] = [:]
        var nextBox = 0
        var spare: KeyGroupMap<CKey, Val>?
        var olderViews: [(KeyGroupMap<CKey, Val>, [Int: (Int, Int)])] = []
        for round in 0..<10 {
            let view = live
            let frozen = ref
            live = view.sharingCopy(reusing: spare)
            spare = nil
            let space = 20 + rng.below(seed % 2 == 0 ? 6000 : 300)
            let ops = rng.below(20000)
            let endAt = rng.below(ops + 1)
            for step in 0..<ops {
                let id = rng.below(space)
                let key = HashedKey(CKey(id: id))
                switch rng.below(6) {
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
                        let m = rng.below(5) + 2
                        live.removeAll { k, _ in k.id % m == 0 }
                        ref = ref.filter { $0.key % m != 0 }
                    }
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
        }
    }
}
