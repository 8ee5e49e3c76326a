import RunnelOperators
import Testing

@Suite struct DistinctValuesTests {
    @Test(arguments: [0, 1, 15, 16, 17, 100, 1000])
    func countsExactlyAcrossTheInlineLimit(distinct: Int) {
        var set = DistinctValues<String>()
        expectCountsLikeASet(distinct: distinct, value: { "v\($0)" }, insert: { set.insert($0) },
                             observe: { (set.count, set.values, set.contains) })
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

/// Inserts `distinct` values three times over, in a cycle, into a set under test and a
/// `Set`; expects the same count and members, and membership answers (also for an absent
/// value).
func expectCountsLikeASet(distinct: Int, value: (Int) -> String, insert: (String) -> Void,
                          observe: () -> (count: Int, values: [String], contains: (String) -> Bool)) {
    var reference = Set<String>()
    for i in 0..<(distinct * 3) {
        let v = value(i % max(distinct, 1))
        insert(v)
        reference.insert(v)
    }
    let (count, values, contains) = observe()
    #expect(count == reference.count)
    #expect(Set(values) == reference)
    for v in reference { #expect(contains(v)) }
    #expect(!contains("absent"))
}
