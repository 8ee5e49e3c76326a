/// A complete message received on a WebSocket.
public enum WebSocketMessage: Equatable, Sendable {
    /// A text message (valid UTF-8).
    case text(String)
    /// A binary message.
    case binary([UInt8])
}

/// What the transport must do after ``WebSocketConnection`` read some bytes.
public enum WebSocketConnectionOutput: Equatable, Sendable {
    /// A message for the application.
    case message(WebSocketMessage)
    /// Bytes to write to the peer (a pong, or a close frame).
    case send([UInt8])
    /// The connection is over: write what was sent before, then close the socket. `code`
    /// is the peer's close code (1005 when its close frame had none), or the code this
    /// side failed the connection with.
    case closeTransport(code: WebSocketCloseCode, reason: String)
}

/// The protocol side of one WebSocket connection (RFC 6455 §5–7), as a value with no I/O:
/// the transport hands it the bytes it reads and carries out what it returns.
///
/// It assembles fragmented messages, checks text for UTF-8, answers pings, runs the
/// closing handshake in both directions and fails the connection with the right close code
/// on any violation: 1002 for protocol errors, 1007 for invalid UTF-8 (or compressed data
/// that does not decompress), 1009 for messages over the size limit (compressed messages
/// count at their decompressed size).
///
/// With permessage-deflate negotiated (``deflate``), messages whose first frame has RSV1
/// set are decompressed before delivery.
public struct WebSocketConnection: Sendable {
    /// Where the connection is in its life.
    public enum State: Equatable, Sendable {
        /// Messages flow both ways.
        case open
        /// This side sent a close frame and waits for the peer's (data from the peer is
        /// dropped meanwhile).
        case closing
        /// The closing handshake is done or the connection failed: nothing more is read.
        case closed
    }

    /// Where the connection is.
    public private(set) var state = State.open
    /// The largest message accepted (the sum of its fragments).
    public let maxMessageSize: Int
    /// permessage-deflate, if the handshake negotiated it.
    public let deflate: PerMessageDeflate?
    private var parser: WebSocketFrameParser
    /// A fragmented message being received.
    private var partial: PartialMessage?
    /// The UTF-8 check of the text frame still arriving, and how many of its payload bytes
    /// it has seen.
    private var arriving: (validator: UTF8Validator, checked: Int)?

    private struct PartialMessage: Sendable {
        var opcode: WebSocketOpcode
        var payload: [UInt8]
        var compressed: Bool
        /// The UTF-8 check of an uncompressed text message so far.
        var utf8: UTF8Validator?
    }

    /// Creates the server side of a connection whose handshake is done.
    public init(maxMessageSize: Int = 1 << 20, deflate: PerMessageDeflate? = nil) {
        self.maxMessageSize = maxMessageSize
        self.deflate = deflate
        parser = WebSocketFrameParser(role: .server, maxFramePayload: maxMessageSize)
        parser.allowsCompressedMessages = deflate != nil
    }

    /// Reads bytes from the peer; returns what to do, in order.
    public mutating func receive(_ bytes: some Sequence<UInt8>) -> [WebSocketConnectionOutput] {
        guard state != .closed else { return [] }
        parser.append(bytes)
        var outputs: [WebSocketConnectionOutput] = []
        do {
            while state != .closed, let frame = try parser.nextFrame() {
                arriving = nil
                try handle(frame, into: &outputs)
            }
            if state == .open { try checkArrivingText() }
        } catch {
            fail(error, into: &outputs)
        }
        return outputs
    }

