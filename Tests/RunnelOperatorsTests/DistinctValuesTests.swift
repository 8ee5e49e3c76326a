import RunnelOperators
import Testing

@Suite struct DistinctValuesTests {
    @Test(arguments: [0, 1, 15, 16, 17, 100, 1000])
    func countsExactlyAcrossTheInlineLimit(distinct: Int) {
        var set = DistinctValues<String>()
        var reference = Set<String>()
        for i in 0..<(distinct * 3) {
            let v = "v\(i % max(distinct, 1))"
            if distinct > 0 {
                set.insert(v)
                reference.insert(v)
            }
        }
        #expect(set.count == reference.count)
        #expect(Set(set.values) == reference)
        for v in reference { #expect(set.contains(v)) }
        #expect(!set.contains("absent"))
    }

    @Test func unionOfSmallAndLargeSets() {
        var a = DistinctValues<Int>()
        var b = DistinctValues<Int>()
        for i in 0..<10 { a.insert(i) }
        for i in 5..<40 { b.insert(i) }
        var ab = a
        ab.formUnion(b)
        var ba = b
        ba.formUnion(a)
        #expect(ab.count == 40 && ba.count == 40)
        #expect(ab == ba)
        #expect(ab.hashValue == ba.hashValue)
    }
}
