import RunnelWebSocket
import Testing

/// permessage-deflate (RFC 7692): the negotiation, the compression of single messages
/// (the RFC's own examples), and compressed messages through the connection state machine.
@Suite struct PerMessageDeflateTests {
    static let key: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

    /// A client's frame from raw header bits: masks `payload` (already compressed or not).
    static func frame(_ firstByte: UInt8, _ payload: [UInt8]) -> [UInt8] {
        var masked = payload
        let key = [Self.key.0, Self.key.1, Self.key.2, Self.key.3]
        for i in masked.indices { masked[i] ^= key[i & 3] }
        precondition(payload.count < 126)
        return [firstByte, 0x80 | UInt8(payload.count)] + key + masked
    }

    static func ending(_ outputs: [WebSocketConnectionOutput]) -> UInt16? {
        for case .closeTransport(let code, _) in outputs { return code.rawValue }
        return nil
    }

    @Test("negotiation: the first offer the server can honour is accepted, always without context takeover")
    func negotiation() {
        #expect(PerMessageDeflate.negotiate(offers: []) == nil)
        #expect(PerMessageDeflate.negotiate(offers: ["x-webkit-deflate-frame"]) == nil)
        let plain = PerMessageDeflate.negotiate(offers: ["permessage-deflate; client_max_window_bits"])
        #expect(plain == PerMessageDeflate(serverMaxWindowBits: 15))
        #expect(plain?.responseValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        let small = PerMessageDeflate.negotiate(offers: ["permessage-deflate; server_max_window_bits=10; client_no_context_takeover"])
        #expect(small?.responseValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
        #expect(PerMessageDeflate.negotiate(offers: [#"permessage-deflate; server_max_window_bits="12""#])?.serverMaxWindowBits == 12,
                "a quoted value")
        // Declined offers fall through to the next one (in one header value or several).
        #expect(PerMessageDeflate.negotiate(offers: ["permessage-deflate; server_max_window_bits=8, permessage-deflate"])?.serverMaxWindowBits == 15,
                "an 8-bit server window cannot be written by zlib: the next offer is taken")
        #expect(PerMessageDeflate.negotiate(offers: ["permessage-deflate; foo=1", "permessage-deflate; server_max_window_bits=11"])?
            .serverMaxWindowBits == 11)
        for declined in ["permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=16",
                         "permessage-deflate; server_max_window_bits=09", "permessage-deflate; client_max_window_bits=7",
                         "permessage-deflate; server_no_context_takeover=1", "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                         "permessage-deflate; unknown"] {
            #expect(PerMessageDeflate.negotiate(offers: [declined]) == nil, "\(declined)")
        }
    }

    @Test("the RFC's examples decompress: one block, a stored block, BFINAL set, two blocks; compression round-trips")
    func rfcExamples() throws {
        let hello = Array("Hello".utf8)
        for compressed: [UInt8] in [
            [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00],                      // §7.2.3.1
            [0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00], // §7.2.3.3 (no compression)
            [0xF3, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00, 0x00],                // §7.2.3.4 (BFINAL)
            [0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00], // §7.2.3.5 (two blocks)
        ] {
            #expect(try MessageDeflate.decompress(compressed, limit: 100) == hello, "\(compressed)")
        }
        #expect(MessageDeflate.compress(hello) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], "as in §7.2.3.1")
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 100, 70_000, 1 << 20] {
            let text = (0..<size).map { _ in UInt8.random(in: 97...102, using: &generator) }
            for bits in [9, 12, 15] {
                let compressed = MessageDeflate.compress(text, windowBits: bits)
                #expect(try MessageDeflate.decompress(compressed, limit: size) == text, "size \(size), \(bits) window bits")
                if size >= 100 { #expect(compressed.count < size, "six letters compress") }
            }
        }
        #expect(throws: MessageDeflate.Failure.tooLarge(limit: 1000)) {
            try MessageDeflate.decompress(MessageDeflate.compress([UInt8](repeating: 0, count: 1 << 20)), limit: 1000)
        }
        #expect(throws: MessageDeflate.Failure.self) { try MessageDeflate.decompress([0xFF, 0xFF, 0xFF, 0x07], limit: 1000) }
    }

    @Test("a connection with the extension reads compressed messages, whole or fragmented, and plain ones")
    func compressedMessages() {
        var connection = WebSocketConnection(maxMessageSize: 1000, deflate: PerMessageDeflate())
        let stream = Self.frame(0xC1, [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])   // RSV1 + FIN, text
            + Self.frame(0x41, [0xF2, 0x48, 0xCD]) + Self.frame(0x80, [0xC9, 0xC9, 0x07, 0x00]) // §7.2.3.2, fragmented
            + Self.frame(0x81, Array("plain".utf8))
            + Self.frame(0xC2, MessageDeflate.compress([1, 2, 3]))
        #expect(connection.receive(stream) == [.message(.text("Hello")), .message(.text("Hello")), .message(.text("plain")),
                                                .message(.binary([1, 2, 3]))])
    }

    @Test("violations: RSV1 without the extension, on a continuation or control frame, RSV2; a bomb; corrupt data")
    func violations() {
        func code(_ deflate: PerMessageDeflate?, _ bytes: [UInt8], limit: Int = 1000) -> UInt16? {
            var connection = WebSocketConnection(maxMessageSize: limit, deflate: deflate)
            return Self.ending(connection.receive(bytes))
        }
        let hello: [UInt8] = [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00]
        #expect(code(nil, Self.frame(0xC1, hello)) == 1002, "not negotiated")
        #expect(code(PerMessageDeflate(), Self.frame(0x41, [0xF2, 0x48, 0xCD]) + Self.frame(0xC0, [0xC9, 0xC9, 0x07, 0x00])) == 1002,
                "RSV1 on a continuation frame")
        #expect(code(PerMessageDeflate(), Self.frame(0xC9, [])) == 1002, "RSV1 on a ping")
        #expect(code(PerMessageDeflate(), Self.frame(0xA1, hello)) == 1002, "RSV2")
        // 1 MiB of zeros compresses to about a kilobyte: refused at the decompressed size.
        let bomb = MessageDeflate.compress([UInt8](repeating: 0, count: 1 << 20))
        var connection = WebSocketConnection(maxMessageSize: 64 * 1024, deflate: PerMessageDeflate())
        let bombFrame = WebSocketFrameEncoder.encode(opcode: .binary, payload: bomb, compressed: true, maskingKey: Self.key)
        #expect(Self.ending(connection.receive(bombFrame)) == 1009)
        #expect(code(PerMessageDeflate(), Self.frame(0xC1, [0xFF, 0xFF, 0xFF, 0x07])) == 1007, "does not decompress")
        // Valid DEFLATE, invalid UTF-8 once decompressed.
        #expect(code(PerMessageDeflate(), Self.frame(0xC1, MessageDeflate.compress([0xC3, 0x28]))) == 1007)
    }
}
