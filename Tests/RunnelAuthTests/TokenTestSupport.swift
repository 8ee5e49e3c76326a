import RunnelCrypto

/// Builds tokens by hand, to test payloads the verifier's own `sign` never produces.
enum TokenTestSupport {
    static func base64url(_ bytes: [UInt8]) -> String {
        String(Base64.encode(bytes).compactMap { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 == "=" ? nil : $0 })
    }

    static func sign(_ payload: String, secret: [UInt8]) -> String {
        let input = base64url(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + base64url(Array(payload.utf8))
        return input + "." + base64url(HMACSHA256.authenticationCode(for: Array(input.utf8), key: secret))
    }
}
