import RunnelCrypto
import RunnelJSON

/// Checks JSON Web Tokens signed with HMAC-SHA256 (RFC 7519, `alg` HS256) and reads the
/// claims the feed needs: `sub`, `role` and `exp`. Any other algorithm — `none` included —
/// is refused. Also signs tokens (for tests and for issuing them from the command line).
///
/// Thread safety: one verifier per loop (its JSON parser is reused between calls).
public final class HS256TokenVerifier {
    /// Why a token is refused.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not three base64url parts of JSON.
        case malformed(String)
        /// `alg` is not HS256.
        case unsupportedAlgorithm(String)
        /// The signature does not match.
        case badSignature
        /// `exp` has passed.
        case expired
        /// A required claim is missing or of the wrong type.
        case invalidClaim(String)

        public var description: String {
            switch self {
            case .malformed(let why): return "malformed token: \(why)"
            case .unsupportedAlgorithm(let alg): return "unsupported token algorithm \(alg)"
            case .badSignature: return "token signature does not match"
            case .expired: return "token expired"
            case .invalidClaim(let name): return "token claim '\(name)' is missing or invalid"
            }
        }
    }

    private let secret: [UInt8]
    private let parser = JSONLineParser()
    private let buffer = PaddedBuffer(capacity: 1024)
    private static let headerKeys = JSONKeySet(keys: ["alg"])
    private static let claimKeys = JSONKeySet(keys: ["sub", "role", "exp"])

    /// Creates a verifier for tokens signed with `secret`.
    public init(secret: [UInt8]) {
        precondition(!secret.isEmpty, "an HMAC secret must not be empty")
        self.secret = secret
    }

    /// The claims of `token` if it is signed with this secret and not expired at `now`
    /// (seconds since the epoch).
    public func verify(_ token: String, now: Int64) throws(Refusal) -> AccessToken {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three parts") }
        guard let header = Base64URL.decode(parts[0]), let payload = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]) else { throw .malformed("not base64url") }
        let algorithm = try field(of: header, keys: Self.headerKeys, "alg") { $0.stringValue }
        guard algorithm == "HS256" else { throw .unsupportedAlgorithm(algorithm ?? "(none)") }
        let expected = HMACSHA256.authenticationCode(for: Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)),
                                                     key: secret)
        // Compared in constant time, so that timing does not reveal how much matched.
        guard signature.count == expected.count, zip(signature, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw .badSignature
        }
        guard let subject = try field(of: payload, keys: Self.claimKeys, "sub", { $0.stringValue }), !subject.isEmpty else {
            throw .invalidClaim("sub")
        }
        guard let role = try field(of: payload, keys: Self.claimKeys, "role", { $0.stringValue }).flatMap(AccessToken.Role.init) else {
            throw .invalidClaim("role")
        }
        guard let expiry = try field(of: payload, keys: Self.claimKeys, "exp", { $0.int64Value }) else { throw .invalidClaim("exp") }
        guard now < expiry else { throw .expired }
        return AccessToken(subject: subject, role: role, expiresAt: expiry)
    }

    /// A token for `claims`, signed with this secret.
    public func sign(_ claims: AccessToken) -> String {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("sub")
        json.string(claims.subject)
        json.key("role")
        json.string(claims.role.rawValue)
        json.key("exp")
        json.int(claims.expiresAt)
        json.endObject()
        let payload = json.withBytes { Array($0) }
        let signingInput = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) + "." + Base64URL.encode(payload)
        return signingInput + "." + Base64URL.encode(HMACSHA256.authenticationCode(for: Array(signingInput.utf8), key: secret))
    }

    /// Parses `json` (one object) and reads one field of it.
    private func field<T>(of json: [UInt8], keys: JSONKeySet, _ name: String,
                          _ read: (JSONFieldValue) -> T?) throws(Refusal) -> T? {
        buffer.removeAll()
        json.withUnsafeBytes { buffer.append($0) }
        guard case .ok = parser.parse(buffer.bytes, keys: keys) else { throw .malformed("part is not a JSON object") }
        return read(parser[keys.index(of: name)!])
    }
}
