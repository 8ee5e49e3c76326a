/// Writes WebSocket frames (RFC 6455 §5.2). A server's frames are unmasked, so one encoded
/// message can be written to every subscriber as it is; a client's are masked.
public enum WebSocketFrameEncoder {
    /// The bytes of one frame.
    /// - Parameters:
    ///   - compressed: sets RSV1, which marks the first frame of a message compressed with
    ///     permessage-deflate (the payload must be compressed already: see
    ///     ``compressedMessage(opcode:payload:deflate:)``).
    ///   - maskingKey: the client's masking key; nil for a server's frames.
    public static func encode(opcode: WebSocketOpcode, payload: some Collection<UInt8>, fin: Bool = true, compressed: Bool = false,
                              maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] {
        let count = payload.count
        var frame: [UInt8] = []
        frame.reserveCapacity(count + 14)
        frame.append((fin ? 0x80 : 0) | (compressed ? 0x40 : 0) | opcode.rawValue)
        let maskBit: UInt8 = maskingKey == nil ? 0 : 0x80
        if count < 126 {
            frame.append(maskBit | UInt8(count))
        } else if count <= 0xFFFF {
            frame.append(maskBit | 126)
            frame.append(UInt8(count >> 8))
            frame.append(UInt8(count & 0xFF))
        } else {
            frame.append(maskBit | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8(truncatingIfNeeded: UInt64(count) >> UInt64(shift))) }
        }
        guard let key = maskingKey else {
            frame.append(contentsOf: payload)
            return frame
        }
        frame.append(contentsOf: [key.0, key.1, key.2, key.3])
        var masked = Array(payload)
        WebSocketFrameParser.unmask(&masked, key: key)
        frame.append(contentsOf: masked)
        return frame
    }

    /// A data message in one frame, compressed with permessage-deflate when `deflate` is
    /// given and the payload is at least ``PerMessageDeflate/minimumCompressedSize`` bytes.
    public static func compressedMessage(opcode: WebSocketOpcode, payload: [UInt8], deflate: PerMessageDeflate?,
                                         maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] {
        guard let deflate, payload.count >= PerMessageDeflate.minimumCompressedSize else {
            return encode(opcode: opcode, payload: payload, maskingKey: maskingKey)
        }
        return encode(opcode: opcode, payload: MessageDeflate.compress(payload, windowBits: deflate.serverMaxWindowBits),
                      compressed: true, maskingKey: maskingKey)
    }

    /// A text message in one frame.
    public static func text(_ text: String, maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] {
        encode(opcode: .text, payload: Array(text.utf8), maskingKey: maskingKey)
    }

    /// A close frame with a status code and a reason (cut to fit the 125-byte limit of
    /// control frames, at a character boundary).
    public static func close(code: WebSocketCloseCode, reason: String = "",
                             maskingKey: (UInt8, UInt8, UInt8, UInt8)? = nil) -> [UInt8] {
        var payload: [UInt8] = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var reasonBytes = 0
        for character in reason {
            let utf8 = Array(String(character).utf8)
            guard reasonBytes + utf8.count <= 123 else { break }
            payload.append(contentsOf: utf8)
            reasonBytes += utf8.count
        }
        return encode(opcode: .close, payload: payload, maskingKey: maskingKey)
    }
}
