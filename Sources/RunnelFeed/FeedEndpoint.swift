import RunnelAuth
import RunnelHTTP
import RunnelHTTPServer
import RunnelWebSocketServer

/// `GET /v1/feed`: checks the client's token (`Authorization: Bearer …` or `?token=…`),
/// then upgrades to WebSocket and hands the channel to the hub. A missing, invalid or
/// expired token is refused with 401 before the upgrade.
public enum FeedEndpoint {
    /// The reply to a feed request. With no verifier (a server started with
    /// `--insecure-no-auth`), every client is an admin.
    public static func reply(to request: HTTPRequest, verifier: HS256TokenVerifier?, now: Int64, hub: FeedHub,
                             limits: WebSocketChannel.Limits = .init()) -> HTTPServer.Reply {
        let token: AccessToken
        if let verifier {
            let bearer = request.header("Authorization").flatMap { value -> String? in
                let parts = value.split(separator: " ", maxSplits: 1)
                return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : nil
            }
            guard let presented = bearer ?? request.queryParameter("token") else {
                return .response(.error(401, "a token is required (Authorization: Bearer or ?token=)"))
            }
            do {
                token = try verifier.verify(presented, now: now)
            } catch {
                return .response(.error(401, error.description))
            }
        } else {
            token = AccessToken(subject: "anonymous", role: .admin, expiresAt: .max)
        }
        return WebSocketUpgrade.reply(to: request, limits: limits) { channel in hub.add(channel, token: token) }
    }
}
