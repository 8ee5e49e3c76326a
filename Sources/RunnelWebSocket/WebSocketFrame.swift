/// One WebSocket frame, its payload unmasked (RFC 6455 §5.2).
public struct WebSocketFrame: Equatable, Sendable {
    /// Whether this is the last frame of its message.
    public var fin: Bool
    /// The three reserved bits (RSV1–RSV3), nonzero only with an extension that defines them.
    public var reserved: UInt8
    /// The frame's kind.
    public var opcode: WebSocketOpcode
    /// The application data.
    public var payload: [UInt8]

    /// Creates a frame.
    public init(fin: Bool = true, reserved: UInt8 = 0, opcode: WebSocketOpcode, payload: [UInt8]) {
        self.fin = fin
        self.reserved = reserved
        self.opcode = opcode
        self.payload = payload
    }
}
