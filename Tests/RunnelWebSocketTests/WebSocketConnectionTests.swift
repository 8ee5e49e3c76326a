import RunnelWebSocket
import Testing

/// The server side of a connection: messages, fragmentation, pings, the closing handshake,
/// and the close code of every kind of violation.
@Suite struct WebSocketConnectionTests {
    static let key: (UInt8, UInt8, UInt8, UInt8) = (0xA1, 0x02, 0xC3, 0x44)

    /// A frame as a client sends it (masked).
    static func client(_ opcode: WebSocketOpcode, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        WebSocketFrameEncoder.encode(opcode: opcode, payload: payload, fin: fin, maskingKey: key)
    }

    static func text(_ s: String, fin: Bool = true) -> [UInt8] { client(.text, Array(s.utf8), fin: fin) }

    static func closePayload(_ code: UInt16, _ reason: [UInt8] = []) -> [UInt8] {
        [UInt8(code >> 8), UInt8(code & 0xFF)] + reason
    }

    /// The code the connection failed or closed with, and whether it sent a close frame with it.
    static func ending(_ outputs: [WebSocketConnectionOutput]) -> (code: UInt16?, sentClose: [UInt8]?) {
        var code: UInt16?
        var sent: [UInt8]?
        for output in outputs {
            switch output {
            case .closeTransport(let c, _): code = c.rawValue
            case .send(let bytes) where bytes.first == 0x88: sent = bytes
            default: break
            }
        }
        return (code, sent)
    }

    @Test("messages arrive whole whatever the chunking of the bytes")
    func messagesAcrossChunks() {
        let stream = Self.text("hello") + Self.client(.binary, [1, 2, 3]) + Self.text("wörld")
        let expected: [WebSocketConnectionOutput] = [
            .message(.text("hello")), .message(.binary([1, 2, 3])), .message(.text("wörld")),
        ]
        for chunk in [1, 2, 3, 7, stream.count] {
            var connection = WebSocketConnection()
            var outputs: [WebSocketConnectionOutput] = []
            var i = 0
            while i < stream.count {
                outputs += connection.receive(stream[i..<min(i + chunk, stream.count)])
                i += chunk
            }
            #expect(outputs == expected, "chunks of \(chunk)")
        }
    }

    @Test("fragments are joined, and a ping between them is answered at once")
    func fragmentationWithPing() {
        var connection = WebSocketConnection()
        let outputs = connection.receive(Self.text("Hel", fin: false) + Self.client(.ping, [9]) + Self.client(.continuation, Array("lo ".utf8), fin: false)
            + Self.client(.continuation, Array("wörld".utf8)))
        #expect(outputs == [.send([0x8A, 0x01, 9]), .message(.text("Hello wörld"))])
    }

    @Test("a multi-byte character split across fragments is valid")
    func characterSplitAcrossFragments() {
        var connection = WebSocketConnection()
        let bytes = Array("κόσμε".utf8)
        let outputs = connection.receive(Self.client(.text, Array(bytes[0..<3]), fin: false) + Self.client(.continuation, Array(bytes[3...])))
        #expect(outputs == [.message(.text("κόσμε"))])
    }

    @Test("protocol violations fail the connection with 1002, bad UTF-8 with 1007, oversized messages with 1009", arguments: [
        ("unmasked frame", WebSocketFrameEncoder.text("x"), UInt16(1002)),
        ("continuation without a message", client(.continuation, [1]), 1002),
        ("new message inside a fragmented one", text("a", fin: false) + text("b"), 1002),
        ("binary inside a fragmented text", text("a", fin: false) + client(.binary, [1]), 1002),
        ("invalid UTF-8", client(.text, [0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xED, 0xA0, 0x80]), 1007),
        ("invalid UTF-8 across fragments", client(.text, [0xCE], fin: false) + client(.continuation, [0x41]), 1007),
        ("truncated UTF-8 at the end", client(.text, [0x41, 0xE2, 0x82]), 1007),
        ("oversized frame", client(.binary, [UInt8](repeating: 1, count: 2_000)), 1009),
        ("oversized fragmented message", client(.binary, [UInt8](repeating: 1, count: 600), fin: false)
            + client(.continuation, [UInt8](repeating: 1, count: 600)), 1009),
        ("close with one byte", client(.close, [3]), 1002),
        ("close code 1005", client(.close, closePayload(1005)), 1002),
        ("close code 999", client(.close, closePayload(999)), 1002),
        ("close code 2000", client(.close, closePayload(2000)), 1002),
        ("close code 5000", client(.close, closePayload(5000)), 1002),
        ("close reason not UTF-8", client(.close, closePayload(1000, [0xFF])), 1007),
    ])
    func violations(_ what: String, _ bytes: [UInt8], _ code: UInt16) {
        var connection = WebSocketConnection(maxMessageSize: 1_000)
        let outputs = connection.receive(bytes)
        let (got, sent) = Self.ending(outputs)
        #expect(got == code, "\(what): \(outputs)")
        let sentCode = sent.map { UInt16($0[2]) << 8 | UInt16($0[3]) }
        #expect(sentCode == code, "\(what): a close frame with the code is sent first")
        #expect(!outputs.contains { if case .message = $0 { return true } else { return false } })
        #expect(connection.state == .closed)
        #expect(connection.receive(Self.text("after")) == [], "nothing is read after the connection failed")
    }

