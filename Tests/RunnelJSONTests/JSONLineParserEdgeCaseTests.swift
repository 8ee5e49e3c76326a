import RunnelJSON
import Testing

/// Edge cases of `JSONLineParser` around its two internal tiers: a fast
/// single-pass parser that handles common lines, and the simdjson On Demand
/// reference walk that decides every line the fast parser leaves undecided
/// (errors, non-object roots, long numbers, deep nesting, ...). Both must give
/// the same answers, so several tests parse a line as is and again with a
/// field that only the reference walk handles (a 22-digit integer) and compare.
@Suite("JSONLineParser edge cases")
struct JSONLineParserEdgeCaseTests {
    /// An unwanted field whose value only the reference walk decides.
    static let slowField = #""zz_slow":1234567890123456789012"#

    /// Parses raw bytes (copied into padded memory).
    func parse(_ parser: JSONLineParser, _ bytes: [UInt8], _ keys: JSONKeySet) -> JSONParseResult {
        let buffer = PaddedBuffer()
        bytes.withUnsafeBytes { buffer.append($0) }
        return parser.parse(buffer.bytes, keys: keys)
    }

    func isMalformed(_ result: JSONParseResult) -> Bool {
        if case .malformed = result { return true }
        return false
    }

    /// Slot summaries, with doubles by bit pattern (so -0.0 and 0.0 differ).
    func snapshot(_ parser: JSONLineParser, count: Int) -> [String] {
        (0..<count).map { index in
            if case .number(let value) = parser[index] { return "number(\(value.bitPattern))" }
            return parser[index].summary
        }
    }

