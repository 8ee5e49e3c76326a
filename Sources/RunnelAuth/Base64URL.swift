import RunnelCrypto

/// Base64url without padding (RFC 4648 §5), as JWTs use it, over the standard codec.
enum Base64URL {
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(Base64.encode(bytes).compactMap { c -> Character? in
            switch c {
            case "+": return "-"
            case "/": return "_"
            case "=": return nil
            default: return c
            }
        })
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        guard text.allSatisfy({ $0 != "+" && $0 != "/" && $0 != "=" }) else { return nil }
        var standard = String(text.map { c -> Character in c == "-" ? "+" : c == "_" ? "/" : c })
        switch standard.utf8.count % 4 {
        case 0: break
        case 2: standard += "=="
        case 3: standard += "="
        default: return nil
        }
        return Base64.decode(standard)
    }
}