    @Test("codes a peer may send are accepted and echoed", arguments: [UInt16(1000), 1001, 1003, 1007, 1011, 3000, 4999])
    func validCloseCodes(code: UInt16) {
        var connection = WebSocketConnection()
        let outputs = connection.receive(Self.client(.close, Self.closePayload(code, Array("bye".utf8))))
        #expect(outputs == [.send(WebSocketFrameEncoder.close(code: WebSocketCloseCode(rawValue: code))),
                            .closeTransport(code: WebSocketCloseCode(rawValue: code), reason: "bye")])
        #expect(connection.state == .closed)
    }

    @Test("a close without a code is answered without one and reported as 1005")
    func closeWithoutCode() {
        var connection = WebSocketConnection()
        #expect(connection.receive(Self.client(.close, [])) == [.send([0x88, 0x00]), .closeTransport(code: WebSocketCloseCode(rawValue: 1005), reason: "")])
    }

    @Test("a close started here: data is dropped, pings go unanswered, the peer's close ends it without a second close frame")
    func closeStartedHere() {
        var connection = WebSocketConnection()
        let frame = connection.close(code: .goingAway, reason: "restart")
        #expect(frame == WebSocketFrameEncoder.close(code: .goingAway, reason: "restart"))
        #expect(connection.state == .closing)
        #expect(connection.close() == nil)
        #expect(connection.receive(Self.text("late") + Self.client(.ping, [])) == [])
        #expect(connection.receive(Self.client(.close, Self.closePayload(1001))) == [.closeTransport(code: .goingAway, reason: "")])
        #expect(connection.state == .closed)
    }

    @Test("random messages, fragmented and chunked at random, arrive intact and in order")
    func randomStreams() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var stream: [UInt8] = []
            var expected: [WebSocketConnectionOutput] = []
            for _ in 0..<Int(rng.next() % 6 + 1) {
                let isText = rng.next() % 2 == 0
                let payload: [UInt8] = isText
                    ? Array(String((0..<Int(rng.next() % 40)).map { _ in ["a", "é", "€", "𝄞", " "][Int(rng.next() % 5)] }).utf8)
                    : (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                expected.append(.message(isText ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload)))
                // Cut into fragments at random byte positions (text may split characters).
                var cuts = Set((0..<Int(rng.next() % 4)).map { _ in payload.isEmpty ? 0 : Int(rng.next() % UInt64(payload.count)) })
                cuts.insert(payload.count)
                var from = 0
                var first = true
                for cut in cuts.sorted() where cut >= from {
                    let last = cut == payload.count
                    stream += Self.client(first ? (isText ? .text : .binary) : .continuation, Array(payload[from..<cut]), fin: last)
                    if rng.next() % 3 == 0 && !last { stream += Self.client(.pong, []) }
                    first = false
                    from = cut
                }
            }
            var connection = WebSocketConnection()
            var outputs: [WebSocketConnectionOutput] = []
            var i = 0
            while i < stream.count {
                let n = Int(rng.next() % 50) + 1
                outputs += connection.receive(stream[i..<min(i + n, stream.count)])
                i += n
            }
            #expect(outputs == expected)
        }
    }
}

/// A small seeded generator, so that failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
