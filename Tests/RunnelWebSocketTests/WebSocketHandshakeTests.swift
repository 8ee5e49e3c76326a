import RunnelCrypto
import RunnelWebSocket
import Testing

/// The opening handshake (RFC 6455 §4.2) and the libcrypto primitives under it.
@Suite struct WebSocketHandshakeTests {
    static let upgrade: [(name: String, value: String)] = [
        ("Host", "server.example.com"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
    ]

    @Test("the accept value of RFC 6455's example key")
    func acceptValueOfTheRFCExample() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("a valid upgrade gets the 101 headers; names are matched without case and Connection may list more tokens")
    func validUpgrade() throws {
        let headers = try WebSocketHandshake.response(method: "GET", headers: Self.upgrade).get()
        #expect(headers.map(\.name) == ["Upgrade", "Connection", "Sec-WebSocket-Accept"])
        #expect(headers.last?.value == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        let relaxed: [(name: String, value: String)] = [
            ("host", "h"), ("upgrade", "WebSocket"), ("connection", "keep-alive, Upgrade"),
            ("sec-websocket-key", " dGhlIHNhbXBsZSBub25jZQ== "), ("SEC-WEBSOCKET-VERSION", "13"),
        ]
        #expect(try WebSocketHandshake.response(method: "GET", headers: relaxed).get().last?.value == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test("refusals carry the right HTTP status", arguments: [
        ("POST", "", "", 405), ("GET", "Upgrade", "", 400), ("GET", "Connection", "", 400), ("GET", "Host", "", 400),
        ("GET", "Sec-WebSocket-Key", "", 400), ("GET", "Sec-WebSocket-Key", "c2hvcnQ=", 400),
        ("GET", "Sec-WebSocket-Key", "not base64!!", 400), ("GET", "Sec-WebSocket-Version", "8", 426),
        ("GET", "Sec-WebSocket-Version", "", 426),
    ])
    func refusals(method: String, header: String, value: String, status: Int) {
        var headers = Self.upgrade.filter { $0.name != header }
        if !value.isEmpty { headers.append((header, value)) }
        switch WebSocketHandshake.response(method: method, headers: headers) {
        case .success: Issue.record("accepted without a valid \(header)")
        case .failure(let refusal):
            #expect(refusal.status == status, "\(refusal)")
            if status == 426 { #expect(refusal.headers.contains { $0.name == "Sec-WebSocket-Version" && $0.value == "13" }) }
        }
    }

    @Test("SHA-1, HMAC-SHA256 and base64 give the published test vectors")
    func cryptoVectors() {
        let hex = { (bytes: [UInt8]) in bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        // RFC 4231, test case 2.
        #expect(hex(HMACSHA256.authenticationCode(for: Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // RFC 4648 §10.
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        for bad in ["Zg=", "Zg===", "Z===", "Zm9v\n", "Zm 9", "Zm9=v"] { #expect(Base64.decode(bad) == nil, "\(bad)") }
        let all = (0...255).map { UInt8($0) }
        #expect(Base64.decode(Base64.encode(all)) == all)
    }
}
