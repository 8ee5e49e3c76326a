import RunnelHTTP
import RunnelHTTPServer
import RunnelWebSocket

/// Answers an HTTP request that asks for a WebSocket: the 101 response and a
/// ``WebSocketChannel`` on the connection, or the handshake's refusal as an HTTP error
/// (400, 405, or 426 with `Sec-WebSocket-Version: 13`).
public enum WebSocketUpgrade {
    /// The server's reply to `request`; `onOpen` receives the channel (on the loop, before
    /// any message is delivered, so it can install its callbacks).
    public static func reply(to request: HTTPRequest, limits: WebSocketChannel.Limits = .init(),
                             onOpen: @escaping (WebSocketChannel) -> Void) -> HTTPServer.Reply {
        switch WebSocketHandshake.response(method: request.method, headers: request.headers) {
        case .failure(let refusal):
            var response = HTTPResponse.error(refusal.status, refusal.description)
            response.headers += refusal.headers
            return .response(response)
        case .success(let headers):
            return .upgrade(HTTPResponse(status: 101, headers: headers)) { connection, initialBytes in
                onOpen(WebSocketChannel(connection: connection, initialBytes: initialBytes, limits: limits))
            }
        }
    }
}
