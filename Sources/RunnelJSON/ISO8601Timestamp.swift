/// Fixed-format UTC timestamps, `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`, converted
/// to and from milliseconds since the Unix epoch.
///
/// A hand-written parser instead of a formatter: event streams carry millions
/// of timestamps per second, and a strict fixed layout can be validated and
/// converted with a few dozen integer operations and no allocation. Only the
/// single layout above is accepted, deliberately: no offsets other than `Z`,
/// no lowercase `t`/`z`, no leap second, no week or ordinal dates.
/// Dates use the proleptic Gregorian calendar for years 0000–9999.
public enum ISO8601Timestamp {
    /// Milliseconds per day.
    @usableFromInline static let millisPerDay: Int64 = 86_400_000

    /// Parses exactly `YYYY-MM-DDTHH:MM:SS[.f]Z`, where the optional fraction
    /// has 1 to 9 digits and is truncated (not rounded) to milliseconds.
    ///
    /// Validates month 1–12, day within the month (29 February only in leap
    /// years), hour 0–23, minute 0–59 and second 0–59 (a leap second `60` is
    /// rejected, because epoch milliseconds cannot represent it).
    ///
    /// - Returns: Milliseconds since 1970-01-01T00:00:00Z (negative before),
    ///   or nil if `bytes` is not exactly such a timestamp.
    @inlinable
    public static func parseMillis(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard hasValidLength(bytes.count), let days = parseDays(bytes), let millisOfDay = parseMillisOfDay(bytes) else {
            return nil
        }
        return days * millisPerDay + millisOfDay
    }

    /// Whether a timestamp can have this many bytes: 20 without a fraction; with `.f`, 22 to 30.
    @inlinable
    static func hasValidLength(_ count: Int) -> Bool {
        count == 20 || (count >= 22 && count <= 30)
    }

    /// The day number (days since 1970-01-01) of the date `YYYY-MM-DD` in the first ten bytes,
    /// or nil if it is not a valid date.
    @inlinable
    static func parseDays(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              let year = digits(bytes, 0, 4), let month = digits(bytes, 5, 2), let day = digits(bytes, 8, 2),
              month >= 1 && month <= 12, day >= 1 && day <= daysInMonth(year: year, month: month)
        else { return nil }
        return daysFromCivil(year: year, month: month, day: day)
    }

    /// Milliseconds since midnight of `THH:MM:SS[.f]Z` from byte 10 on (the length already
    /// checked by ``hasValidLength(_:)``), or nil if it is not a valid time.
    @inlinable
    static func parseMillisOfDay(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let count = bytes.count
        if count == fixedLength { return parseFixedMillisOfDay(bytes) }
        guard bytes[10] == UInt8(ascii: "T"), bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              bytes[count - 1] == UInt8(ascii: "Z"),
              let hour = digits(bytes, 11, 2), let minute = digits(bytes, 14, 2), let second = digits(bytes, 17, 2),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var millis = 0
        if count > 20 {
            guard bytes[19] == UInt8(ascii: ".") else { return nil }
            // Fraction digits occupy [20, count - 1); only the first three count.
            let fractionDigits = count - 21
            guard let fraction = digits(bytes, 20, fractionDigits) else { return nil }
            var scale = 1
            for _ in 0..<max(fractionDigits - 3, 0) { scale &*= 10 }
            millis = fractionDigits >= 3 ? fraction / scale : fraction * (fractionDigits == 1 ? 100 : 10)
        }
        return Int64(hour * 3600 + minute * 60 + second) * 1000 + Int64(millis)
    }

