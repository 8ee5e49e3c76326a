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

    /// Members of up to 8 bytes are stored in their record as one word: values that pack
    /// to the same word (trailing NULs) or that cross the 8/9-byte boundary must stay apart,
    /// with and without the hash table.
    @Test(arguments: [5, 16, 17, 200])
    func shortMembersAreToldApartByLength(others: Int) {
        let tricky = ["", "\u{0}", "\u{0}\u{0}", "a", "a\u{0}", "a\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}", "12345678", "123456789",
                      "1234567", "1234567\u{0}", "1234567\u{0}\u{0}", "é", "ééé", "éééé", "éééé\u{0}"]
        var set = DistinctStrings()
        var reference = Set<String>()
        for i in 0..<others {
            let v = "o\(i)"
            set.insert(v)
            reference.insert(v)
        }
        for v in tricky + tricky {
            set.insert(v)
            reference.insert(v)
        }
        #expect(set.count == reference.count)
        #expect(Set(set.values) == reference)
        for v in reference { #expect(set.contains(v)) }
        for absent in ["\u{0}\u{0}\u{0}", "a\u{0}\u{0}", "1234567\u{0}\u{0}\u{0}", "12345678\u{0}", "ééé\u{0}"] {
            #expect(!set.contains(absent))
        }
    }

    /// A copy taken at any size, through every growth of the members, the bytes and the
    /// table, is unaffected by what the original adds later, and the other way round.
    @Test func copiesTakenWhileGrowingStayIndependent() {
        var set = DistinctStrings()
        var copies: [(DistinctStrings, Int)] = []
        for i in 0..<300 {
            copies.append((set, i))
            set.insert(Self.sample(i + 7))
            set.insert(Self.sample(i + 7)) // again: no effect
        }
        for (copy, size) in copies {
            let expected = Set((0..<size).map { Self.sample($0 + 7) })
            #expect(copy.count == expected.count)
            #expect(Set(copy.values) == expected)
            var grown = copy
            grown.insert("added to the copy \(size)")
            #expect(grown.count == expected.count + 1 && copy.count == expected.count)
        }
        #expect(!set.contains("added to the copy 3"))
    }

    /// Equal sets built in different orders (one through the table, one merged from
    /// small ones) are equal, hash alike and encode the same members.
    @Test func equalityAndHashIgnoreInsertionOrderAndLayout() throws {
        let members = (0..<60).map(Self.sample)
        var forward = DistinctStrings()
        for m in members { forward.insert(m) }
        var merged = DistinctStrings()
        for chunk in stride(from: members.count, to: 0, by: -7) {
            var part = DistinctStrings()
            for m in members[max(0, chunk - 7)..<chunk].reversed() { part.insert(m) }
            merged.formUnion(part)
        }
        #expect(forward == merged)
        #expect(forward.hashValue == merged.hashValue)
        var writer = BinaryWriter()
        merged.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        let decoded = try DistinctStrings(from: &reader)
        #expect(decoded == forward)
        #expect(decoded.values == merged.values) // insertion order survives a checkpoint
    }
}