    /// Starts the closing handshake from this side; returns the close frame to send, or nil
    /// when it was started already or the connection is closed.
    public mutating func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") -> [UInt8]? {
        guard state == .open else { return nil }
        state = .closing
        partial = nil
        arriving = nil
        return WebSocketFrameEncoder.close(code: code, reason: reason)
    }

    private mutating func handle(_ frame: WebSocketFrame, into outputs: inout [WebSocketConnectionOutput]) throws(WebSocketProtocolError) {
        switch frame.opcode {
        case .text, .binary:
            guard partial == nil else {
                throw WebSocketProtocolError(.protocolError, "a new message began before the previous one was finished")
            }
            let compressed = frame.reserved & 0x4 != 0
            var utf8: UTF8Validator?
            if frame.opcode == .text && !compressed {
                var validator = UTF8Validator()
                guard validator.feed(frame.payload) else { throw Self.invalidText }
                utf8 = validator
            }
            if frame.fin {
                try deliver(frame.opcode, frame.payload, compressed: compressed, utf8: utf8, into: &outputs)
            } else {
                partial = PartialMessage(opcode: frame.opcode, payload: frame.payload, compressed: compressed, utf8: utf8)
            }
        case .continuation:
            guard var message = partial else {
                throw WebSocketProtocolError(.protocolError, "continuation frame without a message to continue")
            }
            guard message.payload.count + frame.payload.count <= maxMessageSize else {
                throw WebSocketProtocolError(.messageTooBig, "message exceeds the limit of \(maxMessageSize) bytes")
            }
            partial = nil
            if message.utf8 != nil {
                guard message.utf8!.feed(frame.payload) else { throw Self.invalidText }
            }
            message.payload.append(contentsOf: frame.payload)
            if frame.fin {
                try deliver(message.opcode, message.payload, compressed: message.compressed, utf8: message.utf8, into: &outputs)
            } else {
                partial = message
            }
        case .ping:
            if state == .open { outputs.append(.send(WebSocketFrameEncoder.encode(opcode: .pong, payload: frame.payload))) }
        case .pong:
            break
        case .close:
            try closeReceived(frame.payload, into: &outputs)
        }
    }

    private static let invalidText = WebSocketProtocolError(.invalidPayload, "text message is not valid UTF-8")

    /// Checks the part of an uncompressed text frame that has arrived so far, so that
    /// invalid UTF-8 fails the connection at once, not when the frame is complete.
    private mutating func checkArrivingText() throws(WebSocketProtocolError) {
        guard let (opcode, compressed) = parser.partialFrameHeader() else { return }
        var validator: UTF8Validator
        if let arriving {
            validator = arriving.validator
        } else if opcode == .text && !compressed && partial == nil {
            validator = UTF8Validator()
        } else if opcode == .continuation, let continued = partial?.utf8 {
            validator = continued
        } else {
            // Binary, compressed or not part of a text message: nothing to check (and nothing
            // copied — a large binary frame arriving in many reads must not be re-read each time).
            return
        }
        let bytes = parser.partialFramePayload(from: arriving?.checked ?? 0)
        guard validator.feed(bytes) else { throw Self.invalidText }
        arriving = (validator, (arriving?.checked ?? 0) + bytes.count)
    }

    private func deliver(_ opcode: WebSocketOpcode, _ received: [UInt8], compressed: Bool, utf8: UTF8Validator?,
                         into outputs: inout [WebSocketConnectionOutput]) throws(WebSocketProtocolError) {
        // After sending a close frame, data from the peer is dropped (RFC 6455 §5.5.1).
        guard state == .open else { return }
        var payload = received
        if compressed {
            do {
                payload = try MessageDeflate.decompress(received, limit: maxMessageSize)
            } catch .tooLarge {
                throw WebSocketProtocolError(.messageTooBig, "message exceeds the limit of \(maxMessageSize) bytes once decompressed")
            } catch {
                throw WebSocketProtocolError(.invalidPayload, "compressed message does not decompress")
            }
        }
        if opcode == .text {
            if let utf8 {
                // Checked as it arrived; it must not end inside a character.
                guard utf8.isAtCharacterBoundary else { throw Self.invalidText }
                outputs.append(.message(.text(String(decoding: payload, as: UTF8.self))))
            } else {
                guard let text = String(validating: payload, as: UTF8.self) else { throw Self.invalidText }
                outputs.append(.message(.text(text)))
            }
        } else {
            outputs.append(.message(.binary(payload)))
        }
    }

    private mutating func closeReceived(_ payload: [UInt8], into outputs: inout [WebSocketConnectionOutput]) throws(WebSocketProtocolError) {
        var code: WebSocketCloseCode?
        var reason = ""
        if payload.count == 1 { throw WebSocketProtocolError(.protocolError, "close frame with a 1-byte payload") }
        if payload.count >= 2 {
            let received = WebSocketCloseCode(rawValue: UInt16(payload[0]) << 8 | UInt16(payload[1]))
            guard received.isValidOnTheWire else {
                throw WebSocketProtocolError(.protocolError, "close code \(received) may not be sent")
            }
            guard let text = String(validating: payload[2...], as: UTF8.self) else {
                throw WebSocketProtocolError(.invalidPayload, "close reason is not valid UTF-8")
            }
            code = received
            reason = text
        }
        if state == .open {
            // Echo the peer's code (RFC 6455 §5.5.1); a close without a code is answered
            // without one.
            let reply = code.map { WebSocketFrameEncoder.close(code: $0) } ?? WebSocketFrameEncoder.encode(opcode: .close, payload: [])
            outputs.append(.send(reply))
        }
        state = .closed
        partial = nil
        outputs.append(.closeTransport(code: code ?? WebSocketCloseCode(rawValue: 1005), reason: reason))
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with the error's code unless
    /// one was sent already, then the socket is closed.
    private mutating func fail(_ error: WebSocketProtocolError, into outputs: inout [WebSocketConnectionOutput]) {
        if state == .open { outputs.append(.send(WebSocketFrameEncoder.close(code: error.code, reason: error.reason))) }
        state = .closed
        partial = nil
        outputs.append(.closeTransport(code: error.code, reason: error.reason))
    }
}
