import RunnelWebSocket
import Testing

/// Incremental UTF-8 checking, and the connection failing a text message at its first
/// impossible byte (Autobahn 6.4.*: "fail fast").
struct UTF8ValidatorTests {
    static func isValid(_ bytes: [UInt8], splitAt cut: Int? = nil) -> Bool {
        var validator = UTF8Validator()
        let cut = min(cut ?? bytes.count, bytes.count)
        return validator.feed(bytes[..<cut]) && validator.feed(bytes[cut...]) && validator.isAtCharacterBoundary
    }

    @Test("agrees with the standard library on valid and invalid text, wherever the text is split")
    func agreesWithTheStandardLibrary() {
        let cases: [[UInt8]] = [
            Array("hello, world — κόσμε — 𝄞 — 日本語".utf8), Array(String(repeating: "ascii ", count: 40).utf8), [],
            [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xE0, 0x9F, 0xBF],       // overlong
            [0xED, 0xA0, 0x80], [0xED, 0xBF, 0xBF],                                   // surrogates
            [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0xFF],               // beyond U+10FFFF
            [0xCE, 0xBA, 0xE1], [0xF0, 0x9D, 0x84], [0x80], [0x61, 0xBF, 0x61],        // truncated, stray continuation
            [0xEF, 0xBF, 0xBF], [0xF4, 0x8F, 0xBF, 0xBF], [0xED, 0x9F, 0xBF],           // edges that are valid
        ]
        for bytes in cases {
            let expected = String(validating: bytes, as: UTF8.self) != nil
            for cut in 0...bytes.count {
                #expect(Self.isValid(bytes, splitAt: cut) == expected, "\(bytes) split at \(cut)")
            }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(Self.isValid(bytes, splitAt: Int.random(in: 0...12, using: &generator)) == (String(validating: bytes, as: UTF8.self) != nil),
                    "\(bytes)")
        }
    }

    static let key: (UInt8, UInt8, UInt8, UInt8) = (0x11, 0x22, 0x33, 0x44)

    static func code(_ outputs: [WebSocketConnectionOutput]) -> UInt16? {
        for case .closeTransport(let code, _) in outputs { return code.rawValue }
        return nil
    }

    @Test("a fragmented text message fails at the fragment with the bad byte, before the final fragment")
    func failsFastAcrossFragments() {
        var connection = WebSocketConnection()
        let first = WebSocketFrameEncoder.encode(opcode: .text, payload: Array("κόσμε".utf8), fin: false, maskingKey: Self.key)
        #expect(connection.receive(first).isEmpty)
        let bad = WebSocketFrameEncoder.encode(opcode: .continuation, payload: [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80],
                                               fin: false, maskingKey: Self.key)
        #expect(Self.code(connection.receive(bad)) == 1007)
    }

    @Test("a text frame fails while it arrives: the bytes in so far are checked")
    func failsFastWithinAFrame() {
        var connection = WebSocketConnection()
        let payload = Array("valid text, then".utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(repeating: UInt8(ascii: "x"), count: 200)
        let frame = WebSocketFrameEncoder.encode(opcode: .text, payload: payload, maskingKey: Self.key)
        // Header (4 bytes: 16-bit length), key, then the payload up to the bad bytes.
        let headerAndKey = 2 + 2 + 4
        #expect(connection.receive(frame[..<(headerAndKey + 10)]).isEmpty, "valid so far")
        #expect(Self.code(connection.receive(frame[(headerAndKey + 10)..<(headerAndKey + 21)])) == 1007,
                "failed before the frame's other 199 bytes arrive")
        // A valid frame arriving in pieces is delivered once, whole.
        var other = WebSocketConnection()
        let text = String(repeating: "κόσμε ", count: 30)
        let good = WebSocketFrameEncoder.encode(opcode: .text, payload: Array(text.utf8), maskingKey: Self.key)
        var outputs: [WebSocketConnectionOutput] = []
        for i in stride(from: 0, to: good.count, by: 7) { outputs += other.receive(good[i..<min(i + 7, good.count)]) }
        #expect(outputs == [.message(.text(text))])
    }
}
