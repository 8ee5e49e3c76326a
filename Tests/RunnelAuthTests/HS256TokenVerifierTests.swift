import RunnelAuth
import Testing

/// HS256 tokens: what is accepted, and every way a token is refused.
@Suite struct HS256TokenVerifierTests {
    static let secret = Array("a-long-shared-secret-for-tests".utf8)
    static let now: Int64 = 1_800_000_000

    @Test("a token it signed verifies, with its claims")
    func roundTrip() throws {
        let verifier = HS256TokenVerifier(secret: Self.secret)
        for claims in [AccessToken(subject: "c-42", role: .creator, expiresAt: Self.now + 60),
                       AccessToken(subject: "ops@platform", role: .admin, expiresAt: Self.now + 1)] {
            #expect(try verifier.verify(verifier.sign(claims), now: Self.now) == claims)
        }
    }

    @Test("a token signed elsewhere (Python's hmac and hashlib) verifies")
    func externallySigned() throws {
        // Header {"alg":"HS256","typ":"JWT"}, payload {"sub":"c-7","role":"creator","exp":1900000000}, secret "secret".
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjLTciLCJyb2xlIjoiY3JlYXRvciIsImV4cCI6MTkwMDAwMDAwMH0."
            + "GZX6Hs4go71tQYEUsUlKTTFp6RmYZ6kBAk80Hxu-o_I"
        let verifier = HS256TokenVerifier(secret: Array("secret".utf8))
        #expect(try verifier.verify(token, now: Self.now) == AccessToken(subject: "c-7", role: .creator, expiresAt: 1_900_000_000))
        #expect(throws: HS256TokenVerifier.Refusal.expired) { try verifier.verify(token, now: 1_900_000_000) }
    }

    @Test("refusals: another secret, a changed payload, alg none or another, expiry, missing or bad claims, garbage")
    func refusals() {
        let verifier = HS256TokenVerifier(secret: Self.secret)
        let other = HS256TokenVerifier(secret: Array("another secret".utf8))
        let good = verifier.sign(AccessToken(subject: "c-1", role: .creator, expiresAt: Self.now + 60))
        let parts = good.split(separator: ".").map(String.init)
        func refusal(_ token: String) -> HS256TokenVerifier.Refusal? {
            do {
                _ = try verifier.verify(token, now: Self.now)
                return nil
            } catch {
                return error
            }
        }
        func b64(_ json: String) -> String { TokenTestSupport.base64url(Array(json.utf8)) }
        #expect(refusal(good) == nil)
        #expect(refusal(other.sign(AccessToken(subject: "c-1", role: .creator, expiresAt: Self.now + 60))) == .badSignature)
        // Claims changed to admin with the original signature.
        #expect(refusal([parts[0], b64(#"{"sub":"c-1","role":"admin","exp":1800000060}"#), parts[2]].joined(separator: ".")) == .badSignature)
        #expect(refusal([b64(#"{"alg":"none"}"#), parts[1], ""].joined(separator: ".")) == .unsupportedAlgorithm("none"))
        #expect(refusal([b64(#"{"alg":"HS512"}"#), parts[1], parts[2]].joined(separator: ".")) == .unsupportedAlgorithm("HS512"))
        #expect(refusal(verifier.sign(AccessToken(subject: "c-1", role: .creator, expiresAt: Self.now))) == .expired)
        #expect(refusal(verifier.sign(AccessToken(subject: "", role: .creator, expiresAt: Self.now + 60))) == .invalidClaim("sub"))
        #expect(refusal(TokenTestSupport.sign(#"{"sub":"c-1","role":"root","exp":1800000060}"#, secret: Self.secret)) == .invalidClaim("role"))
        #expect(refusal(TokenTestSupport.sign(#"{"sub":"c-1","role":"creator"}"#, secret: Self.secret)) == .invalidClaim("exp"))
        #expect(refusal(TokenTestSupport.sign(#"{"sub":"c-1","role":"creator","exp":"soon"}"#, secret: Self.secret)) == .invalidClaim("exp"))
        for garbage in ["", "a.b", "a.b.c.d", "!!.??.**", parts[0] + "." + parts[1] + ".", b64("[1]") + "." + parts[1] + "." + parts[2]] {
            #expect(refusal(garbage) != nil, "\(garbage)")
        }
    }
}
