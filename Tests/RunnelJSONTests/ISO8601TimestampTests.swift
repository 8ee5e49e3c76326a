import RunnelJSON
import Testing

@Suite("ISO8601Timestamp")
struct ISO8601TimestampTests {
    @Test("known instants")
    func knownInstants() {
        #expect(ISO8601Timestamp.parseMillis("1970-01-01T00:00:00Z") == 0)
        #expect(ISO8601Timestamp.parseMillis("2000-01-01T00:00:00Z") == 946_684_800_000)
        #expect(ISO8601Timestamp.parseMillis("2024-02-29T12:34:56.789Z") == 1_709_210_096_789)
        #expect(ISO8601Timestamp.parseMillis("1969-12-31T23:59:59.999Z") == -1)
        #expect(ISO8601Timestamp.parseMillis("0000-01-01T00:00:00Z") == -62_167_219_200_000)
        #expect(ISO8601Timestamp.parseMillis("9999-12-31T23:59:59.999Z") == 253_402_300_799_999)
        #expect(ISO8601Timestamp.parseMillis("0000-02-29T00:00:00Z") != nil) // year 0 is a leap year
    }

    @Test("fractions of 0 to 9 digits, truncated to milliseconds")
    func fractions() {
        let base: Int64 = 1_700_000_000_000 // 2023-11-14T22:13:20Z
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20Z") == base)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.1Z") == base + 100)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.12Z") == base + 120)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.123Z") == base + 123)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.1239Z") == base + 123)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.9999Z") == base + 999)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.99999Z") == base + 999)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.999999Z") == base + 999)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.0000001Z") == base)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.12345678Z") == base + 123)
        #expect(ISO8601Timestamp.parseMillis("2023-11-14T22:13:20.999999999Z") == base + 999)
        // Negative instants truncate toward the earlier millisecond boundary of the written time.
        #expect(ISO8601Timestamp.parseMillis("1969-12-31T23:59:59.9999Z") == -1)
    }

    @Test("rejected forms", arguments: [
        "2023-11-14T22:13:20",            // missing Z
        "2023-11-14T22:13:20+00:00",      // offset
        "2023-11-14T22:13:20.123+01:00",  // offset with fraction
        "2023-11-14t22:13:20Z",           // lowercase t
        "2023-11-14T22:13:20z",           // lowercase z
        "2023-11-14 22:13:20Z",           // space separator
        "2023-11-14T22:13:20.Z",          // empty fraction
        "2023-11-14T22:13:20.1234567890Z", // 10 fraction digits
        "2023-11-14T22:13:20,123Z",       // comma fraction
        "2023-13-01T00:00:00Z",           // month 13
        "2023-00-01T00:00:00Z",           // month 0
        "2023-01-00T00:00:00Z",           // day 0
        "2023-01-32T00:00:00Z",           // day 32
        "2023-04-31T00:00:00Z",           // April has 30 days
        "2023-02-29T00:00:00Z",           // not a leap year
        "1900-02-29T00:00:00Z",           // century, not a leap year
        "2023-01-01T24:00:00Z",           // hour 24
        "2023-01-01T23:60:00Z",           // minute 60
        "2023-12-31T23:59:60Z",           // leap second
        "23-11-14T22:13:20Z",             // short year
        "+2023-11-14T22:13:20Z",          // signed year
        "2023-1-14T22:13:20Z",            // one-digit month
        "2023-11-14T22:13:2aZ",           // non-digit
        "2023-11-14T22:13:20.12aZ",       // non-digit fraction
        "2023-11-14",                     // date only
        "",
    ])
    func rejects(text: String) {
        #expect(ISO8601Timestamp.parseMillis(text) == nil)
    }

    @Test("leap years accepted")
    func leapYears() {
        for year in ["2000", "2024", "1996", "2400"] {
            #expect(ISO8601Timestamp.parseMillis("\(year)-02-29T00:00:00Z") != nil)
        }
        for year in ["2100", "2023", "1800"] {
            #expect(ISO8601Timestamp.parseMillis("\(year)-02-29T00:00:00Z") == nil)
        }
    }

    @Test("format: fixed layout with three fraction digits")
    func formatting() {
        #expect(ISO8601Timestamp.string(millis: 0) == "1970-01-01T00:00:00.000Z")
        #expect(ISO8601Timestamp.string(millis: -1) == "1969-12-31T23:59:59.999Z")
        #expect(ISO8601Timestamp.string(millis: 1_709_210_096_789) == "2024-02-29T12:34:56.789Z")
        #expect(ISO8601Timestamp.string(millis: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(ISO8601Timestamp.string(millis: -62_167_219_200_000) == "0000-01-01T00:00:00.000Z")
        // Outside 0000–9999 the year widens (and parseMillis rejects it by design).
        #expect(ISO8601Timestamp.string(millis: 253_402_300_800_000) == "10000-01-01T00:00:00.000Z")
        #expect(ISO8601Timestamp.string(millis: -62_167_219_200_000 - 86_400_000 + 1) == "-0001-12-31T00:00:00.001Z")
        #expect(ISO8601Timestamp.parseMillis("10000-01-01T00:00:00.000Z") == nil)
        var bytes = Array("x".utf8)
        ISO8601Timestamp.format(millis: 5, into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "x1970-01-01T00:00:00.005Z")
    }

    /// Reference calendar math written the slow, obvious way: walk years, then months.
    static func referenceString(millis: Int64) -> String {
        precondition(millis >= 0)
        var days = millis / 86_400_000
        let msOfDay = millis % 86_400_000
        func isLeap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        var year = 1970
        while days >= (isLeap(year) ? 366 : 365) {
            days -= isLeap(year) ? 366 : 365
            year += 1
        }
        let monthLengths = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var month = 0
        while days >= Int64(monthLengths[month]) {
            days -= Int64(monthLengths[month])
            month += 1
        }
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(Int64(year), 4))-\(pad(Int64(month + 1), 2))-\(pad(days + 1, 2))T" +
            "\(pad(msOfDay / 3_600_000, 2)):\(pad(msOfDay / 60_000 % 60, 2)):\(pad(msOfDay / 1000 % 60, 2))." +
            "\(pad(msOfDay % 1000, 3))Z"
    }

    @Test("random instants 1970–2100 round-trip and match a reference calendar")
    func randomRoundTrips() {
        var random = SeededGenerator(seed: 0x5EED)
        let end: Int64 = 4_102_444_800_000 // 2100-01-01T00:00:00Z
        for _ in 0..<20_000 {
            let millis = Int64.random(in: 0..<(end + 365 * 86_400_000), using: &random)
            let expected = Self.referenceString(millis: millis)
            let formatted = ISO8601Timestamp.string(millis: millis)
            #expect(formatted == expected)
            #expect(ISO8601Timestamp.parseMillis(formatted) == millis)
        }
    }

    @Test("round trips before 1970 and at year edges")
    func negativeRoundTrips() {
        var random = SeededGenerator(seed: 42)
        for _ in 0..<5_000 {
            let millis = Int64.random(in: -62_167_219_200_000...253_402_300_799_999, using: &random)
            #expect(ISO8601Timestamp.parseMillis(ISO8601Timestamp.string(millis: millis)) == millis)
        }
    }

    @Test("the date-remembering parser agrees with the stateless one, across days and on bad input")
    func rememberingParserAgrees() {
        var parser = ISO8601TimestampParser()
        var random = SeededGenerator(seed: 7)
        var samples: [String] = []
        var millis: Int64 = 1_700_000_000_000
        for _ in 0..<5_000 {
            millis += Int64.random(in: -2_000_000...20_000_000, using: &random)
            let text = ISO8601Timestamp.string(millis: millis)
            samples.append(text)
            // The same date with a broken time, and a broken date with a valid time.
            samples.append(String(text.prefix(11)) + "25:00:00Z")
            samples.append(String(text.prefix(8)) + "32" + String(text.dropFirst(10)))
            samples.append(String(text.prefix(19)) + ".1Z")
        }
        for text in samples {
            var copy = text
            let expected = ISO8601Timestamp.parseMillis(text)
            let actual = copy.withUTF8 { parser.parseMillis(UnsafeRawBufferPointer($0)) }
            #expect(actual == expected, "\(text)")
        }
    }

    /// The 24-byte form (`.mmmZ`) has its own fast path. Against the general path (the same
    /// text with a fourth fraction digit `0`, which means the same instant): random valid
    /// timestamps, and each of them with any one byte replaced by another.
    @Test func theThreeDigitFormAgreesWithTheGeneralPath() {
        var rng = SeededGenerator(seed: 24)
        let replacements = Array("0123456789:.-TZ /a\u{0}".utf8) + [0x2F, 0x3A, 0x80, 0xFF]
        func general(_ text: [UInt8]) -> Int64? {
            var longer = text
            longer.insert(UInt8(ascii: "0"), at: 23)
            return longer.withUnsafeBytes { ISO8601Timestamp.parseMillis($0) }
        }
        var parser = ISO8601TimestampParser()
        for _ in 0..<300 {
            let millis = Int64(rng.next() % 400_000_000_000_000) - 60_000_000_000_000
            var text: [UInt8] = []
            ISO8601Timestamp.format(millis: millis, into: &text)
            guard text.count == 24 else { continue } // years 0...9999 only
            #expect(text.withUnsafeBytes { ISO8601Timestamp.parseMillis($0) } == millis)
            #expect(text.withUnsafeBytes { parser.parseMillis($0) } == millis)
            for _ in 0..<20 {
                var bad = text
                bad[Int(rng.next() % 24)] = replacements[Int(rng.next() % UInt64(replacements.count))]
                let expected = general(bad)
                #expect(bad.withUnsafeBytes { ISO8601Timestamp.parseMillis($0) } == expected, "\(String(decoding: bad, as: UTF8.self))")
                #expect(bad.withUnsafeBytes { parser.parseMillis($0) } == expected)
            }
        }
    }
}
