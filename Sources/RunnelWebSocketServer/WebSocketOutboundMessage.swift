import RunnelRuntime
import RunnelWebSocket

/// A data message to send to one or many channels, encoded at most once per form: plain,
/// and compressed once per window size that some channel negotiated. The live feed hands
/// the same message to every subscriber of a topic, so a message is compressed once, not
/// once per subscriber (permessage-deflate is negotiated without server context takeover,
/// so the compressed bytes are the same for every client).
///
/// Thread safety: confined to the loop of the channels it is sent to.
public final class WebSocketOutboundMessage {
    /// Text or binary.
    public let opcode: WebSocketOpcode
    /// The message's bytes.
    public let payload: [UInt8]
    private var plainFrame: OutboundBytes?
    private var compressedFrames: [Int: OutboundBytes] = [:]

    /// A text message.
    public init(text: String) {
        opcode = .text
        payload = Array(text.utf8)
    }

    /// A binary message.
    public init(binary: [UInt8]) {
        opcode = .binary
        payload = binary
    }

    /// The frame for a channel that negotiated `deflate` (or nothing).
    public func frame(for deflate: PerMessageDeflate?) -> OutboundBytes {
        guard let deflate, payload.count >= PerMessageDeflate.minimumCompressedSize else {
            if let plainFrame { return plainFrame }
            let frame = OutboundBytes(WebSocketFrameEncoder.encode(opcode: opcode, payload: payload))
            plainFrame = frame
            return frame
        }
        if let frame = compressedFrames[deflate.serverMaxWindowBits] { return frame }
        let frame = OutboundBytes(WebSocketFrameEncoder.compressedMessage(opcode: opcode, payload: payload, deflate: deflate))
        compressedFrames[deflate.serverMaxWindowBits] = frame
        return frame
    }
}
