/// Reads WebSocket frames from a byte stream as it arrives (RFC 6455 §5.2): append the
/// bytes read, then take frames until it says more bytes are needed. No I/O.
///
/// Every rule that can be checked from a frame's header is checked as soon as the header
/// is in, before its payload arrives: reserved bits and opcodes, masking (a server must
/// receive masked frames, a client unmasked ones), control frames unfragmented and at most
/// 125 bytes, the 64-bit length's top bit, and the size limit — so an oversized frame is
/// refused without buffering it.
public struct WebSocketFrameParser: Sendable {
    /// Which end of the connection this parser reads for.
    public enum Role: Sendable {
        /// Reads what a client sends (frames must be masked).
        case server
        /// Reads what a server sends (frames must not be masked).
        case client
    }

    /// The end this parser reads for.
    public let role: Role
    /// The largest payload accepted in one frame; a larger frame fails with 1009.
    public let maxFramePayload: Int
    /// Whether permessage-deflate was negotiated: RSV1 may then mark the first frame of a
    /// compressed data message (never a control or continuation frame).
    public var allowsCompressedMessages = false
    private var buffer: [UInt8] = []
    private var start = 0

    /// Creates a parser.
    public init(role: Role, maxFramePayload: Int) {
        self.role = role
        self.maxFramePayload = maxFramePayload
    }

    /// Bytes received and not yet consumed by a complete frame.
    public var bufferedCount: Int { buffer.count - start }

    /// Adds bytes read from the connection.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// A frame's header, with offsets from the frame's first byte.
    private struct Header {
        var fin: Bool
        var reserved: UInt8
        var opcode: WebSocketOpcode
        var maskingKeyOffset: Int?
        var payloadOffset: Int
        var length: Int
    }

    /// The next complete frame (payload unmasked), or nil when more bytes are needed.
    /// - Throws: ``WebSocketProtocolError`` when the peer broke the protocol; the
    ///   connection must then be failed with its code.
    public mutating func nextFrame() throws(WebSocketProtocolError) -> WebSocketFrame? {
        guard let header = try header() else { return nil }
        guard buffer.count - start >= header.payloadOffset + header.length else { return nil }
        let payloadStart = start + header.payloadOffset
        var payload = Array(buffer[payloadStart..<(payloadStart + header.length)])
        if let k = header.maskingKeyOffset.map({ start + $0 }) {
            Self.unmask(&payload, key: (buffer[k], buffer[k + 1], buffer[k + 2], buffer[k + 3]))
        }
        start = payloadStart + header.length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        } else if start >= 1 << 16 && start * 2 >= buffer.count {
            // Drop consumed bytes now and then, so the buffer never holds much of them.
            buffer.removeFirst(start)
            start = 0
        }
        return WebSocketFrame(fin: header.fin, reserved: header.reserved, opcode: header.opcode, payload: payload)
    }

    /// For a frame whose header is in but not all of its payload (``nextFrame()`` returned
    /// nil): its opcode and whether RSV1 marks it compressed. Nil when no such frame waits.
    /// Lets a text message be checked while it arrives (``partialFramePayload(from:)``).
    public func partialFrameHeader() -> (opcode: WebSocketOpcode, compressed: Bool)? {
        guard let header = try? header(), buffer.count - start - header.payloadOffset < header.length else { return nil }
        return (header.opcode, header.reserved & 0x4 != 0)
    }

    /// The payload bytes from `offset` on that have arrived of the frame
    /// ``partialFrameHeader()`` describes, unmasked (empty when there are none).
    public func partialFramePayload(from offset: Int) -> [UInt8] {
        guard let header = try? header() else { return [] }
        let arrived = min(header.length, buffer.count - start - header.payloadOffset)
        guard arrived > offset else { return [] }
        let from = start + header.payloadOffset + offset
        var bytes = Array(buffer[from..<(from + arrived - offset)])
        if let k = header.maskingKeyOffset.map({ start + $0 }) {
            // The key cycles from the payload's first byte: rotate it to `offset`.
            let key = [buffer[k], buffer[k + 1], buffer[k + 2], buffer[k + 3]]
            let r = offset & 3
            Self.unmask(&bytes, key: (key[r], key[(r + 1) & 3], key[(r + 2) & 3], key[(r + 3) & 3]))
        }
        return bytes
    }

    /// The header of the frame at `start`, checked; nil until all its bytes are in.
    private func header() throws(WebSocketProtocolError) -> Header? {
        let available = buffer.count - start
        guard available >= 2 else { return nil }
        let b0 = buffer[start], b1 = buffer[start + 1]
        let reserved = (b0 >> 4) & 0x7
        guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else {
            throw WebSocketProtocolError(.protocolError, "reserved opcode \(b0 & 0x0F)")
        }
        if reserved != 0 {
            guard allowsCompressedMessages, reserved == 0x4 else {
                throw WebSocketProtocolError(.protocolError, "reserved bits set without an extension that defines them")
            }
            guard opcode == .text || opcode == .binary else {
                throw WebSocketProtocolError(.protocolError, "RSV1 (compressed) on a \(opcode.isControl ? "control" : "continuation") frame")
            }
        }
        let fin = b0 & 0x80 != 0
        let masked = b1 & 0x80 != 0
        var headerLength = 2
        var length = UInt64(b1 & 0x7F)
        if length == 126 {
            guard available >= 4 else { return nil }
            length = UInt64(buffer[start + 2]) << 8 | UInt64(buffer[start + 3])
            headerLength = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | UInt64(buffer[start + i]) }
            guard length >> 63 == 0 else { throw WebSocketProtocolError(.protocolError, "64-bit length with its top bit set") }
            headerLength = 10
        }
        if opcode.isControl {
            guard fin else { throw WebSocketProtocolError(.protocolError, "fragmented control frame") }
            guard length <= 125 else { throw WebSocketProtocolError(.protocolError, "control frame with over 125 bytes") }
        }
        switch role {
        case .server where !masked: throw WebSocketProtocolError(.protocolError, "unmasked frame from a client")
        case .client where masked: throw WebSocketProtocolError(.protocolError, "masked frame from a server")
        default: break
        }
        guard length <= UInt64(maxFramePayload) else {
            throw WebSocketProtocolError(.messageTooBig, "frame of \(length) bytes exceeds the limit of \(maxFramePayload)")
        }
        if masked && available < headerLength + 4 { return nil }
        return Header(fin: fin, reserved: reserved, opcode: opcode, maskingKeyOffset: masked ? headerLength : nil,
                      payloadOffset: headerLength + (masked ? 4 : 0), length: Int(length))
    }

    /// XORs `payload` with the 4-byte masking key (RFC 6455 §5.3), eight bytes at a time.
    static func unmask(_ payload: inout [UInt8], key: (UInt8, UInt8, UInt8, UInt8)) {
        let pattern = [key.0, key.1, key.2, key.3]
        payload.withUnsafeMutableBytes { raw in
            var word: UInt64 = 0
            withUnsafeMutableBytes(of: &word) { w in
                for i in 0..<8 { w[i] = pattern[i & 3] }
            }
            var i = 0
            while i + 8 <= raw.count {
                let value = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ word
                raw.storeBytes(of: value, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < raw.count {
                raw[i] ^= pattern[i & 3]
                i += 1
            }
        }
    }
}