    /// ``parseMillisOfDay(_:)`` for the common form `…THH:MM:SS.mmmZ` (``fixedLength``
    /// bytes, three fraction digits): the nine digits read without bounds checks and tested
    /// together, rather than one checked subscript and loop step each (every event's
    /// timestamp goes through here).
    @inlinable
    static func parseFixedMillisOfDay(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        let p = bytes.baseAddress!
        @inline(__always) func byte(_ i: Int) -> UInt8 { p.load(fromByteOffset: i, as: UInt8.self) }
        @inline(__always) func digit(_ i: Int) -> Int { Int(byte(i) &- UInt8(ascii: "0")) }
        guard byte(10) == UInt8(ascii: "T"), byte(13) == UInt8(ascii: ":"), byte(16) == UInt8(ascii: ":"),
              byte(19) == UInt8(ascii: "."), byte(23) == UInt8(ascii: "Z") else { return nil }
        let h1 = digit(11), h2 = digit(12), m1 = digit(14), m2 = digit(15), s1 = digit(17), s2 = digit(18)
        let f1 = digit(20), f2 = digit(21), f3 = digit(22)
        // Each is 0...255 (the subtraction wraps in UInt8): a digit is below 10.
        guard h1 < 10, h2 < 10, m1 < 10, m2 < 10, s1 < 10, s2 < 10, f1 < 10, f2 < 10, f3 < 10 else { return nil }
        let hour = h1 &* 10 &+ h2, minute = m1 &* 10 &+ m2, second = s1 &* 10 &+ s2
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        return Int64((hour &* 3600 &+ minute &* 60 &+ second) &* 1000 &+ f1 &* 100 &+ f2 &* 10 &+ f3)
    }

