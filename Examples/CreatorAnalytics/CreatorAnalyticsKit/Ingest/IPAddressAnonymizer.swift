#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Truncates IP addresses before anything stores them: IPv4 to its /24 network
/// (`203.0.113.77` → `203.0.113.0`), IPv6 to its /48 (`2001:db8:85a3:8d3::1` →
/// `2001:db8:85a3::`), as common analytics anonymization does.
public enum IPAddressAnonymizer {
    /// The truncated address, or nil when `address` is not an IPv4 or IPv6 address.
    public static func anonymize(_ address: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            // s_addr is in network byte order: the first octets come first in memory.
            withUnsafeMutableBytes(of: &v4) { $0[3] = 0 }
            return withUnsafeBytes(of: &v4) { format(AF_INET, $0, length: Int(INET_ADDRSTRLEN)) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            withUnsafeMutableBytes(of: &v6) { bytes in for i in 6..<16 { bytes[i] = 0 } }
            return withUnsafeBytes(of: &v6) { format(AF_INET6, $0, length: Int(INET6_ADDRSTRLEN)) }
        }
        return nil
    }

    private static func format(_ family: Int32, _ address: UnsafeRawBufferPointer, length: Int) -> String? {
        var text = [CChar](repeating: 0, count: length)
        guard inet_ntop(family, address.baseAddress, &text, socklen_t(length)) != nil else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A valid event line (a JSON object) with the value of every `"ip_address"` key
    /// truncated, the rest of the line byte for byte as it was: what the collector stores.
    ///
    /// The key is found by its exact bytes followed by `:`. Inside a JSON string a quote is
    /// escaped, so the bytes `"ip_address":` occur only as that key — or at the end of a key
    /// that ends in `\"ip_address` (then that key's value is truncated too: more
    /// anonymization, never less). A value that is not a
    /// plain string (null, a number) is kept; a string that is not an address becomes
    /// `"invalid"`. A key written with escapes (`"ip\u005faddress"`) is not found this way:
    /// such lines go through ``anonymizeLine(_:)``.
    public static func anonymizeEventLine(_ line: String) -> String {
        var out: [UInt8] = []
        appendAnonymizedEventLine(line, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``anonymizeEventLine(_:)``'s result to `out`, without making a `String` of it
    /// (the collector builds a log frame this way).
    public static func appendAnonymizedEventLine(_ line: String, to out: inout [UInt8]) {
        var line = line
        line.withUTF8 { bytes in
            // The key and `\u` escapes (which could spell the key otherwise) are found with
            // memchr; a match not followed by a colon (a string value) is skipped.
            guard let base = bytes.baseAddress else { return }
            let n = bytes.count
            var escaped = false
            var from = 0
            while from < n, let slash = memchr(base + from, Int32(UInt8(ascii: "\\")), n - from) {
                let at = UnsafeRawPointer(slash) - UnsafeRawPointer(base)
                if at + 1 < n, bytes[at + 1] == UInt8(ascii: "u") {
                    escaped = true
                    break
                }
                from = at + 2
            }
            var values: [Range<Int>] = []
            from = 0
            while !escaped, from < n, let quote = memchr(base + from, Int32(UInt8(ascii: "\"")), n - from) {
                let at = UnsafeRawPointer(quote) - UnsafeRawPointer(base)
                if let value = valueOfIPKey(bytes, at: at) {
                    values.append(value)
                    from = value.upperBound + 1
                } else {
                    from = at + 1
                }
            }
            if escaped {
                out.append(contentsOf: anonymizeLine(String(decoding: bytes, as: UTF8.self)).utf8)
                return
            }
            var at = 0
            for value in values {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[at..<value.lowerBound]))
                let address = String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self)
                out.append(contentsOf: (anonymize(address) ?? "invalid").utf8)
                at = value.upperBound
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[at...]))
        }
    }

    /// If the bytes at `start` (a quote) are the key `"ip_address"`, a colon and a string
    /// without escapes, the range of that string's contents.
    private static func valueOfIPKey(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Range<Int>? {
        let key: StaticString = #""ip_address""#
        let length = key.utf8CodeUnitCount
        guard start + length < bytes.count,
              memcmp(bytes.baseAddress! + start, key.utf8Start, length) == 0 else { return nil }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        var j = start + length
        while j < bytes.count, isSpace(bytes[j]) { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: ":") else { return nil }
        j += 1
        while j < bytes.count, isSpace(bytes[j]) { j += 1 }
        guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else { return nil }
        let valueStart = j + 1
        var end = valueStart
        while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
        guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return nil }
        return valueStart..<end
    }

    /// A raw event line with its `ip_address` truncated, for storage (dead letters).
    ///
    /// A line that is a JSON object is rewritten with the truncated address (an address that
    /// is not one becomes `"invalid"`; the other fields keep their values, not necessarily
    /// their order or spacing). Any other line — malformed JSON, which cannot be rewritten
    /// reliably — has every word that is an IP address truncated in place.
    public static func anonymizeLine(_ line: String) -> String {
        if let data = line.data(using: .utf8),
           var object = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) as? [String: Any] {
            guard let value = object["ip_address"], !(value is NSNull) else { return line }
            object["ip_address"] = (value as? String).flatMap(anonymize) ?? "invalid"
            if let rewritten = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                return String(decoding: rewritten, as: UTF8.self)
            }
        }
        // Words made of the characters of addresses, each tried as one.
        var result = ""
        var word = ""
        func flush() {
            result += (word.contains(".") || word.contains(":")) ? (anonymize(word) ?? word) : word
            word = ""
        }
        for character in line {
            if character.isHexDigit || character == "." || character == ":" {
                word.append(character)
            } else {
                flush()
                result.append(character)
            }
        }
        flush()
        return result
    }
}

