/// Builds NDJSON output directly into a byte buffer, without Foundation.
///
/// Sinks write millions of small objects per second, so every value is
/// written as bytes straight into the buffer: integers and fixed-point decimals
/// are converted digit by digit, strings are escaped in bulk runs, and the only
/// allocation is the occasional growth of the buffer (reuse one writer and call
/// `removeAll()` to avoid even that). The buffer is the writer's own rather than
/// an `[UInt8]`: appending to an array checked uniqueness and capacity on every
/// byte and took a generic path for runs, several times the cost of the writes. Commas between members and elements are inserted
/// automatically; keys and values must alternate inside objects.
///
/// ```swift
/// var writer = JSONWriter()
/// writer.beginObject()
/// writer.key("creator_id"); writer.string("c-42")
/// writer.key("revenue"); writer.fixed(108.491, decimals: 2)
/// writer.endObject()
/// writer.newline()          // {"creator_id":"c-42","revenue":108.49}\n
/// ```
public struct JSONWriter {
    /// The output buffer. A class so the writer can grow it in place; copied before a
    /// write when shared, so `JSONWriter` keeps value semantics.
    private final class Storage {
        var base: UnsafeMutablePointer<UInt8>
        var count = 0
        var capacity: Int

        init(capacity: Int) {
            self.capacity = max(capacity, 64)
            base = .allocate(capacity: self.capacity)
        }

        deinit { base.deallocate() }

        func copy() -> Storage {
            let other = Storage(capacity: capacity)
            other.base.update(from: base, count: count)
            other.count = count
            return other
        }

        func grow(toAtLeast needed: Int) {
            var newCapacity = capacity * 2
            while newCapacity < needed { newCapacity *= 2 }
            let fresh = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
            fresh.update(from: base, count: count)
            base.deallocate()
            base = fresh
            capacity = newCapacity
        }
    }

    private var storage: Storage

    /// The output so far (a copy; see ``withBytes(_:)`` to read it in place).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage.base, count: storage.count)) }

    /// The number of bytes written.
    public var count: Int { storage.count }

    /// Whether nothing has been written.
    public var isEmpty: Bool { storage.count == 0 }

