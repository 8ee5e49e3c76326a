import Foundation
import RunnelHTTP
import RunnelHTTPServer
import RunnelTesting
import RunnelWebSocket
import RunnelWebSocketServer
import Synchronization
import Testing

import RunnelRuntime

/// WebSocket channels behind the HTTP server, tested against an independent client
/// (Python's `websockets` library) and raw sockets for what a library client never sends.
@Suite(.serialized) struct WebSocketServerTests {
    /// A loop with an HTTP server whose `/v1/feed` upgrades to a channel that echoes
    /// messages (`echo:` before text). `@unchecked Sendable`: `channels` and the server
    /// are touched only on the loop's thread.
    final class Fixture: @unchecked Sendable {
        let events: TestEventLoop
        private(set) var port = 0
        var channels: [WebSocketChannel] = []
        let closes = Mutex<[UInt16]>([])

        init(limits: WebSocketChannel.Limits = .init()) throws {
            events = try TestEventLoop(name: "ws-test")
            port = events.run { [self] in
                let server = try? HTTPServer(loop: events.loop) { [self] request in
                    guard request.path == "/v1/feed" else { return .response(.error(404, "not found")) }
                    return WebSocketUpgrade.reply(to: request, limits: limits) { [self] channel in
                        channels.append(channel)
                        channel.onMessage = { message in
                            switch message {
                            case .text(let text): channel.send(text: "echo:" + text)
                            case .binary(let bytes): channel.send(frame: OutboundBytes(WebSocketFrameEncoder.encode(opcode: .binary, payload: bytes)))
                            }
                        }
                        channel.onClose = { [self] code, _ in closes.withLock { $0.append(code.rawValue) } }
                    }
                }
                return server?.port ?? -1
            } ?? -1
        }

        /// Runs `body` on the loop and waits for it.
        func onLoop(_ body: @escaping () -> Void) { _ = events.run(body) }

        func waitForCloses(_ count: Int) -> [UInt16] {
            for _ in 0..<1_000 where closes.withLock({ $0.count }) < count { usleep(10_000) }
            return closes.withLock { $0 }
        }

        func stop() { events.stop() }
    }

    /// Opens a WebSocket; returns the client after checking the 101 response.
    static func handshake(port: Int) throws -> BlockingWebSocketClient {
        let client = try BlockingWebSocketClient(port: port, maskingKey: key)
        let head = client.handshakeResponse()
        #expect(head.hasPrefix("HTTP/1.1 101 "), "\(head)")
        #expect(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        return client
    }

    static let key: (UInt8, UInt8, UInt8, UInt8) = (1, 2, 3, 4)

