import RunnelWebSocket
import Testing

/// Frame encoding and parsing against the examples of RFC 6455 §5.7.
@Suite struct WebSocketFrameTests {
    static let key: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)

    @Test("a single-frame unmasked text message")
    func unmaskedText() throws {
        let bytes: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F]
        #expect(WebSocketFrameEncoder.text("Hello") == bytes)
        var parser = WebSocketFrameParser(role: .client, maxFramePayload: 1024)
        parser.append(bytes)
        #expect(try parser.nextFrame() == WebSocketFrame(opcode: .text, payload: Array("Hello".utf8)))
        #expect(try parser.nextFrame() == nil)
    }

    @Test("a single-frame masked text message")
    func maskedText() throws {
        let bytes: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]
        #expect(WebSocketFrameEncoder.text("Hello", maskingKey: Self.key) == bytes)
        var parser = WebSocketFrameParser(role: .server, maxFramePayload: 1024)
        parser.append(bytes)
        #expect(try parser.nextFrame() == WebSocketFrame(opcode: .text, payload: Array("Hello".utf8)))
    }

    @Test("a fragmented unmasked text message, then a ping and a masked pong")
    func fragmentsAndControlFrames() throws {
        var parser = WebSocketFrameParser(role: .client, maxFramePayload: 1024)
        parser.append([0x01, 0x03, 0x48, 0x65, 0x6C, 0x80, 0x02, 0x6C, 0x6F, 0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
        #expect(try parser.nextFrame() == WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)))
        #expect(try parser.nextFrame() == WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8)))
        #expect(try parser.nextFrame() == WebSocketFrame(opcode: .ping, payload: Array("Hello".utf8)))
        var server = WebSocketFrameParser(role: .server, maxFramePayload: 1024)
        server.append([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
        #expect(try server.nextFrame() == WebSocketFrame(opcode: .pong, payload: Array("Hello".utf8)))
    }

    @Test("16-bit and 64-bit lengths", arguments: [0, 125, 126, 256, 65_535, 65_536, 70_000])
    func extendedLengths(count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let frame = WebSocketFrameEncoder.encode(opcode: .binary, payload: payload)
        switch count {
        case ..<126: #expect(frame.count == count + 2)
        case ...65_535: #expect(Array(frame[0..<4]) == [0x82, 0x7E, UInt8(count >> 8), UInt8(count & 0xFF)])
        default: #expect(Array(frame[0..<2]) == [0x82, 0x7F] && frame.count == count + 10)
        }
        if count == 256 { #expect(Array(frame[0..<4]) == [0x82, 0x7E, 0x01, 0x00]) }
        if count == 65_536 { #expect(Array(frame[0..<10]) == [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]) }
        // Masked, fed one byte at a time: the parser waits for every part.
        var parser = WebSocketFrameParser(role: .server, maxFramePayload: 1 << 20)
        var got: WebSocketFrame?
        for byte in WebSocketFrameEncoder.encode(opcode: .binary, payload: payload, maskingKey: Self.key) {
            #expect(got == nil)
            parser.append([byte])
            got = try parser.nextFrame()
        }
        #expect(got == WebSocketFrame(opcode: .binary, payload: payload))
        #expect(parser.bufferedCount == 0)
    }

    @Test("header violations are refused before the payload arrives", arguments: [
        ([UInt8]([0x81, 0x05]), "unmasked", 1002),
        ([0xC1, 0x85], "reserved bits", 1002),
        ([0x83, 0x80], "reserved opcode", 1002),
        ([0x8B, 0x80], "reserved opcode", 1002),
        ([0x09, 0x80], "fragmented control", 1002),
        ([0x89, 0xFE, 0x00, 0x7E], "over 125", 1002),
        ([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0], "top bit", 1002),
        ([0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 1], "exceeds the limit", 1009),
    ])
    func headerViolations(header: [UInt8], reason: String, code: UInt16) {
        var parser = WebSocketFrameParser(role: .server, maxFramePayload: 1 << 20)
        parser.append(header)
        #expect(throws: WebSocketProtocolError.self) { try parser.nextFrame() }
        do {
            _ = try parser.nextFrame()
        } catch {
            #expect(error.code.rawValue == code)
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }

    @Test("a client refuses masked frames from a server")
    func clientRefusesMaskedFrames() {
        var parser = WebSocketFrameParser(role: .client, maxFramePayload: 1024)
        parser.append(WebSocketFrameEncoder.text("x", maskingKey: Self.key))
        #expect(throws: WebSocketProtocolError(.protocolError, "masked frame from a server")) { try parser.nextFrame() }
    }

    @Test("a close frame's reason is cut to 123 bytes at a character boundary")
    func closeReasonIsCut() {
        let frame = WebSocketFrameEncoder.close(code: .goingAway, reason: String(repeating: "é", count: 100))
        #expect(frame[1] == 2 + 122)
        #expect(Array(frame[2..<4]) == [0x03, 0xE9])
        #expect(String(validating: frame[4...], as: UTF8.self) == String(repeating: "é", count: 61))
    }
}