    /// The same object with the slow field inserted first, so that the
    /// reference walk decides it. nil for an empty object.
    func withSlowField(_ line: String) -> String? {
        guard let brace = line.firstIndex(of: "{") else { return nil }
        let rest = line[line.index(after: brace)...]
        if rest.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).first == "}" { return nil }
        return String(line[...brace]) + Self.slowField + "," + rest
    }

    @Test("strings of every length up to 48 bytes, wanted or not, with and without escapes")
    func stringLengths() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["w"])
        for length in 0...48 {
            let plain = String((0..<length).map { Character(UnicodeScalar(UInt8(0x61 + $0 % 26))) })
            #expect(parser.parse(#"{"u":"\#(plain)","w":"\#(plain)","v":"\#(plain)"}"#, keys: keys) == .ok)
            #expect(parser[0].stringValue == plain)
            guard length > 0 else { continue }
            // An escape or a multi-byte character at every position.
            for position in 0..<length {
                var escaped = Array(plain)
                escaped[position] = "\u{1}" // placeholder for the escape below
                let text = String(escaped).replacingOccurrences(of: "\u{1}", with: #"\n"#)
                #expect(parser.parse(#"{"u":"\#(text)","w":"\#(text)"}"#, keys: keys) == .ok)
                #expect(parser[0].stringValue == String(escaped).replacingOccurrences(of: "\u{1}", with: "\n"))
                let unicode = String(escaped).replacingOccurrences(of: "\u{1}", with: "é🎉")
                #expect(parser.parse(#"{"w":"\#(unicode)","u":"\#(unicode)"}"#, keys: keys) == .ok)
                #expect(parser[0].stringValue == unicode)
            }
        }
    }

    @Test("lines longer than the parser's buffers grow them, in any order of sizes")
    func longLines() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["head", "tail", "n"])
        for size in [10, 5_000, 70_000, 3_000, 1_100_000, 200, 300_000] {
            let filler = String(repeating: "0123456789abcdef", count: size / 16 + 1)
            let tail = String(repeating: "é", count: size % 7 + 1)
            let line = #"{"head":"h","skip":"\#(filler)","arr":[\#(Array(repeating: "1.5", count: size / 100 + 1).joined(separator: ","))],"tail":"\#(tail)","n":\#(size)}"#
            #expect(parser.parse(line, keys: keys) == .ok, "size \(size)")
            #expect(parser[0].stringValue == "h")
            #expect(parser[1].stringValue == tail)
            #expect(parser[2].int64Value == Int64(size))
            // Malformed at the very end of a long line.
            #expect(isMalformed(parser.parse(String(line.dropLast()), keys: keys)), "size \(size)")
            #expect(isMalformed(parser.parse(line + "x", keys: keys)), "size \(size)")
        }
    }

    @Test("a truncated line is malformed even when the bytes after it would complete it")
    func truncatedBeforeValidContinuation() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        let whole = #"{"a":"abc","b":[1,2],"c":true}"#
        let buffer = PaddedBuffer(whole + whole)
        for cut in 0..<whole.utf8.count {
            let prefix = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<cut])
            #expect(isMalformed(parser.parse(prefix, keys: keys)), "cut at \(cut)")
        }
        let exact = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<whole.utf8.count])
        #expect(parser.parse(exact, keys: keys) == .ok)
        #expect(parser[0].stringValue == "abc")
    }

    @Test("strings stay valid until the next parse, after the line's memory is gone")
    func stringsOutliveTheLine() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a", "b"])
        do {
            let buffer = PaddedBuffer(#"{"a":"first value","b":"esc\"aped\u00e9"}"#)
            #expect(parser.parse(buffer.bytes, keys: keys) == .ok)
            buffer.removeAll()
            buffer.append(String(repeating: "#", count: 200))
        }
        #expect(parser[0].stringValue == "first value")
        #expect(parser[1].stringValue == "esc\"apedé")
    }

    @Test("nesting: up to 512 levels counting the root object, deeper is malformed")
    func nesting() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a", "x"])
        for depth in [1, 2, 63, 64, 65, 66, 200, 511, 512] {
            for key in ["a", "b"] {
                let arrays = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
                let objects = String(repeating: #"{"k":"#, count: depth) + "1" + String(repeating: "}", count: depth)
                for value in [arrays, objects] {
                    let result = parser.parse(#"{"\#(key)":\#(value),"x":7}"#, keys: keys)
                    if depth <= 511 {
                        #expect(result == .ok, "depth \(depth) key \(key)")
                        #expect(parser[0].summary == (key == "a" ? "other" : "missing"))
                        #expect(parser[1].int64Value == 7)
                    } else {
                        #expect(isMalformed(result), "depth \(depth) key \(key)")
                    }
                }
            }
        }
        // A non-object root: same limit, 512 containers in all.
        #expect(parser.parse(String(repeating: "[", count: 512) + String(repeating: "]", count: 512), keys: keys) == .notAnObject)
        #expect(isMalformed(parser.parse(String(repeating: "[", count: 513) + String(repeating: "]", count: 513), keys: keys)))
    }

    @Test("invalid UTF-8 anywhere, including skipped values and keys, is malformed")
    func invalidUTF8() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        let bad: [[UInt8]] = [
            [0xFF], [0x80], [0xC0, 0xAF], [0xC1, 0xBF], [0xE0, 0x80, 0xAF], [0xED, 0xA0, 0x80],
            [0xF0, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
            [0xC3], [0xE4, 0xB8], [0xF0, 0x9F, 0x8E], [0xC3, 0x28],
        ]
        for sequence in bad {
            let lines: [[UInt8]] = [
                Array(#"{"a":1,"skip":"x"#.utf8) + sequence + Array(#"y"}"#.utf8),
                Array(#"{"skip":{"deep":["x"#.utf8) + sequence + Array(#""]},"a":1}"#.utf8),
                Array(#"{"k"#.utf8) + sequence + Array(#"":1,"a":2}"#.utf8),
                Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8),
            ]
            for line in lines {
                #expect(isMalformed(parse(parser, line, keys)), "\(line)")
            }
        }
        // Well-formed sequences of each length pass, wanted or not.
        let good = "é中🎉\u{7F}\u{10FFFF}\u{FFFF}"
        #expect(parser.parse(#"{"k\#(good)":"\#(good)","a":"\#(good)"}"#, keys: keys) == .ok)
        #expect(parser[0].stringValue == good)
    }

    @Test("control characters and NUL bytes are malformed, escaped NUL is fine")
    func controlCharacters() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        for byte: UInt8 in [0x00, 0x01, 0x0A, 0x1F] {
            #expect(isMalformed(parse(parser, Array(#"{"a":"x"#.utf8) + [byte] + Array(#""}"#.utf8), keys)))
            #expect(isMalformed(parse(parser, Array(#"{"b":"x"#.utf8) + [byte] + Array(#"","a":1}"#.utf8), keys)))
        }
        #expect(isMalformed(parse(parser, Array(#"{"a":1}"#.utf8) + [0x00], keys)))
        #expect(isMalformed(parse(parser, [0x00] + Array(#"{"a":1}"#.utf8), keys)))
        #expect(parser.parse(#"{"a":"x\u0000y"}"#, keys: keys) == .ok)
        #expect(parser[0].stringBytes.map(Array.init) == [0x78, 0x00, 0x79])
    }

    @Test("escapes: valid ones decode, invalid ones and lone surrogates are malformed wherever they are")
    func escapes() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        #expect(parser.parse(#"{"a":"\ud83d\ude00\uD83D\uDE00\u00E9\u0041\/\\\"\b\f\n\r\t"}"#, keys: keys) == .ok)
        #expect(parser[0].stringValue == "😀😀éA/\\\"\u{8}\u{C}\n\r\t")
        for bad in [#"\x"#, #"\u12"#, #"\u12G4"#, #"\ud800"#, #"\udc00"#, #"\ud800\u0041"#, #"\ud800\ud800"#, #"\ud800x"#, #"\"#] {
            #expect(isMalformed(parser.parse(#"{"a":"\#(bad)"}"#, keys: keys)), "\(bad)")
            #expect(isMalformed(parser.parse(#"{"b":"\#(bad)","a":1}"#, keys: keys)), "\(bad)")
            #expect(isMalformed(parser.parse(#"{"k\#(bad)":1,"a":1}"#, keys: keys)), "\(bad)")
        }
        // Escaped keys are validated but never match, even when they decode to a wanted key.
        #expect(parser.parse(#"{"a":1,"\u0061":2,"a\u00e9":3}"#, keys: keys) == .ok)
        #expect(parser[0].int64Value == 1)
    }

    @Test("numbers: exact conversions on both paths, integers vs doubles as before")
    func numbers() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        let doubles = [
            "0.30000000000000004", "9007199254740993.0", "1e-300", "5e-324", "2.2250738585072014e-308",
            "1.7976931348623157e308", "123456.789e-3", "1E+2", "-1.5e-5", "12345678901234567e10", "0.1", "-0.0",
            "0e99999", "1e22", "1e23", "4.35", "17.99", "1e-400",
        ]
        for literal in doubles {
            let expected = Double(literal)!
            for line in [#"{"a":\#(literal)}"#, #"{"a":\#(literal),\#(Self.slowField)}"#] {
                #expect(parser.parse(line, keys: keys) == .ok, "\(line)")
                guard case .number(let value) = parser[0] else {
                    Issue.record("\(line): \(parser[0].summary)")
                    continue
                }
                #expect(value.bitPattern == expected.bitPattern, "\(line): \(value) vs \(expected)")
            }
        }
        // Literals with more digits are decided by the reference walk alone
        // (simdjson's own conversion); whatever it answers, both paths agree.
        for literal in ["30266066.24013170660", "-909100833.6290885000", "0.5239583933159306958237",
                        "1234567890123456789.5", "12345678901234567890e-5", "0.0000000000000000001"] {
            #expect(parser.parse(#"{"a":\#(literal)}"#, keys: keys) == .ok)
            let first = snapshot(parser, count: 1)
            #expect(parser.parse(#"{"a":\#(literal),\#(Self.slowField)}"#, keys: keys) == .ok)
            #expect(snapshot(parser, count: 1) == first, "\(literal)")
        }
        let integers: [(String, Int64)] = [
            ("0", 0), ("-0", 0), ("999999999999999999", 999_999_999_999_999_999),
            ("-999999999999999999", -999_999_999_999_999_999), ("1234567890123456789", 1_234_567_890_123_456_789),
            ("9223372036854775807", .max), ("-9223372036854775808", .min),
        ]
        for (literal, expected) in integers {
            #expect(parser.parse(#"{"a":\#(literal)}"#, keys: keys) == .ok)
            #expect(parser[0].summary == "integer(\(expected))", "\(literal)")
        }
        for bad in ["1e400", "-1e400", "01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "--1", "1.2.3", "0x10", "1ee2", "NaN", "Infinity"] {
            #expect(isMalformed(parser.parse(#"{"a":\#(bad)}"#, keys: keys)), "\(bad)")
            #expect(isMalformed(parser.parse(#"{"b":\#(bad),"a":1}"#, keys: keys)), "\(bad)")
            #expect(isMalformed(parser.parse(#"{"b":[\#(bad)],"a":1}"#, keys: keys)), "\(bad)")
        }
    }

    @Test("key sets with keys that share prefixes, long keys, one-byte keys and non-ASCII keys")
    func keyMatching() {
        let parser = JSONLineParser()
        let names = ["i", "id", "id2", "ab", "abc", "abd", "exactly_16_bytes", "seventeen_bytes_k",
                     "a_key_well_over_sixteen_bytes_long", "prénom", "ünïcödé_and_long_key", "del\u{7F}", "tab\t"]
        let keys = JSONKeySet(keys: names)
        var fields = names.enumerated().map { #""\#($1.replacingOccurrences(of: "\t", with: #"\t"#))":\#($0)"# }
        fields += [#""idx":-1"#, #""a":-1"#, #""abe":-1"#, #""exactly_16_byteS":-1"#, #""seventeen_bytes_":-1"#, #""prénoms":-1"#, #""":-1"#]
        let line = "{" + fields.reversed().joined(separator: ",") + "}"
        #expect(parser.parse(line, keys: keys) == .ok)
        for (index, name) in names.enumerated() {
            // "tab\t" is written with an escape in the line, so it never matches.
            #expect(parser[index].summary == (name == "tab\t" ? "missing" : "integer(\(index))"), "\(name)")
        }
        // A raw tab inside a key is malformed, even though a wanted key contains one.
        #expect(isMalformed(parser.parse("{\"tab\t\":1}", keys: keys)))
        // The empty key.
        let empty = JSONKeySet(keys: ["", "a"])
        #expect(parser.parse(#"{"":"e","a":"x","":"last"}"#, keys: empty) == .ok)
        #expect(parser[0].stringValue == "last")
        #expect(parser[1].stringValue == "x")
    }

    @Test("duplicate keys: the last one wins on both paths")
    func duplicatesOnBothPaths() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a", "b"])
        for suffix in ["", "," + Self.slowField] {
            #expect(parser.parse(#"{"a":"x","b":1,"a":{"n":[]},"b":null,"a":"esc\tape"\#(suffix)}"#, keys: keys) == .ok)
            #expect(parser[0].stringValue == "esc\tape")
            #expect(parser[1].summary == "null")
        }
    }

    @Test("whitespace anywhere between tokens, and only there")
    func whitespace() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a", "b", "c"])
        let spaced = " \t\r\n{ \"a\" \n: \t\"x\" , \"b\"\r:[ 1 ,\t{ \"k\" : null } ] ,\"c\":\n-2.5e1\t} \r\n"
        #expect(parser.parse(spaced, keys: keys) == .ok)
        #expect(parser[0].stringValue == "x")
        #expect(parser[1].summary == "other")
        #expect(parser[2].doubleValue == -25)
        for bad in ["{\u{0B}\"a\":1}", "{\"a\":1\u{0C}}", "{\"a\":\u{A0}1}", "\u{FEFF}{\"a\":1}"] {
            #expect(isMalformed(parser.parse(bad, keys: keys)), "\(Array(bad.utf8))")
        }
    }

    @Test("random documents and mutations: same answers whichever path decides")
    func bothPathsAgree() {
        var random = SeededGenerator(seed: 0x5EED)
        let keys = JSONKeySet(keys: ["a", "b", "event_id", "id", "x", "k\u{E9}", "ab"])
        let fast = JSONLineParser()
        let reference = JSONLineParser()
        let names = ["a", "b", "event_id", "id", "x", "k\u{E9}", "ab", "zz", "", #"\u0061"#, "abc"]
        let strings = ["", "plain", #"e\"s\\c\/\b\f\n\r\t"#, #"\u00e9\ud83d\ude00"#, "é中🎉", "\u{7F}",
                       String(repeating: "long", count: 20), #"\ud800"#, #"\x"#]
        let numbers = ["0", "-0", "12", "-7", "3.25", "1e3", "0.30000000000000004", "1e-300", "123456789012345678",
                       "1234567890123456789", "1e400", "01", "1.", "-", "2.5E-3"]
        func value(_ depth: Int) -> String {
            switch Int.random(in: 0..<(depth > 3 ? 6 : 8), using: &random) {
            case 0, 1: return "\"" + strings.randomElement(using: &random)! + "\""
            case 2, 3: return numbers.randomElement(using: &random)!
            case 4: return ["true", "false", "null", "nul", "tru"].randomElement(using: &random)!
            case 5: return "\"" + names.randomElement(using: &random)! + "\""
            case 6: return "[" + (0..<Int.random(in: 0..<4, using: &random)).map { _ in value(depth + 1) }.joined(separator: ",") + "]"
            default:
                return "{" + (0..<Int.random(in: 0..<4, using: &random)).map { _ in
                    "\"" + names.randomElement(using: &random)! + "\":" + value(depth + 1)
                }.joined(separator: ",") + "}"
            }
        }
        var decidedOK = 0
        for _ in 0..<3_000 {
            var line = "{" + (0..<Int.random(in: 0..<7, using: &random)).map { _ in
                let space = Bool.random(using: &random) ? " " : ""
                return "\"" + names.randomElement(using: &random)! + "\"" + space + ":" + space + value(1)
            }.joined(separator: ",") + "}"
            if Int.random(in: 0..<3, using: &random) == 0, !line.isEmpty {
                var bytes = Array(line.utf8)
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(Array("{}[]:,\"\\ 0-e".utf8).randomElement(using: &random)!, at: position)
                default: bytes[position] = UInt8.random(in: 0...255, using: &random)
                }
                line = String(decoding: bytes, as: UTF8.self) // invalid bytes become U+FFFD
            }
            guard let slowLine = withSlowField(line) else { continue }
            let first = fast.parse(line, keys: keys)
            let second = reference.parse(slowLine, keys: keys)
            switch (first, second) {
            case (.ok, .ok):
                decidedOK += 1
                #expect(snapshot(fast, count: keys.count) == snapshot(reference, count: keys.count), "\(line)")
            case (.malformed, .malformed), (.notAnObject, .notAnObject):
                break
            default:
                Issue.record("\(line): \(first) vs \(second)")
            }
        }
        #expect(decidedOK > 300)
    }
}