    @Test("Python's websockets client: echo of text and binary, ping, a message too big (1009), and a clean close (1000)")
    func pythonClient() throws {
        let fixture = try Fixture(limits: .init(maxMessageSize: 1_000))
        defer { fixture.stop() }
        let script = """
        import sys
        from websockets.sync.client import connect
        from websockets.exceptions import ConnectionClosed
        url = f"ws://127.0.0.1:{sys.argv[1]}/v1/feed"
        with connect(url) as ws:
            ws.send("hello")
            assert ws.recv(timeout=10) == "echo:hello"
            ws.send(bytes([0, 1, 2, 255]))
            assert ws.recv(timeout=10) == bytes([0, 1, 2, 255])
            assert ws.ping().wait(10), "no pong"
            ws.send("κόσμε " * 50)
            assert ws.recv(timeout=10) == "echo:" + "κόσμε " * 50
            print("extensions", [e.name for e in ws.protocol.extensions])
        print("closed", ws.protocol.close_rcvd.code)
        with connect(url, compression=None) as ws:
            ws.send("plain " * 50)
            assert ws.recv(timeout=10) == "echo:" + "plain " * 50
            print("uncompressed", ws.protocol.extensions)
        with connect(url, max_size=None) as ws:
            ws.send("x" * 2000)
            try:
                ws.recv(timeout=10)
                print("no close")
            except ConnectionClosed as e:
                print("too big", e.rcvd.code)
        """
        let path = NSTemporaryDirectory() + "ws-client-\(getpid()).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", path, String(fixture.port)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!text.contains("No module named 'websockets'"), "install it: python3 -m pip install websockets (scripts/install-deps.sh does)")
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("closed 1000"), "\(text)")
        #expect(text.contains("extensions ['permessage-deflate']"), "websockets offers permessage-deflate and the server takes it: \(text)")
        #expect(text.contains("uncompressed []"), "\(text)")
        #expect(text.contains("too big 1009"), "\(text)")
        #expect(fixture.waitForCloses(3).sorted() == [1000, 1000, 1009])
    }

    @Test("an unmasked frame from a client fails the connection with 1002; other clients go on")
    func unmaskedFrame() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let bad = try Self.handshake(port: fixture.port)
        let good = try Self.handshake(port: fixture.port)
        bad.socket.send(WebSocketFrameEncoder.text("not masked"))
        let close = bad.nextFrame()
        #expect(close?.opcode == .close)
        #expect(close.map { UInt16($0.payload[0]) << 8 | UInt16($0.payload[1]) } == 1002)
        #expect(bad.socket.peerClosed())
        good.send("still here")
        #expect(good.nextFrame()?.payload == Array("echo:still here".utf8))
    }

    @Test("over the wire: each malformed frame fails its connection with the right code, an abrupt disconnect is 1006, and another client goes on throughout")
    func violationsOverTheWire() throws {
        let fixture = try Fixture(limits: .init(maxMessageSize: 1_000))
        defer { fixture.stop() }
        let good = try Self.handshake(port: fixture.port)
        func masked(_ firstByte: UInt8, _ payload: [UInt8]) -> [UInt8] {
            var frame = WebSocketFrameEncoder.encode(opcode: .binary, payload: payload, maskingKey: Self.key)
            frame[0] = firstByte
            return frame
        }
        let cases: [(String, [UInt8], UInt16)] = [
            ("reserved opcode 3", masked(0x83, [1]), 1002),
            ("RSV2 without an extension", masked(0xA2, [1]), 1002),
            ("RSV1 without permessage-deflate", masked(0xC2, [1]), 1002),
            ("a fragmented ping", masked(0x09, []), 1002),
            ("a ping of 126 bytes", masked(0x89, [UInt8](repeating: 0, count: 126)), 1002),
            ("continuation without a message", masked(0x80, [1]), 1002),
            ("a close frame with a 1-byte payload", masked(0x88, [3]), 1002),
            ("close code 1005 on the wire", masked(0x88, [0x03, 0xED]), 1002),
            ("invalid UTF-8 in a text message", masked(0x81, [0x61, 0xC0, 0x80]), 1007),
            ("invalid UTF-8 in a close reason", masked(0x88, [0x03, 0xE8, 0xFF]), 1007),
            ("a message of 1 001 bytes", masked(0x82, [UInt8](repeating: 7, count: 1_001)), 1009),
            ("fragments over the limit together", masked(0x02, [UInt8](repeating: 7, count: 600)) + masked(0x80, [UInt8](repeating: 7, count: 600)), 1009),
        ]
        for (index, (what, bytes, code)) in cases.enumerated() {
            let client = try Self.handshake(port: fixture.port)
            client.socket.send(bytes)
            let close = client.nextFrame()
            #expect(close?.opcode == .close, "\(what)")
            #expect(close.map { UInt16($0.payload[0]) << 8 | UInt16($0.payload[1]) } == code, "\(what)")
            #expect(client.socket.peerClosed(), "\(what): the server closes the socket")
            good.send("ping \(index)")
            #expect(good.nextFrame()?.payload == Array("echo:ping \(index)".utf8), "after \(what)")
        }
        // A client that vanishes in the middle of a frame: its channel closes with 1006.
        let before = fixture.waitForCloses(cases.count).count
        do {
            let vanishing = try Self.handshake(port: fixture.port)
            vanishing.socket.send(Array(masked(0x81, Array("half a frame".utf8)).prefix(8)))
        }
        let closes = fixture.waitForCloses(before + 1)
        #expect(closes.last == 1006, "\(closes)")
        good.send("still here")
        #expect(good.nextFrame()?.payload == Array("echo:still here".utf8))
    }

    @Test("a handshake with another version is refused with 426 and the version the server speaks")
    func wrongVersion() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let client = try BlockingSocketClient(port: fixture.port)
        client.send("GET /v1/feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n")
        let response = client.receiveHTTPResponse()
        #expect(response.status == 426)
        #expect(response.head.contains("Sec-WebSocket-Version: 13"))
    }

    @Test("one encoded frame fans out to every subscriber; a subscriber that never reads is closed with 1008, the rest get everything")
    func fanOutAndSlowConsumer() throws {
        let fixture = try Fixture(limits: .init(maxQueuedBytes: 256 * 1024))
        defer { fixture.stop() }
        let readers = try (0..<20).map { _ in try Self.handshake(port: fixture.port) }
        // Kept open to the end of the test, like `stalled`: an optimized build releases the
        // array (closing every reader's socket, which the server reports as 1006) right after
        // its last use in the loop below, before the closes are checked.
        defer { withExtendedLifetime(readers) {} }
        // Connected and never read; kept open to the end of the test.
        let stalled = try Self.handshake(port: fixture.port)
        defer { withExtendedLifetime(stalled) {} }
        for _ in 0..<1_000 where fixture.channels.count < 21 { usleep(5_000) }
        // 300 messages of 64 KiB (19 MiB), each encoded once and queued to all 21 channels.
        // The stalled client's socket buffers fill, then its queue passes 256 KiB.
        let payload = [UInt8](repeating: 0x61, count: 64 * 1024)
        for round in 0..<300 {
            fixture.onLoop {
                let frame = OutboundBytes(WebSocketFrameEncoder.encode(opcode: .binary, payload: [UInt8(round & 0xFF)] + payload))
                for channel in fixture.channels { channel.send(frame: frame) }
            }
            // Readers drain as they go.
            for reader in readers { _ = reader.socket.receive(frame(payloadCount: payload.count + 1)) }
        }
        #expect(fixture.waitForCloses(1) == [1008])
        fixture.onLoop {
            #expect(fixture.channels.filter(\.isClosed).count == 1)
        }
    }

    /// Bytes on the wire of a server frame with `payloadCount` bytes (64-bit length form above 65535).
    func frame(payloadCount: Int) -> Int { payloadCount + (payloadCount < 126 ? 2 : payloadCount <= 65_535 ? 4 : 10) }
}
