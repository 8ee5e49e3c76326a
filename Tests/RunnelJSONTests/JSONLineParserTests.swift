import RunnelJSON
import Testing

@Suite("JSONLineParser")
struct JSONLineParserTests {
    let keys = JSONKeySet(keys: ["s", "i", "d", "t", "f", "n", "o", "a", "missing"])

    @Test("extracts every kind of value")
    func extractsAllKinds() {
        let parser = JSONLineParser()
        let line = #"{"s":"hello","i":-42,"d":108.5,"t":true,"f":false,"n":null,"o":{"x":[1,2]},"a":[1,"two",{"three":3}]}"#
        #expect(parser.parse(line, keys: keys) == .ok)
        #expect(parser[0].summary == "string(hello)")
        #expect(parser[1].summary == "integer(-42)")
        #expect(parser[2].summary == "number(108.5)")
        #expect(parser[3].summary == "bool(true)")
        #expect(parser[4].summary == "bool(false)")
        #expect(parser[5].summary == "null")
        #expect(parser[6].summary == "other")
        #expect(parser[7].summary == "other")
        #expect(parser[8].summary == "missing")
        #expect(parser[1].doubleValue == -42)
        #expect(parser[0].stringEquals("hello"))
        #expect(!parser[0].stringEquals("hell"))
    }

