import RunnelCore
import RunnelOperators
import Testing

@Suite struct DistinctStringsTests {
    /// Strings of every kind the set must tell apart: empty, small (inline in `String`),
    /// long (heap), non-ASCII, longer than 127 bytes (two-byte length prefix), and pairs
    /// that share prefixes.
    static func sample(_ i: Int) -> String {
        switch i % 6 {
        case 0: return "v\(i)"
        case 1: return "session-\(i)-0123456789abcdefghijklmnopqrstuvwxyz"
        case 2: return "ü\(i)→ö"
        case 3: return String(repeating: "x", count: 130) + "\(i)"
        case 4: return i == 4 ? "" : "v\(i)v"
        default: return "v\(i / 6)"
        }
    }

    @Test(arguments: [0, 1, 15, 16, 17, 100, 1000])
    func countsExactlyAcrossTheInlineLimit(distinct: Int) {
        var set = DistinctStrings()
        expectCountsLikeASet(distinct: distinct, value: Self.sample, insert: { set.insert($0) },
                             observe: { (set.count, set.values, set.contains) })
        #expect(set.isEmpty == (distinct == 0))
    }

    @Test func unionIsOrderIndependent() {
        var a = DistinctStrings()
        var b = DistinctStrings()
        for i in 0..<10 { a.insert(Self.sample(i)) }
        for i in 5..<40 { b.insert(Self.sample(i)) }
        var ab = a
        ab.formUnion(b)
        var ba = b
        ba.formUnion(a)
        let reference = Set((0..<40).map(Self.sample))
        #expect(ab.count == reference.count && ba.count == reference.count)
        #expect(ab == ba)
        #expect(ab.hashValue == ba.hashValue)
        #expect(ab != a)
        var empty = DistinctStrings()
        empty.formUnion(b)
        #expect(empty == b)
    }

    @Test("the encoding is DistinctValues<String>'s, byte for byte; each decodes the other's",
          arguments: [0, 3, 16, 17, 300])
    func encodingMatchesDistinctValues(distinct: Int) throws {
        var strings = DistinctStrings()
        var values = DistinctValues<String>()
        for i in 0..<distinct {
            strings.insert(Self.sample(i))
            values.insert(Self.sample(i))
        }
        var a = BinaryWriter()
        strings.encode(to: &a)
        var b = BinaryWriter()
        values.encode(to: &b)
        #expect(a.bytes == b.bytes)

        var reader = BinaryReader(b.bytes)
        let decoded = try DistinctStrings(from: &reader)
        #expect(reader.isAtEnd)
        #expect(decoded == strings)
        var back = BinaryReader(a.bytes)
        let asValues = try DistinctValues<String>(from: &back)
        #expect(Set(asValues.values) == Set(strings.values))
    }

    @Test func decodingRejectsInvalidUTF8AndTruncation() throws {
        var writer = BinaryWriter()
        writer.writeVarUInt(1)
        writer.writeBytes([0xC3, 0x28] as [UInt8])
        var invalid = BinaryReader(writer.bytes)
        #expect(throws: SnapshotDecodingError.self) { try DistinctStrings(from: &invalid) }

        var set = DistinctStrings()
        set.insert("hello")
        set.insert("world")
        var full = BinaryWriter()
        set.encode(to: &full)
        var truncated = BinaryReader(Array(full.bytes.dropLast()))
        #expect(throws: SnapshotDecodingError.self) { try DistinctStrings(from: &truncated) }
    }

    @Test("a copy is independent of the original (value semantics)")
    func copiesAreIndependent() {
        var a = DistinctStrings()
        for i in 0..<20 { a.insert(Self.sample(i)) }
        var b = a
        b.insert("only in b")
        let distinct = Set((0..<20).map(Self.sample)).count
        #expect(a.count == distinct && b.count == distinct + 1)
        #expect(!a.contains("only in b") && b.contains("only in b"))
    }
}
