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
    /// The key is found by its exact bytes followed by `:` (inside a JSON string a quote is
    /// escaped, so the bytes `"ip_address":` only occur as a key). A value that is not a
    /// plain string (null, a number) is kept; a string that is not an address becomes
    /// `"invalid"`. A key written with escapes (`"ip\u005faddress"`) is not found this way:
    /// such lines go through ``anonymizeLine(_:)``.
    public static func anonymizeEventLine(_ line: String) -> String {
        var bytes = Array(line.utf8)
        let key = Array(#""ip_address""#.utf8)
        guard bytes.count > key.count else { return line }
        // An escaped key could hide from the byte search: such (rare) lines are rewritten whole.
        if line.utf8.count > 1, line.contains(#"\u"#) { return anonymizeLine(line) }
        var i = 0
        var changed = false
        while i + key.count <= bytes.count {
            guard bytes[i] == UInt8(ascii: "\""), bytes[i..<(i + key.count)].elementsEqual(key) else {
                i += 1
                continue
            }
            var j = i + key.count
            while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0A || bytes[j] == 0x0D { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: ":") else {
                i += key.count
                continue
            }
            j += 1
            while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0A || bytes[j] == 0x0D { j += 1 }
            guard j < bytes.count, bytes[j] == UInt8(ascii: "\"") else {
                i = j
                continue
            }
            let start = j + 1
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
            guard end < bytes.count, bytes[end] == UInt8(ascii: "\"") else { return anonymizeLine(line) }
            let value = String(decoding: bytes[start..<end], as: UTF8.self)
            let replacement = Array((anonymize(value) ?? "invalid").utf8)
            bytes.replaceSubrange(start..<end, with: replacement)
            changed = true
            i = start + replacement.count + 1
        }
        return changed ? String(decoding: bytes, as: UTF8.self) : line
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

