import CCrypto

/// Standard base64 (RFC 4648 §4, with padding) through OpenSSL's libcrypto.
public enum Base64 {
    /// The base64 text of `bytes`.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var out = [CChar](repeating: 0, count: 4 * ((input.count + 2) / 3) + 1)
        let length = input.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { runnel_base64_encode(raw.baseAddress, raw.count, $0.baseAddress) }
        }
        return String(decoding: out.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The bytes `text` encodes, or nil when it is not canonical padded base64.
    public static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        guard !input.isEmpty else { return [] }
        // libcrypto skips leading and trailing whitespace; a token must not have any.
        let alphabet = { (c: UInt8) in
            (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 43 || c == 47
        }
        let padding = input.reversed().prefix { $0 == 61 }.count
        guard padding <= 2, input.dropLast(padding).allSatisfy(alphabet) else { return nil }
        var out = [UInt8](repeating: 0, count: input.count / 4 * 3)
        let length = input.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { text in
                out.withUnsafeMutableBytes { runnel_base64_decode(text.baseAddress, text.count, $0.baseAddress) }
            }
        }
        guard length >= padding else { return nil }
        return Array(out.prefix(Int(length) - padding))
    }
}
