import RunnelWebSocket

/// A WebSocket client over a ``BlockingSocketClient``, for tests of servers: it sends the
/// upgrade request, masked text messages and any raw bytes a test wants, and reads frames
/// one at a time (decompressing permessage-deflate messages when it offered the extension).
/// Every read gives up after the socket's timeout, so a broken server fails a test instead
/// of hanging it.
public final class BlockingWebSocketClient {
    /// The socket, for raw bytes (frames no library would send) and end-of-file checks.
    public let socket: BlockingSocketClient
    /// The masking key of the messages sent with ``send(_:)``.
    public let maskingKey: (UInt8, UInt8, UInt8, UInt8)
    private var parser = WebSocketFrameParser(role: .client, maxFramePayload: 1 << 20)
    private var response: String?

    /// Connects to `127.0.0.1:port` and sends the upgrade request for `path` (with
    /// `?token=` when given, `extensions` as `Sec-WebSocket-Extensions`, and any other
    /// `headers`).
    public init(port: Int, path: String = "/v1/feed", token: String? = nil, extensions: String? = nil,
                headers: [(name: String, value: String)] = [],
                maskingKey: (UInt8, UInt8, UInt8, UInt8) = (9, 8, 7, 6), timeoutSeconds: Int = 10) throws {
        socket = try BlockingSocketClient(port: port, timeoutSeconds: timeoutSeconds)
        self.maskingKey = maskingKey
        parser.allowsCompressedMessages = extensions != nil
        var request = "GET \(path)\(token.map { "?token=" + $0 } ?? "") HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        request += "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        if let extensions { request += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        socket.send(request + "\r\n")
    }

    /// The head of the server's response to the upgrade request (read once, on first use).
    public func handshakeResponse() -> String {
        if let response { return response }
        let head = socket.receive(until: "\r\n\r\n")
        response = head
        return head
    }

    /// The status line of the response to the upgrade request.
    public func handshakeStatus() -> String {
        // ("\r\n" is one Character in Swift.)
        String(handshakeResponse().prefix { $0 != "\r\n" })
    }

    /// Sends a masked text message.
    public func send(_ text: String) { socket.send(WebSocketFrameEncoder.text(text, maskingKey: maskingKey)) }

    /// The next frame of any kind, or nil when the server closed the socket or the read
    /// timed out (or sent something that is not a valid frame).
    public func nextFrame() -> WebSocketFrame? {
        _ = handshakeResponse()
        while true {
            if let frame = try? parser.nextFrame() { return frame }
            let bytes = socket.receive(1)
            if bytes.isEmpty { return nil }
            parser.append(bytes)
        }
    }

    /// The next message if it is text (decompressed if it came compressed), and whether it
    /// came compressed; nil for any other frame, a close or a timeout.
    public func nextText() -> (text: String, compressed: Bool)? {
        guard let frame = nextFrame(), frame.opcode == .text else { return nil }
        let compressed = frame.reserved & 0x4 != 0
        let payload = compressed ? (try? MessageDeflate.decompress(frame.payload, limit: 1 << 20)) ?? [] : frame.payload
        return (String(decoding: payload, as: UTF8.self), compressed)
    }

    /// The next text message, or nil for any other frame, a close or a timeout.
    public func next() -> String? { nextText()?.text }

    /// Text messages until one contains `text` (nil if the feed ends or times out first).
    public func next(containing text: String) -> String? {
        while let message = next() { if message.contains(text) { return message } }
        return nil
    }

    /// The code of the server's close frame (skipping messages), or nil if none came.
    public func closeCode() -> UInt16? {
        while let frame = nextFrame() {
            if frame.opcode == .close, frame.payload.count >= 2 { return UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) }
        }
        return nil
    }
}
