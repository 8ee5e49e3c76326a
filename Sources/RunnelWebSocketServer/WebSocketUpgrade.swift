import RunnelHTTP
import RunnelHTTPServer
import RunnelWebSocket

/// Answers an HTTP request that asks for a WebSocket: the 101 response and a
/// ``WebSocketChannel`` on the connection, or the handshake's refusal as an HTTP error
/// (400, 405, or 426 with `Sec-WebSocket-Version: 13`). permessage-deflate is agreed to
/// when the client offers it in a form this server supports (``PerMessageDeflate``).
public enum WebSocketUpgrade {
    /// The server's reply to `request`; `onOpen` receives the channel (on the loop, before
    /// any message is delivered, so it can install its callbacks). `compression: false`
    /// declines permessage-deflate whatever the client offers.
    public static func reply(to request: HTTPRequest, limits: WebSocketChannel.Limits = .init(), compression: Bool = true,
                             onOpen: @escaping (WebSocketChannel) -> Void) -> HTTPServer.Reply {
        switch WebSocketHandshake.response(method: request.method, headers: request.headers) {
        case .failure(let refusal):
            var response = HTTPResponse.error(refusal.status, refusal.description)
            response.headers += refusal.headers
            return .response(response)
        case .success(var headers):
            let offers = request.headers.filter { $0.name.lowercased() == "sec-websocket-extensions" }.map(\.value)
            let deflate = compression ? PerMessageDeflate.negotiate(offers: offers) : nil
            if let deflate { headers.append(("Sec-WebSocket-Extensions", deflate.responseValue)) }
            return .upgrade(HTTPResponse(status: 101, headers: headers)) { connection, initialBytes in
                onOpen(WebSocketChannel(connection: connection, initialBytes: initialBytes, limits: limits, deflate: deflate))
            }
        }
    }
}