    /// Calls `body` with the output so far, in place.
    public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: storage.count))
    }

    /// Deepest nesting of objects and arrays; bounded by the width of `hasValue`.
    public static let maximumDepth = 63

    /// Current nesting depth (0 = top level).
    private var depth = 0
    /// Bit `d` is set once the container at depth `d` has a member, so the next one needs a comma.
    private var hasValue: UInt64 = 0
    /// True between a key and its value: that value takes no comma.
    private var afterKey = false
    /// Remembers the last date written (consecutive timestamps nearly always share it).
    private var timestamps = ISO8601TimestampFormatter()

    /// Creates a writer whose buffer has room for `capacity` bytes.
    public init(capacity: Int = 4096) {
        storage = Storage(capacity: capacity)
    }

    /// Empties the output (keeping its storage) and resets the nesting state.
    public mutating func removeAll() {
        if isKnownUniquelyReferenced(&storage) {
            storage.count = 0
        } else {
            storage = Storage(capacity: storage.capacity)
        }
        depth = 0
        hasValue = 0
        afterKey = false
    }

    // MARK: - Structure

    /// Starts an object (as a value: after a key, in an array, or at top level).
    public mutating func beginObject() {
        open(UInt8(ascii: "{"))
    }

    /// Ends the innermost object.
    public mutating func endObject() {
        close(UInt8(ascii: "}"))
    }

    /// Starts an array.
    public mutating func beginArray() {
        open(UInt8(ascii: "["))
    }

    /// Ends the innermost array.
    public mutating func endArray() {
        close(UInt8(ascii: "]"))
    }

    /// Writes a member name given in the source; the next call must write its value.
    ///
    /// Inlined into the caller, so that for a literal name of 4 to 16 bytes (most member
    /// names) the test for bytes to escape reads constants and is folded away by the
    /// compiler: scanning each literal name at run time was about a third of the cost of
    /// writing a result record's members. Other names take the general path, which escapes.
    @inlinable @inline(__always)
    public mutating func key(_ name: StaticString) {
        guard name.hasPointerRepresentation else {
            // A literal of one Unicode scalar, stored as the scalar (no bytes to point at).
            name.withUTF8Buffer { writeKey(UnsafeRawBufferPointer($0)) }
            return
        }
        let count = name.utf8CodeUnitCount
        let source = UnsafeRawPointer(name.utf8Start)
        if count >= 4 && count <= 16 && !Self.shortTextNeedsEscape(source, count: count) {
            writePlainShortKey(source, count: count)
        } else {
            writeKey(UnsafeRawBufferPointer(start: source, count: count))
        }
    }

    /// Whether a text of 4 to 16 bytes holds a byte to escape: two overlapping loads, one test.
    @inlinable @inline(__always)
    static func shortTextNeedsEscape(_ p: UnsafeRawPointer, count: Int) -> Bool {
        let (head, tail) = shortTextWords(p, count: count)
        return escapeFlags(head) | escapeFlags(tail) != 0
    }

    /// A text of 4 to 16 bytes as two overlapping little-endian words, its first and last
    /// 8 bytes (under 8 bytes: its first and last 4, the upper halves filled with spaces,
    /// which need no escape).
    @inlinable @inline(__always)
    static func shortTextWords(_ p: UnsafeRawPointer, count: Int) -> (head: UInt64, tail: UInt64) {
        if count >= 8 {
            return (p.loadUnaligned(as: UInt64.self).littleEndian,
                    p.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self).littleEndian)
        }
        let spaces: UInt64 = 0x2020_2020_0000_0000
        return (UInt64(p.loadUnaligned(as: UInt32.self).littleEndian) | spaces,
                UInt64(p.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self).littleEndian) | spaces)
    }

    /// Writes `"name":` for a name of 4 to 16 bytes that needs no escape.
    @usableFromInline
    mutating func writePlainShortKey(_ source: UnsafeRawPointer, count: Int) {
        _ = writeShortText(source, count: count, colon: true, known: true)
        afterKey = true
    }

    /// Writes a member name of any length, escaped.
    @usableFromInline
    mutating func writeKey(_ name: UnsafeRawBufferPointer) {
        separatedString(name, colon: true)
        afterKey = true
    }

    /// Writes a member name from a runtime string (escaped like any string).
    @_disfavoredOverload
    public mutating func key(_ name: String) {
        Self.withUTF8(of: name) { separatedString($0, colon: true) }
        afterKey = true
    }

    /// Ends the current NDJSON record with `"\n"` and resets the comma state,
    /// so the next top-level value starts a fresh line.
    public mutating func newline() {
        precondition(depth == 0, "JSONWriter.newline() inside an open object or array")
        put(UInt8(ascii: "\n"))
        hasValue = 0
        afterKey = false
    }

    // MARK: - Values

    /// Writes a JSON string: `"` and `\` are escaped, control characters become
    /// `\n`, `\t`, `\r`, `\b`, `\f` or `\u00XX`, and other UTF-8 passes through.
    @_disfavoredOverload
    public mutating func string(_ value: String) {
        Self.withUTF8(of: value) { separatedString($0, colon: false) }
    }

    /// Writes a JSON string from a literal.
    public mutating func string(_ value: StaticString) {
        separatedString(UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount), colon: false)
    }

    /// Writes a JSON string from UTF-8 bytes (e.g. a field view from `JSONLineParser`)
    /// without creating a `String`. The bytes are escaped but not validated.
    public mutating func string(utf8 value: UnsafeRawBufferPointer) {
        separatedString(value, colon: false)
    }

    /// Writes `text`, JSON the caller already encoded (a record another writer produced), as
    /// one value, verbatim: the text is not checked.
    public mutating func encodedValue(_ text: String) {
        separate()
        Self.withUTF8(of: text) { putRaw($0) }
    }

    /// Writes an integer, digit by digit.
    public mutating func int(_ value: Int64) {
        writeDecimal(value, fractionDigits: 0)
    }

    /// Writes an integer.
    public mutating func int(_ value: Int) {
        int(Int64(value))
    }

    /// Writes `units` × 10^-`fractionDigits` exactly, with that many fraction digits and no
    /// exponent: `decimal(1234, fractionDigits: 3)` → `1.234`, `decimal(-5, fractionDigits: 3)`
    /// → `-0.005`. For amounts kept as integers (milliseconds written as seconds, cents as
    /// units): what ``fixed(_:decimals:)`` writes for their quotient as a double (while that
    /// is exact to the last digit), without the double's rounding, which costs several times
    /// as much.
    ///
    /// - Parameter fractionDigits: 0 to 18.
    public mutating func decimal(_ units: Int64, fractionDigits: Int) {
        precondition(fractionDigits >= 0 && fractionDigits <= 18, "JSONWriter.decimal supports 0...18 fraction digits")
        writeDecimal(units, fractionDigits: fractionDigits)
    }

    /// Writes `value` with exactly `decimals` fraction digits and no exponent,
    /// e.g. `fixed(108.491, decimals: 3)` → `108.491`, `fixed(-0.5, decimals: 0)` → `0`.
    ///
    /// Rounding is exact: the double's precise binary value is rounded to the
    /// nearest multiple of 10^-decimals, ties to even (as C's `printf("%.*f")`).
    /// A result of zero is written without a minus sign. Non-finite values are
    /// written as `null`, because JSON has no infinities or NaN.
    ///
    /// - Parameter decimals: 0 to 18.
    public mutating func fixed(_ value: Double, decimals: Int) {
        precondition(decimals >= 0 && decimals <= 18, "JSONWriter.fixed supports 0...18 decimals")
        separate()
        guard value.isFinite else {
            appendLiteral("null")
            return
        }
        let magnitude = value.magnitude
        if magnitude >= 0x1p53 {
            // Integer-valued; its exact digits may exceed 128 bits.
            if value < 0 { put(UInt8(ascii: "-")) }
            appendExactInteger(magnitude)
            if decimals > 0 {
                put(UInt8(ascii: "."))
                for _ in 0..<decimals { put(UInt8(ascii: "0")) }
            }
            return
        }
        // magnitude = m * 2^e exactly; scale by 10^decimals in 128-bit integers
        // (m < 2^53, 10^18 < 2^60) and round the shifted-out bits.
        var m = UInt128(magnitude.significandBitPattern)
        var e = -1074
        if magnitude.exponentBitPattern != 0 {
            m |= UInt128(1) << 52
            e = Int(magnitude.exponentBitPattern) - 1075
        }
        let product = m * Self.powerOf10(decimals)
        var scaled: UInt128
        if e >= 0 {
            scaled = product << e
        } else if -e >= 128 {
            scaled = 0 // product < 2^113 is below half a unit
        } else {
            let shift = -e
            scaled = product >> shift
            let remainder = product & ((UInt128(1) << shift) - 1)
            let half = UInt128(1) << (shift - 1)
            if remainder > half || (remainder == half && scaled & 1 == 1) {
                scaled += 1
            }
        }
        if value < 0 && scaled != 0 { put(UInt8(ascii: "-")) }
        appendDigits(scaled, minimumDigits: decimals + 1, pointBefore: decimals)
    }

    /// Writes the shortest decimal that reads back as `value` (Swift's own
    /// formatting, which JSON parsers accept, e.g. `1e-05`), or `null` for
    /// infinities and NaN.
    public mutating func double(_ value: Double) {
        separate()
        guard value.isFinite else {
            appendLiteral("null")
            return
        }
        Self.withUTF8(of: value.description) { putRaw($0) }
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        appendLiteral(value ? "true" : "false")
    }

    /// Writes `null`.
    public mutating func null() {
        separate()
        appendLiteral("null")
    }

    /// Writes a quoted `YYYY-MM-DDTHH:MM:SS.mmmZ` timestamp (see `ISO8601Timestamp`).
    public mutating func timestamp(millis: Int64) {
        let text = reserveSeparated(ISO8601Timestamp.fixedLength + 2)
        if let n = timestamps.format(millis: millis, to: text + 1) {
            text[0] = UInt8(ascii: "\"")
            text[n + 1] = UInt8(ascii: "\"")
            commit(n + 2)
        } else {
            var wide: [UInt8] = [UInt8(ascii: "\"")]
            ISO8601Timestamp.format(millis: millis, into: &wide)
            wide.append(UInt8(ascii: "\""))
            wide.withUnsafeBytes { putRaw($0) }
        }
    }

    // MARK: - Internals

    /// Emits the comma owed before a new member or element, unless a key was just written.
    @inline(__always)
    private mutating func separate() {
        if owesComma() { put(UInt8(ascii: ",")) }
    }

    /// Room for `n` bytes after the comma owed before a new member or element, which is
    /// written and committed: one capacity check for both (keys and short values are most
    /// of an output record, and each separate write checked the buffer's uniqueness and
    /// capacity again).
    @inline(__always)
    private mutating func reserveSeparated(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        let comma = owesComma()
        let out = reserve(n &+ 1)
        guard comma else { return out }
        out.pointee = UInt8(ascii: ",")
        commit(1)
        return out + 1
    }

    /// Writes `units` × 10^-`fractionDigits` (0 to 18) in place, from its last digit: what
    /// ``int(_:)`` (no fraction digits) and ``decimal(_:fractionDigits:)`` write.
    @inline(__always)
    private mutating func writeDecimal(_ units: Int64, fractionDigits: Int) {
        // A sign, up to 19 digits (18 of them fraction digits), a point: 21 bytes at most.
        let out = reserveSeparated(21)
        let sign = units < 0 ? 1 : 0
        if units < 0 { out.pointee = UInt8(ascii: "-") }
        var magnitude = units.magnitude
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        // At least one digit before the point: an amount under one gets a leading zero.
        let integerDigits = max(digits - fractionDigits, 1)
        let length = sign + integerDigits + (fractionDigits > 0 ? 1 + fractionDigits : 0)
        var index = length - 1
        for _ in 0..<fractionDigits {
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
            index -= 1
        }
        if fractionDigits > 0 {
            out[index] = UInt8(ascii: ".")
            index -= 1
        }
        repeat {
            out[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
            index -= 1
        } while magnitude != 0
        commit(length)
    }

    /// Whether a comma is owed before a new member or element (and records the value).
    @inline(__always)
    private mutating func owesComma() -> Bool {
        if afterKey {
            afterKey = false
            return false
        }
        let bit: UInt64 = 1 << UInt64(depth)
        if hasValue & bit != 0 { return true }
        hasValue |= bit
        return false
    }

    private mutating func open(_ bracket: UInt8) {
        separate()
        precondition(depth < Self.maximumDepth, "JSONWriter nesting deeper than \(Self.maximumDepth)")
        put(bracket)
        depth += 1
        hasValue &= ~(1 << UInt64(depth))
    }

    private mutating func close(_ bracket: UInt8) {
        precondition(depth > 0 && !afterKey, "JSONWriter: unbalanced close, or a key without a value")
        depth -= 1
        put(bracket)
    }

    private mutating func appendLiteral(_ literal: StaticString) {
        putRaw(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Runs `body` on a string's UTF-8 bytes without copying native strings.
    private static func withUTF8(of text: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        if text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) != nil {
            return
        }
        var copy = text
        copy.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `"…"` with JSON escapes, copying unescaped runs in bulk.
    /// Room for `n` more bytes: the address to write them at (commit them with `commit(_:)`).
    @inline(__always)
    private mutating func reserve(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        let s = storage
        if s.count &+ n > s.capacity { s.grow(toAtLeast: s.count &+ n) }
        return s.base + s.count
    }

    @inline(__always)
    private func commit(_ n: Int) {
        storage.count &+= n
    }

    @inline(__always)
    private mutating func put(_ byte: UInt8) {
        reserve(1).pointee = byte
        commit(1)
    }

    @inline(__always)
    private mutating func putRaw(_ raw: UnsafeRawBufferPointer) {
        guard let source = raw.baseAddress, raw.count > 0 else { return }
        UnsafeMutableRawPointer(reserve(raw.count)).copyMemory(from: source, byteCount: raw.count)
        commit(raw.count)
    }

    @inline(__always)
    private mutating func putRaw(_ buffer: UnsafeBufferPointer<UInt8>) {
        putRaw(UnsafeRawBufferPointer(buffer))
    }

    @inline(__always)
    private mutating func putRaw(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        putRaw(UnsafeRawBufferPointer(buffer))
    }

    /// Writes the comma owed, `text` as a quoted JSON string, and a colon after a key, with
    /// one capacity check for the worst case (every byte escaped as `\u00XX`).
    @inline(__always)
    private mutating func separatedString(_ text: UnsafeRawBufferPointer, colon: Bool) {
        let count = text.count
        if count >= 4 && count <= 16, let p = text.baseAddress, writeShortText(p, count: count, colon: colon) { return }
        let start = reserveSeparated(count &* 6 &+ 3)
        var out = start
        out.pointee = UInt8(ascii: "\"")
        out += 1
        let first = Self.firstByteToEscape(text, from: 0)
        if first == count {
            Self.copyShort(text, to: out)
            out += count
        } else {
            out = Self.escaped(text, firstEscape: first, to: out)
        }
        out.pointee = UInt8(ascii: "\"")
        out += 1
        if colon {
            out.pointee = UInt8(ascii: ":")
            out += 1
        }
        commit(out - start)
    }

    /// ``separatedString(_:colon:)`` for a text of 4 to 16 bytes that needs no escape, as
    /// two overlapping loads, one test and two overlapping stores; returns false (having
    /// written nothing) when a byte needs escaping. Most member names and ids of output
    /// records are such texts, and the general path (a loop over words, a packed tail) cost
    /// about 170 instructions per member name.
    @inline(__always)
    private mutating func writeShortText(_ p: UnsafeRawPointer, count: Int, colon: Bool, known plain: Bool = false) -> Bool {
        let wide = count >= 8
        let (head, tail) = Self.shortTextWords(p, count: count)
        guard plain || Self.escapeFlags(head) | Self.escapeFlags(tail) == 0 else { return false }
        let out = UnsafeMutableRawPointer(reserveSeparated(count &+ 3))
        out.storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        if wide {
            (out + 1).storeBytes(of: head.littleEndian, as: UInt64.self)
            (out + 1 + count - 8).storeBytes(of: tail.littleEndian, as: UInt64.self)
        } else {
            (out + 1).storeBytes(of: UInt32(truncatingIfNeeded: head).littleEndian, as: UInt32.self)
            (out + 1 + count - 4).storeBytes(of: UInt32(truncatingIfNeeded: tail).littleEndian, as: UInt32.self)
        }
        (out + 1 + count).storeBytes(of: UInt8(ascii: "\""), as: UInt8.self)
        guard colon else {
            commit(count &+ 2)
            return true
        }
        (out + 2 + count).storeBytes(of: UInt8(ascii: ":"), as: UInt8.self)
        commit(count &+ 3)
        return true
    }

    /// Copies `text` to `out`: byte by byte under 4 bytes (no `memcpy` call for the
    /// shortest names and ids), else with `memcpy`. Texts of 4 to 16 bytes without escapes
    /// never get here (``writeShortText(_:count:colon:)``).
    @inline(__always)
    private static func copyShort(_ text: UnsafeRawBufferPointer, to out: UnsafeMutablePointer<UInt8>) {
        let count = text.count
        guard let source = text.baseAddress, count > 0 else { return }
        let target = UnsafeMutableRawPointer(out)
        if count < 4 {
            for k in 0..<count { target.storeBytes(of: source.load(fromByteOffset: k, as: UInt8.self), toByteOffset: k, as: UInt8.self) }
        } else {
            target.copyMemory(from: source, byteCount: count)
        }
    }

    /// Writes `text` to `out` with its special bytes escaped (`firstEscape` is the first of
    /// them) and returns the end.
    private static func escaped(_ text: UnsafeRawBufferPointer, firstEscape: Int, to start: UnsafeMutablePointer<UInt8>)
        -> UnsafeMutablePointer<UInt8> {
        let count = text.count
        var out = start
        var runStart = 0
        var index = firstEscape
        while true {
            if runStart != 0 { index = Self.firstByteToEscape(text, from: runStart) }
            if runStart < index {
                UnsafeMutableRawPointer(out).copyMemory(from: text.baseAddress! + runStart, byteCount: index &- runStart)
                out += index &- runStart
            }
            if index == count { break }
            runStart = index &+ 1
            let byte = text[index]
            out[0] = UInt8(ascii: "\\")
            switch byte {
            case UInt8(ascii: "\""): out[1] = UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): out[1] = UInt8(ascii: "\\")
            case 0x0A: out[1] = UInt8(ascii: "n")
            case 0x09: out[1] = UInt8(ascii: "t")
            case 0x0D: out[1] = UInt8(ascii: "r")
            case 0x08: out[1] = UInt8(ascii: "b")
            case 0x0C: out[1] = UInt8(ascii: "f")
            default:
                let hex: StaticString = "0123456789abcdef"
                out[1] = UInt8(ascii: "u")
                out[2] = UInt8(ascii: "0")
                out[3] = UInt8(ascii: "0")
                out[4] = hex.utf8Start[Int(byte >> 4)]
                out[5] = hex.utf8Start[Int(byte & 0xF)]
                out += 4
            }
            out += 2
        }
        return out
    }

    /// The index of the first byte at or after `start` that must be escaped (a quote, a
    /// backslash or a control character), or `text.count`.
    ///
    /// Eight bytes per step in a 64-bit word: a per-byte test can flag a byte spuriously
    /// only above a byte flagged correctly (a borrow carries upward), so the lowest flag
    /// is exact. Bytes of 0x80 and above (UTF-8) are never flagged.
    @inline(__always)
    private static func firstByteToEscape(_ text: UnsafeRawBufferPointer, from start: Int) -> Int {
        let count = text.count
        var i = start
        while i + 8 <= count {
            let flags = escapeFlags(text.loadUnaligned(fromByteOffset: i, as: UInt64.self).littleEndian)
            if flags != 0 { return i + flags.trailingZeroBitCount >> 3 }
            i += 8
        }
        if i >= count { return count }
        // The last 1-7 bytes, moved to the bottom of a word before testing them (a byte
        // below `i` may be one just escaped, whose flag could spill into them): from the
        // word that ends at `count` when there is one, else packed from the text. The
        // zeros shifted in on top would be flagged; the mask drops them.
        let n = count - i
        let p = text.baseAddress!
        var v: UInt64
        if count >= 8 {
            v = p.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self).littleEndian >> UInt64(8 * (8 - n))
        } else {
            // The whole text, packed as `StableHash` packs a key's tail (in RunnelCore, which
            // this module does not depend on).
            if count >= 4 {
                v = UInt64(p.loadUnaligned(as: UInt32.self).littleEndian)
                    | UInt64(p.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self).littleEndian) << UInt64(8 * (count - 4))
            } else {
                v = UInt64(p.load(as: UInt8.self))
                if count >= 2 { v |= UInt64(p.load(fromByteOffset: 1, as: UInt8.self)) << 8 }
                if count == 3 { v |= UInt64(p.load(fromByteOffset: 2, as: UInt8.self)) << 16 }
            }
            v >>= UInt64(8 * i)
        }
        let flags = escapeFlags(v) & (UInt64.max >> UInt64(8 * (8 - n)))
        return flags == 0 ? count : i + flags.trailingZeroBitCount >> 3
    }

    /// The high bit of each byte of `v` (little-endian) that may need escaping: a quote, a
    /// backslash or a control character (see ``firstByteToEscape(_:from:)`` for why only
    /// the lowest flag is exact).
    @inline(__always)
    @inlinable
    static func escapeFlags(_ v: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = v ^ (ones &* 0x22)
        let backslash = v ^ (ones &* 0x5C)
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (v &- ones &* 0x20) & ~v) & (ones &* 0x80)
    }

    private static func powerOf10(_ n: Int) -> UInt128 {
        var result: UInt64 = 1
        for _ in 0..<n { result &*= 10 }
        return UInt128(result)
    }

    /// Appends the decimal digits of `value`, zero-padded to `minimumDigits`,
    /// with a `.` inserted before the last `pointBefore` digits (if nonzero).
    /// Digits are produced on the stack, so nothing is allocated.
    private mutating func appendDigits(_ value: UInt128, minimumDigits: Int, pointBefore: Int = 0) {
        // UInt128 holds at most 39 digits; 18 decimals + 1 add at most 19 padding digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 64) { digits in
            var index = digits.count
            var rest = value
            // Peel 19 digits at a time with UInt64 arithmetic once the value fits.
            while rest > UInt128(UInt64.max) {
                let (quotient, remainder) = rest.quotientAndRemainder(dividingBy: 10_000_000_000_000_000_000)
                var low = UInt64(remainder)
                for _ in 0..<19 {
                    index -= 1
                    digits[index] = UInt8(ascii: "0") &+ UInt8(low % 10)
                    low /= 10
                }
                rest = quotient
            }
            var small = UInt64(rest)
            repeat {
                index -= 1
                digits[index] = UInt8(ascii: "0") &+ UInt8(small % 10)
                small /= 10
            } while small != 0
            while digits.count - index < minimumDigits {
                index -= 1
                digits[index] = UInt8(ascii: "0")
            }
            if pointBefore > 0 {
                let integerEnd = digits.count - pointBefore
                putRaw(UnsafeBufferPointer(rebasing: digits[index..<integerEnd]))
                put(UInt8(ascii: "."))
                putRaw(UnsafeBufferPointer(rebasing: digits[integerEnd...]))
            } else {
                putRaw(UnsafeBufferPointer(rebasing: digits[index...]))
            }
        }
    }

    /// Appends the exact decimal expansion of an integer-valued double ≥ 2^53
    /// (up to 309 digits), using base-10^9 limbs on the stack.
    private mutating func appendExactInteger(_ magnitude: Double) {
        let base: UInt64 = 1_000_000_000
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 40) { limbs in
            // Little-endian limbs of m, then doubled e times (in steps of up to 2^32).
            var m = (UInt64(1) << 52) | magnitude.significandBitPattern
            var count = 0
            while m != 0 {
                limbs[count] = m % base
                m /= base
                count += 1
            }
            var exponent = Int(magnitude.exponentBitPattern) - 1075
            while exponent > 0 {
                let step = min(exponent, 32)
                exponent -= step
                var carry: UInt64 = 0
                for i in 0..<count {
                    let product = (limbs[i] << UInt64(step)) + carry
                    limbs[i] = product % base
                    carry = product / base
                }
                while carry != 0 {
                    limbs[count] = carry % base
                    carry /= base
                    count += 1
                }
            }
            appendDigits(UInt128(limbs[count - 1]), minimumDigits: 1)
            for i in stride(from: count - 2, through: 0, by: -1) {
                appendDigits(UInt128(limbs[i]), minimumDigits: 9)
            }
        }
    }
}
