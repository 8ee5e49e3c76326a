import Foundation
import RunnelJSON
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    func text(_ writer: JSONWriter) -> String {
        String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("objects, arrays and automatic commas")
    func structure() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("a"); writer.int(1)
        writer.key("b"); writer.beginArray()
        writer.int(-2); writer.bool(true); writer.null(); writer.beginObject(); writer.endObject()
        writer.beginArray(); writer.endArray()
        writer.endArray()
        writer.key("c"); writer.beginObject(); writer.key("d"); writer.bool(false); writer.endObject()
        writer.key(String("dynamic")); writer.string("x")
        writer.endObject()
        writer.newline()
        writer.beginObject(); writer.key("next"); writer.int(2); writer.endObject()
        writer.newline()
        #expect(text(writer) == "{\"a\":1,\"b\":[-2,true,null,{},[]],\"c\":{\"d\":false},\"dynamic\":\"x\"}\n{\"next\":2}\n")
        writer.removeAll()
        #expect(writer.bytes.isEmpty)
    }

    /// The JSON string literal of `text` by the writer's documented rules, written out byte
    /// by byte: the reference the word-at-a-time paths are checked against.
    func referenceQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    @Test("short texts (4 to 16 bytes) and their neighbours come out escaped, as names and values")
    func shortTexts() {
        // Texts of 4 to 16 bytes take a short path: check every length around it, and texts
        // whose first, last or middle byte needs escaping (which take the general path),
        // against a byte-by-byte reference; as literal names, runtime names and values.
        let names: [StaticString] = [
            "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghij",
            "abcdefghijk", "abcdefghijkl", "abcdefghijklm", "abcdefghijklmn", "abcdefghijklmno",
            "abcdefghijklmnop", "abcdefghijklmnopq", "abcdefghijklmnopqr", "window_start", "unique_viewers",
            "\"bcd", "abc\"", "ab\\cd", "\u{1}bcdefgh", "abcdefg\u{1F}", "abcdefghijklmno\"", "\"bcdefghijklmnop",
            "abcdefgh\nijklmnop", "héllo", "wörld_名前", "tab\there", "\u{7F}del",
        ]
        for name in names {
            let text = name.description
            let expected = "{\"first\":1,\(referenceQuoted(text)):2,\"v\":\(referenceQuoted(text))}"
            var literal = JSONWriter()
            literal.beginObject(); literal.key("first"); literal.int(1)
            literal.key(name); literal.int(2); literal.key("v"); literal.string(name); literal.endObject()
            #expect(self.text(literal) == expected, "\(text)")
            var runtime = JSONWriter()
            runtime.beginObject(); runtime.key("first"); runtime.int(1)
            runtime.key(text); runtime.int(2); runtime.key("v"); runtime.string(text); runtime.endObject()
            #expect(self.text(runtime) == expected, "\(text)")
        }
        // A name right after an opening brace takes no comma; after a value, one.
        var writer = JSONWriter()
        writer.beginObject(); writer.key("abcd"); writer.int(1); writer.key("abcdefghijklmnop"); writer.int(2); writer.endObject()
        #expect(text(writer) == #"{"abcd":1,"abcdefghijklmnop":2}"#)
    }

    @Test("integers, including the extremes")
    func integers() {
        var writer = JSONWriter()
        writer.beginArray()
        for value: Int64 in [0, 7, -7, 10, 1_000_000, Int64.max, Int64.min] { writer.int(value) }
        writer.int(42 as Int)
        writer.endArray()
        #expect(text(writer) == "[0,7,-7,10,1000000,9223372036854775807,-9223372036854775808,42]")
    }

    @Test("string escaping round-trips through the parser")
    func escaping() {
        let samples = [
            "plain", "", "quote \" and backslash \\", "slash / stays", "line\nbreak\ttab\rcr\u{8}bs\u{C}ff",
            "\u{0}\u{1}\u{1F}\u{7F}", "héllo 世界 🎉", "\u{2028}\u{2029}", String(repeating: "\"\\", count: 100),
        ]
        let keys = JSONKeySet(keys: ["v"])
        let parser = JSONLineParser()
        for sample in samples {
            var writer = JSONWriter()
            writer.beginObject()
            writer.key("v")
            writer.string(sample)
            writer.key(sample + "!") // escaped keys are valid JSON too
            writer.string(utf8: UnsafeRawBufferPointer(start: nil, count: 0))
            writer.endObject()
            let buffer = PaddedBuffer()
            writer.bytes.withUnsafeBytes { buffer.append($0) }
            #expect(parser.parse(buffer.bytes, keys: keys) == .ok, "\(text(writer))")
            #expect(parser[0].stringValue == sample)
            // And a general-purpose JSON parser agrees.
            let decoded = try? JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: String]
            #expect(decoded?["v"] == sample)
            #expect(decoded?[sample + "!"] == "")
        }
        var writer = JSONWriter()
        writer.string("a\u{1}\"")
        #expect(text(writer) == "\"a\\u0001\\\"\"")
    }

    @Test("fixed decimals: exact rounding, negatives, no exponent")
    func fixed() {
        func fixed(_ value: Double, _ decimals: Int) -> String {
            var writer = JSONWriter()
            writer.fixed(value, decimals: decimals)
            return String(decoding: writer.bytes, as: UTF8.self)
        }
        #expect(fixed(108.491, 3) == "108.491")
        #expect(fixed(108.491, 2) == "108.49")
        #expect(fixed(108.495, 2) == "108.50") // 108.495 is stored as 108.49500000000000454...
        #expect(fixed(1.005, 2) == "1.00")     // stored as 1.00499999999999989...
        #expect(fixed(0.125, 2) == "0.12")     // exact tie: to even
        #expect(fixed(0.375, 2) == "0.38")
        #expect(fixed(2.5, 0) == "2")
        #expect(fixed(3.5, 0) == "4")
        #expect(fixed(-108.491, 3) == "-108.491")
        #expect(fixed(-0.0004, 3) == "0.000")
        #expect(fixed(-0.0, 2) == "0.00")
        #expect(fixed(0, 0) == "0")
        #expect(fixed(0.05, 1) == "0.1")       // 0.05000000000000000277
        #expect(fixed(1e-7, 3) == "0.000")
        #expect(fixed(Double.leastNonzeroMagnitude, 18) == "0.000000000000000000")
        #expect(fixed(123456789.987654321, 6) == "123456789.987654")
        #expect(fixed(1e20, 2) == "100000000000000000000.00")
        #expect(fixed(-0x1p53 - 2, 1) == "-9007199254740994.0")
        #expect(fixed(1.7976931348623157e308, 0).count == 309)
        #expect(fixed(1.7976931348623157e308, 0).hasPrefix("17976931348623157081"))
        #expect(fixed(.infinity, 2) == "null")
        #expect(fixed(.nan, 2) == "null")
    }

    @Test("fixed agrees with printf on random values")
    func fixedMatchesPrintf() {
        var random = SeededGenerator(seed: 3)
        for _ in 0..<5_000 {
            let magnitude = Double.random(in: -6...12, using: &random)
            let value = (Bool.random(using: &random) ? -1 : 1) * pow(10, magnitude) * Double.random(in: 1..<10, using: &random)
            let decimals = Int.random(in: 0...9, using: &random)
            var writer = JSONWriter()
            writer.fixed(value, decimals: decimals)
            var reference = String(format: "%.\(decimals)f", value)
            if reference.hasPrefix("-"), reference.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) {
                reference.removeFirst() // the writer drops the sign of a rounded zero
            }
            #expect(String(decoding: writer.bytes, as: UTF8.self) == reference, "\(value) with \(decimals)")
        }
    }

    @Test("decimal: integer units written with a fixed number of fraction digits")
    func decimals() {
        let cases: [(units: Int64, digits: Int, text: String)] = [
            (1234, 3, "1.234"), (-5, 3, "-0.005"), (0, 3, "0.000"), (0, 0, "0"), (7, 0, "7"),
            (-1_000, 3, "-1.000"), (1_800_000, 3, "1800.000"), (.max, 0, "9223372036854775807"),
            (.min, 18, "-9.223372036854775808"), (1, 18, "0.000000000000000001"),
        ]
        for c in cases {
            var writer = JSONWriter()
            writer.decimal(c.units, fractionDigits: c.digits)
            #expect(text(writer) == c.text, "\(c.units) with \(c.digits)")
        }
        // In an array: commas as for any value.
        var writer = JSONWriter()
        writer.beginArray(); writer.decimal(15, fractionDigits: 1); writer.decimal(-15, fractionDigits: 2); writer.endArray()
        #expect(text(writer) == "[1.5,-0.15]")
        // The text `fixed` writes for the same amount as a double, while that is exact.
        var random = SeededGenerator(seed: 5)
        for _ in 0..<5_000 {
            let digits = Int.random(in: 0...6, using: &random)
            let units = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &random)
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            var reference = JSONWriter()
            reference.fixed(Double(units) / scale, decimals: digits)
            var written = JSONWriter()
            written.decimal(units, fractionDigits: digits)
            #expect(text(written) == text(reference), "\(units) with \(digits)")
        }
    }

    @Test("double: shortest round trip, null for non-finite")
    func doubles() {
        var writer = JSONWriter()
        writer.beginArray()
        for value in [0.1, -2.5, 1e-5, 1e20, 123.0, .infinity, -.infinity, .nan] { writer.double(value) }
        writer.endArray()
        let output = text(writer)
        #expect(output.hasSuffix(",null,null,null]"))
        let parsed = try? JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [Any]
        let numbers = parsed?.prefix(5).compactMap { ($0 as? NSNumber)?.doubleValue }
        #expect(numbers == [0.1, -2.5, 1e-5, 1e20, 123.0])
    }

    @Test("timestamps are quoted ISO-8601 with milliseconds")
    func timestamps() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("ts")
        writer.timestamp(millis: 1_709_210_096_789)
        writer.endObject()
        #expect(text(writer) == "{\"ts\":\"2024-02-29T12:34:56.789Z\"}")
    }

    @Test("an escaped byte is found at every position of the word-at-a-time scan")
    func escapesAtEveryPosition() {
        func reference(_ text: String) -> String {
            var out = "\""
            for unit in text.utf8 {
                switch unit {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x01: out += "\\u0001"
                default: out += String(UnicodeScalar(unit))
                }
            }
            return out + "\""
        }
        for length in 1...20 {
            for position in 0..<length {
                for special in ["\"", "\\", "\n", "\u{1}"] {
                    var text = String(repeating: "a", count: length)
                    let index = text.index(text.startIndex, offsetBy: position)
                    text.replaceSubrange(index...index, with: special)
                    var writer = JSONWriter()
                    writer.string(text)
                    #expect(self.text(writer) == reference(text), "length \(length) position \(position)")
                }
            }
        }
    }

    @Test("a copied writer is independent of the original, and the buffer grows as needed")
    func valueSemantics() {
        var original = JSONWriter(capacity: 1)
        original.beginArray()
        original.int(1)
        var copy = original
        copy.int(2)
        original.int(3)
        original.endArray()
        copy.endArray()
        #expect(text(original) == "[1,3]")
        #expect(text(copy) == "[1,2]")
        var big = JSONWriter(capacity: 1)
        big.beginArray()
        for i in 0..<10_000 { big.int(Int64(i) - 5_000) }
        big.endArray()
        #expect(big.count == big.bytes.count)
        let parsed = try? JSONSerialization.jsonObject(with: Data(big.bytes)) as? [Int]
        #expect(parsed == Array(-5_000..<5_000))
        big.removeAll()
        #expect(big.isEmpty)
        big.null()
        #expect(text(big) == "null")
    }

    /// The escaping of keys and string values, byte for byte against a plain reference, for
    /// random texts of 0 to 40 bytes with special bytes (quotes, backslashes, control
    /// characters, UTF-8) at every position: the word-at-a-time scan, its 1-7 byte tail
    /// (read from a word that may hold an escaped byte just below it), and the short copies.
    @Test(arguments: [1, 2, 3])
    func escapingMatchesAReference(seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [0x22]
            for b in bytes {
                switch b {
                case 0x22: out += [0x5C, 0x22]
                case 0x5C: out += [0x5C, 0x5C]
                case 0x0A: out += Array("\\n".utf8)
                case 0x09: out += Array("\\t".utf8)
                case 0x0D: out += Array("\\r".utf8)
                case 0x08: out += Array("\\b".utf8)
                case 0x0C: out += Array("\\f".utf8)
                case 0..<0x20: out += Array(String(format: "\\u%04x", Int(b)).utf8)
                default: out.append(b)
                }
            }
            return out + [0x22]
        }
        let specials: [UInt8] = [0x22, 0x5C, 0x00, 0x01, 0x0A, 0x1F, 0x20, 0x21, 0x5B, 0x5D, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<3_000 {
            let length = Int(rng.next() % 41)
            var bytes = (0..<length).map { _ in UInt8(0x41 + rng.next() % 26) }
            for _ in 0..<Int(rng.next() % 4) where length > 0 {
                bytes[Int(rng.next() % UInt64(length))] = specials[Int(rng.next() % UInt64(specials.count))]
            }
            var writer = JSONWriter()
            bytes.withUnsafeBytes { writer.string(utf8: $0) }
            #expect(writer.bytes == reference(bytes), "\(bytes)")
            // After other values: the comma owed comes in the same reservation.
            var listed = JSONWriter()
            listed.beginArray()
            listed.int(7)
            bytes.withUnsafeBytes { listed.string(utf8: $0) }
            listed.timestamp(millis: 0)
            bytes.withUnsafeBytes { listed.string(utf8: $0) }
            listed.endArray()
            #expect(listed.bytes == Array("[7,".utf8) + reference(bytes) + Array(",\"1970-01-01T00:00:00.000Z\",".utf8)
                + reference(bytes) + [0x5D])
        }
    }
}
