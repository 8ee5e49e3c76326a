@testable import RunnelCore
import Testing

@Suite struct WindowMapTests {
    @Test func behavesLikeADictionaryOfWindows() {
        var map = WindowMap<Int>()
        var reference: [TimeWindow: Int] = [:]
        var rng = UInt64(42)
        func next() -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int(rng >> 59)  // 0..<32
        }
        for _ in 0..<5000 {
            let w = TimeWindow(start: Int64(next() % 8), end: Int64(next() % 8) + 8)
            switch next() % 4 {
            case 0:
                map[w, default: 0] += 1
                reference[w, default: 0] += 1
            case 1:
                #expect(map.removeValue(forKey: w) == reference.removeValue(forKey: w))
            case 2:
                let v = next()
                map[w] = v
                reference[w] = v
            default:
                #expect(map[w] == reference[w])
            }
            #expect(map.count == reference.count)
            #expect(map.isEmpty == reference.isEmpty)
        }
        #expect(Set(map.keys) == Set(reference.keys))
        for w in reference.keys { #expect(map[w] == reference[w]) }
        map[TimeWindow(start: 100, end: 200)] = nil  // removing an absent window is a no-op
        #expect(map.count == reference.count)
    }

    @Test func updateAddsAnAbsentWindowAndSaysSo() {
        var map = WindowMap<Int>()
        let a = TimeWindow(start: 0, end: 10), b = TimeWindow(start: 10, end: 20)
        let addedA = map.update(a, initial: { 5 }) { $0 += 1 }
        #expect(addedA && map[a] == 6)
        let addedAgain = map.update(a, initial: { 100 }) { $0 += 1 }
        #expect(!addedAgain && map[a] == 7)
        let addedB = map.update(b, initial: { 0 }) { $0 -= 1 }
        #expect(addedB && map[b] == -1)
        #expect(map.keys == [a, b], "windows keep the order they were added in")
    }
}
