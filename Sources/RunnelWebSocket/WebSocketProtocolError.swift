/// A violation of RFC 6455 by the peer: the connection fails with `code` (sent in a close
/// frame) and `reason`.
public struct WebSocketProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The close code that reports it.
    public var code: WebSocketCloseCode
    /// What was wrong, for the close frame and logs.
    public var reason: String

    /// Creates an error.
    public init(_ code: WebSocketCloseCode, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { "\(code): \(reason)" }
}