    @Test("integers: int64 range is integer, beyond it or with fraction/exponent is number")
    func integerClassification() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["max", "min", "big", "huge", "frac", "exp", "zero"])
        let line = #"{"max":9223372036854775807,"min":-9223372036854775808,"big":9223372036854775808,"# +
            #""huge":123456789012345678901234567890,"frac":1.0,"exp":1e2,"zero":-0}"#
        #expect(parser.parse(line, keys: keys) == .ok)
        #expect(parser[0].int64Value == Int64.max)
        #expect(parser[1].int64Value == Int64.min)
        #expect(parser[2].summary == "number(9.223372036854776e+18)")
        #expect(parser[3].doubleValue == 1.2345678901234568e29)
        #expect(parser[3].int64Value == nil)
        #expect(parser[4].summary == "number(1.0)")
        #expect(parser[5].summary == "number(100.0)")
        #expect(parser[6].summary == "integer(0)")
    }

    @Test("strings are unescaped, unicode passes through")
    func escapedAndUnicodeStrings() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["e", "u", "emoji", "raw"])
        let line = #"{"e":"a\"b\\c\/d\n\t\r\b\f","u":"\u00e9\u4e2d","emoji":"\ud83d\ude00","raw":"héllo 世界 🎉"}"#
        #expect(parser.parse(line, keys: keys) == .ok)
        #expect(parser[0].stringValue == "a\"b\\c/d\n\t\r\u{8}\u{C}")
        #expect(parser[1].stringValue == "é中")
        #expect(parser[2].stringValue == "😀")
        #expect(parser[3].stringValue == "héllo 世界 🎉")
    }

    @Test("nested objects and unwanted fields are skipped but validated")
    func nestedSkipped() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["id"])
        let line = #"{"meta":{"id":"inner","deep":[[{"id":1}]]},"id":"outer","tail":[true,false,null,1.5e-3,"x"]}"#
        #expect(parser.parse(line, keys: keys) == .ok)
        #expect(parser[0].stringValue == "outer")
        // A bad literal deep inside an unwanted field still makes the line malformed.
        if case .malformed = parser.parse(#"{"id":"x","meta":{"a":[1,tru]}}"#, keys: keys) {} else {
            Issue.record("expected malformed")
        }
        if case .malformed = parser.parse(#"{"id":"x","meta":{"a":"bad \x escape"}}"#, keys: keys) {} else {
            Issue.record("expected malformed")
        }
    }

    @Test("duplicate keys: the last one wins")
    func duplicateKeys() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        #expect(parser.parse(#"{"a":1,"b":2,"a":"second"}"#, keys: keys) == .ok)
        #expect(parser[0].stringValue == "second")
    }

    @Test("escaped keys are compared raw and never match")
    func escapedKeys() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        #expect(parser.parse(#"{"\u0061":1}"#, keys: keys) == .ok)
        #expect(parser[0].summary == "missing")
    }

    @Test("whitespace around the object is allowed")
    func surroundingWhitespace() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        #expect(parser.parse(" \t{ \"a\" : 1 }\r ", keys: keys) == .ok)
        #expect(parser[0].int64Value == 1)
        #expect(parser.parse("{}", keys: keys) == .ok)
        #expect(parser[0].summary == "missing")
    }

    @Test("malformed lines", arguments: [
        #"{"a":1"#,              // truncated
        #"{"a":"#,               // truncated value
        #"{"a":"abc"#,           // unterminated string
        #"{"a":1} x"#,           // trailing garbage
        #"{"a":1}}"#,            // trailing brace
        #"{"a":1} {"b":2}"#,     // two documents
        #"{"a":1,}"#,            // trailing comma
        #"{"a" 1}"#,             // missing colon
        #"{"a":1 "b":2}"#,       // missing comma
        #"{"a":01}"#,            // leading zero
        #"{"a":nul}"#,           // bad literal
        #"{"a":[1,2}"#,          // mismatched bracket
        #"{a:1}"#,               // unquoted key
        "",                      // empty
        "   ",                   // blank
        "hello",                 // bare word
        "[1,2",                  // truncated array
        "42 43",                 // two scalars
    ])
    func malformed(line: String) {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        let result = parser.parse(line, keys: keys)
        guard case .malformed(let message) = result else {
            Issue.record("expected malformed for \(line), got \(result)")
            return
        }
        #expect(!message.isEmpty)
        #expect(parser[0].summary == "missing")
    }

    @Test("valid JSON that is not an object", arguments: ["[1,2,3]", "[]", "42", "-1.5", "\"text\"", "true", "null", " [ {\"a\":1} ] "])
    func notAnObject(line: String) {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        #expect(parser.parse(line, keys: keys) == .notAnObject)
    }

    @Test("invalid UTF-8 and unescaped control characters are malformed")
    func invalidBytes() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        let bad: [[UInt8]] = [
            Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array(#"{"a":""#.utf8) + [0x01] + Array(#""}"#.utf8),
        ]
        for bytes in bad {
            let buffer = PaddedBuffer()
            bytes.withUnsafeBytes { buffer.append($0) }
            if case .malformed = parser.parse(buffer.bytes, keys: keys) {} else {
                Issue.record("expected malformed for \(bytes)")
            }
        }
    }

    @Test("a line inside a larger buffer is parsed alone")
    func lineInsideBuffer() {
        let parser = JSONLineParser()
        let keys = JSONKeySet(keys: ["a"])
        let buffer = PaddedBuffer(#"{"a":"first"}"# + "\n" + #"{"a":"second"}"#)
        let first = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<13])
        #expect(parser.parse(first, keys: keys) == .ok)
        #expect(parser[0].stringValue == "first")
    }

    @Test("parser is reusable across lines and key sets; big lines grow its buffers")
    func reuse() {
        let parser = JSONLineParser()
        let small = JSONKeySet(keys: ["a"])
        let other = JSONKeySet(keys: ["b", "a"])
        let long = String(repeating: "x", count: 200_000)
        for round in 0..<3 {
            #expect(parser.parse(#"{"a":\#(round)}"#, keys: small) == .ok)
            #expect(parser[0].int64Value == Int64(round))
            #expect(parser.parse(#"{"a":"\#(long)","b":true}"#, keys: other) == .ok)
            #expect(parser[0].boolValue == true)
            #expect(parser[1].stringBytes?.count == long.utf8.count)
        }
    }

    @Test("key set bookkeeping")
    func keySet() {
        let keys = JSONKeySet(keys: ["alpha", "beta", ""])
        #expect(keys.count == 3)
        #expect(keys.index(of: "beta") == 1)
        #expect(keys.index(of: "gamma") == nil)
        let parser = JSONLineParser()
        #expect(parser.parse(#"{"":"empty key","alpha":0}"#, keys: keys) == .ok)
        #expect(parser[2].stringValue == "empty key")
        #expect(parser[0].int64Value == 0)
        // 64 keys, many of which share lengths and first/last bytes.
        let many = (0..<64).map { "k\($0 % 10)_\($0)" }
        let big = JSONKeySet(keys: many)
        let line = "{" + many.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        #expect(parser.parse(line, keys: big) == .ok)
        for index in 0..<64 {
            #expect(parser[index].int64Value == Int64(index))
        }
    }

    /// Checks the slots of the key set `names` after parsing `line`: `"name-round"` for each
    /// name `present`, missing for the others.
    func expectFields(_ parser: JSONLineParser, _ names: [String], present: [String], round: Int, line: String,
                      sourceLocation: SourceLocation = #_sourceLocation) {
        for (index, name) in names.enumerated() {
            if present.contains(name) {
                #expect(parser[index].stringValue == "\(name)-\(round)", "\(line)", sourceLocation: sourceLocation)
            } else {
                #expect(parser[index].summary == "missing", "\(line)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("the key order remembered from earlier lines never decides a key: orders that change from line to line, optional keys, prefixes and other key sets")
    func keyOrderGuesses() {
        let parser = JSONLineParser()
        // Keys sharing first bytes and prefixes of one another ("event" of "event_id").
        let names = ["event_id", "event_name", "event", "user_id", "session_id", "e", "ev"]
        let keys = JSONKeySet(keys: names)
        let other = JSONKeySet(keys: ["session_id", "event_id"])
        var generator = SeededGenerator(seed: 7)
        for round in 0..<400 {
            // A random subset in a random order, sometimes with an unwanted key between.
            var present = names.filter { _ in Bool.random(using: &generator) }
            present.shuffle(using: &generator)
            var fields = present.map { "\"\($0)\":\"\($0)-\(round)\"" }
            if Bool.random(using: &generator) { fields.insert(#""unwanted":[1,{"event_id":"no"}]"#, at: Int.random(in: 0...fields.count)) }
            let line = "{" + fields.joined(separator: ",") + "}"
            #expect(parser.parse(line, keys: keys) == .ok)
            expectFields(parser, names, present: present, round: round, line: line)
            if round % 7 == 0 {
                // Another key set on the same parser in between.
                #expect(parser.parse(#"{"event_id":"x","session_id":"y"}"#, keys: other) == .ok)
                #expect(parser[0].stringValue == "y")
                #expect(parser[1].stringValue == "x")
            }
        }
    }

    @Test("unwanted keys the parser learns never decide a key: prefixes of wanted keys and the reverse, 16, 17 and 24-33 bytes, non-ASCII, escaped, more than it learns, and another key set wanting them")
    func learnedUnwantedKeys() {
        let parser = JSONLineParser()
        let wantedNames = ["event_id", "ev", "sixteen_bytes_ok", "user_id", "a_wanted_key_of_27_bytes_ok"]
        let keys = JSONKeySet(keys: wantedNames)
        // Unwanted: a prefix of a wanted key, one a wanted key is a prefix of, exactly 16 and
        // 17 bytes, long ones (learned up to 32 bytes: 24, 31, two of 32 differing only in the
        // last byte, 33 (one of them a 32-byte one and one byte more), and prefixes and
        // extensions of a long wanted key), one byte (a prefix of a wanted key), exactly 8,
        // non-ASCII, with an escape, and 40 numbered ones (more than are learned).
        var unwantedNames = ["event", "event_id_2", "ev_", "sixteen_bytes_no", "seventeen_bytes_x", "caf\u{e9}", "e\\u0076",
                             "twenty_four_bytes_long_x", "thirty_one_bytes_long_key_abcde", "thirty_two_bytes_long_key_abcdeA",
                             "thirty_two_bytes_long_key_abcdeB", "thirty_three_bytes_long_key_abcde",
                             "a_wanted_key_of_27_bytes", "a_wanted_key_of_27_bytes_ok_", "a_wanted_key_of_27_bytes_no",
                             "thirty_two_bytes_long_key_abcdeAx", "e", "eight_by"]
        unwantedNames += (0..<40).map { "k\($0)" }
        // Another key set wants some of the keys the first one does not.
        let other = JSONKeySet(keys: ["event", "k3", "sixteen_bytes_no", "thirty_two_bytes_long_key_abcdeB"])
        var generator = SeededGenerator(seed: 23)
        for round in 0..<600 {
            // Mostly one order, as a producer writes; now and then shuffled or thinned.
            var wanted = wantedNames.filter { _ in Int.random(in: 0..<8, using: &generator) != 0 }
            var unwanted = unwantedNames.filter { _ in Int.random(in: 0..<8, using: &generator) != 0 }
            if round % 5 == 0 {
                wanted.shuffle(using: &generator)
                unwanted.shuffle(using: &generator)
            }
            // Values of every kind after unwanted keys (strings after the ones the other key
            // set reads).
            let values = ["\"u-\(round)\"", "\(round)", "-1.5e3", "[1,{\"ev\":\"no\"}]", "{\"event_id\":\"no\"}", "true", "null"]
            var fields = unwanted.enumerated().map { i, key in
                "\"\(key)\":" + (key.hasPrefix("k") && key != "k3" || key.hasPrefix("thirty_t") && !key.hasSuffix("B")
                    ? values[(i + round) % values.count] : values[0])
            }
            for name in wanted {
                fields.insert("\"\(name)\":\"\(name)-\(round)\"", at: Int.random(in: 0...fields.count, using: &generator))
            }
            let line = "{" + fields.joined(separator: ",") + "}"
            #expect(parser.parse(line, keys: keys) == .ok)
            expectFields(parser, wantedNames, present: wanted, round: round, line: line)
            if round % 9 == 0 {
                #expect(parser.parse(line, keys: other) == .ok)
                #expect(parser[0].stringValue == (unwanted.contains("event") ? "u-\(round)" : nil), "\(line)")
                #expect(parser[1].stringValue == (unwanted.contains("k3") ? "u-\(round)" : nil), "\(line)")
                #expect(parser[2].stringValue == (unwanted.contains("sixteen_bytes_no") ? "u-\(round)" : nil), "\(line)")
                #expect(parser[3].stringValue == (unwanted.contains("thirty_two_bytes_long_key_abcdeB") ? "u-\(round)" : nil),
                        "\(line)")
            }
        }
    }

    @Test("key sets made and dropped while one parser reads lines with each: no key order remembered for one applies to another")
    func keySetChurn() {
        let parser = JSONLineParser()
        var generator = SeededGenerator(seed: 11)
        for round in 0..<200 {
            // Each key set lists the same names in another order (so key indexes differ),
            // and is dropped after its line (its memory may be reused by the next one).
            var names = ["alpha", "beta", "gamma", "delta", "al", "be"]
            names.shuffle(using: &generator)
            let keys = JSONKeySet(keys: names)
            var order = names
            order.shuffle(using: &generator)
            let line = "{" + order.map { "\"\($0)\":\"\($0)\(round)\"" }.joined(separator: ",") + "}"
            for _ in 0..<2 {
                #expect(parser.parse(line, keys: keys) == .ok)
                for (index, name) in names.enumerated() { #expect(parser[index].stringValue == "\(name)\(round)") }
            }
        }
    }
}