    /// Writes `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (always three fraction
    /// digits) to the end of `output`, without allocating beyond its growth.
    ///
    /// Years 0000–9999 round-trip through `parseMillis`. Outside that range
    /// the year is written with as many digits as it needs (and a leading
    /// `-` before year 0), which `parseMillis` rejects by design.
    public static func format(millis: Int64, into output: inout [UInt8]) {
        let written: Int? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: fixedLength) { text in
            guard let n = format(millis: millis, to: text.baseAddress!) else { return nil }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: text[0..<n]))
            return n
        }
        if written == nil {
            let (days, msOfDay) = floorDivide(millis, millisPerDay)
            let (year, month, day) = civilFromDays(days)
            formatWideYear(year, month: month, day: day, msOfDay: Int(msOfDay), into: &output)
        }
    }

    /// Bytes of a timestamp in years 0 through 9999: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public static let fixedLength = 24

    /// Writes `millis` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (``fixedLength`` bytes) at `text`;
    /// returns the bytes written, or nil (writing nothing) for years outside 0...9999,
    /// which ``format(millis:into:)`` writes in the extended form.
    public static func format(millis: Int64, to text: UnsafeMutablePointer<UInt8>) -> Int? {
        let (days, msOfDay) = floorDivide(millis, millisPerDay)
        guard formatDate(days: days, to: text) else { return nil }
        formatTimeOfDay(Int(msOfDay), to: text)
        return fixedLength
    }

    /// Writes `YYYY-MM-DD` of day `days` at `text`; false (writing nothing) for years
    /// outside 0...9999.
    static func formatDate(days: Int64, to text: UnsafeMutablePointer<UInt8>) -> Bool {
        let (year, month, day) = civilFromDays(days)
        if year < 0 || year > 9999 { return false }
        putDigits(Int(year), at: text, width: 4)
        text[4] = UInt8(ascii: "-")
        putDigits(month, at: text + 5, width: 2)
        text[7] = UInt8(ascii: "-")
        putDigits(day, at: text + 8, width: 2)
        return true
    }

    /// Writes `THH:MM:SS.mmmZ` of `ms` milliseconds after midnight at `text + 10`.
    static func formatTimeOfDay(_ ms: Int, to text: UnsafeMutablePointer<UInt8>) {
        // Two digits at a time from a table: result records carry two timestamps each,
        // and digit by digit (a division per digit) was most of the cost of writing one.
        let seconds = ms / 1000
        let minutes = seconds / 60
        text[10] = UInt8(ascii: "T")
        putTwoDigits(minutes / 60, at: text + 11)
        text[13] = UInt8(ascii: ":")
        putTwoDigits(minutes % 60, at: text + 14)
        text[16] = UInt8(ascii: ":")
        putTwoDigits(seconds % 60, at: text + 17)
        text[19] = UInt8(ascii: ".")
        let fraction = ms % 1000
        text[20] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction / 100)
        putTwoDigits(fraction % 100, at: text + 21)
        text[23] = UInt8(ascii: "Z")
    }

    /// `00` to `99`, two bytes each (a literal: no lazily initialized global to check).
    private static var digitPairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }

    /// Writes `value` (0 to 99) as two decimal digits.
    @inline(__always)
    static func putTwoDigits(_ value: Int, at text: UnsafeMutablePointer<UInt8>) {
        let pair = UnsafeRawPointer(digitPairs.utf8Start).loadUnaligned(fromByteOffset: 2 &* value, as: UInt16.self)
        UnsafeMutableRawPointer(text).storeBytes(of: pair, as: UInt16.self)
    }

    /// Writes the last `width` decimal digits of `value` (non-negative), zero-padded.
    @inline(__always)
    static func putDigits(_ value: Int, at text: UnsafeMutablePointer<UInt8>, width: Int) {
        var rest = value
        var index = width - 1
        while index >= 0 {
            text[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
            rest /= 10
            index -= 1
        }
    }

    /// The rare out-of-range path of `format`: years below 0 get a `-`, years
    /// above 9999 as many digits as they need.
    static func formatWideYear(_ year: Int64, month: Int, day: Int, msOfDay ms: Int, into output: inout [UInt8]) {
        if year < 0 { output.append(UInt8(ascii: "-")) }
        let magnitude = year.magnitude
        if magnitude > 9999 {
            appendDecimal(magnitude, into: &output)
        } else {
            appendPadded(Int(magnitude), width: 4, into: &output)
        }
        output.append(UInt8(ascii: "-"))
        appendPadded(month, width: 2, into: &output)
        output.append(UInt8(ascii: "-"))
        appendPadded(day, width: 2, into: &output)
        output.append(UInt8(ascii: "T"))
        appendPadded(ms / 3_600_000, width: 2, into: &output)
        output.append(UInt8(ascii: ":"))
        appendPadded(ms / 60_000 % 60, width: 2, into: &output)
        output.append(UInt8(ascii: ":"))
        appendPadded(ms / 1000 % 60, width: 2, into: &output)
        output.append(UInt8(ascii: "."))
        appendPadded(ms % 1000, width: 3, into: &output)
        output.append(UInt8(ascii: "Z"))
    }

    /// `format(millis:into:)` as a `String`, for logs, tests and non-hot paths.
    public static func string(millis: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        format(millis: millis, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a `String`; convenience for tests and configuration, not for hot paths.
    public static func parseMillis(_ text: String) -> Int64? {
        var copy = text
        return copy.withUTF8 { parseMillis(UnsafeRawBufferPointer($0)) }
    }

    // MARK: - Calendar arithmetic

    /// Days from 1970-01-01 to the given proleptic Gregorian date.
    ///
    /// Howard Hinnant's `days_from_civil`: shifting the year to start in March
    /// puts the leap day last, so each 400-year era has a closed form.
    @inlinable
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400                                      // [0, 399]
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1  // [0, 365]
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear  // [0, 146096]
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
    static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097                                           // [0, 146096]
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365  // [0, 399]
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // [0, 365]
        let mp = (5 * dayOfYear + 2) / 153                                          // [0, 11]
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Days in `month` of `year`, with Gregorian leap years.
    @inlinable
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2:
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
            return leap ? 29 : 28
        case 4, 6, 9, 11:
            return 30
        default:
            return 31
        }
    }

    /// The decimal value of `length` ASCII digits at `start`, or nil if any byte is not a digit.
    @inlinable
    static func digits(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> Int? {
        var value = 0
        for index in start..<(start + length) {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            value = value &* 10 &+ Int(digit)
        }
        return value
    }

    /// Floor division and non-negative remainder (Swift's `/` truncates toward zero).
    static func floorDivide(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }

    /// Appends `value` (non-negative) with leading zeros to at least `width` digits.
    static func appendPadded(_ value: Int, width: Int, into output: inout [UInt8]) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            output.append(UInt8(ascii: "0") &+ UInt8(rest / divisor % 10))
            rest %= divisor
            divisor /= 10
        }
    }

    /// Appends the decimal digits of `value` without padding.
    static func appendDecimal(_ value: UInt64, into output: inout [UInt8]) {
        var divisor: UInt64 = 1
        while value / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            output.append(UInt8(ascii: "0") &+ UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
