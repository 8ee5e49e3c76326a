import RunnelCrypto

/// The server side of the WebSocket opening handshake (RFC 6455 §4.2): checks an HTTP
/// upgrade request and gives the response headers, or the HTTP error to answer with.
public enum WebSocketHandshake {
    /// The GUID RFC 6455 appends to the client's key before hashing.
    public static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Why an upgrade request is refused.
    public enum Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not a GET request (405).
        case methodNotAllowed
        /// A header the handshake needs is missing or wrong (400).
        case badRequest(String)
        /// A WebSocket version other than 13 (426, with `Sec-WebSocket-Version: 13`).
        case unsupportedVersion(String?)

        /// The HTTP status to answer with.
        public var status: Int {
            switch self {
            case .methodNotAllowed: return 405
            case .badRequest: return 400
            case .unsupportedVersion: return 426
            }
        }

        /// Headers the refusal must carry.
        public var headers: [(name: String, value: String)] {
            if case .unsupportedVersion = self { return [("Sec-WebSocket-Version", "13")] }
            return []
        }

        public var description: String {
            switch self {
            case .methodNotAllowed: return "a WebSocket upgrade must be a GET request"
            case .badRequest(let why): return why
            case .unsupportedVersion(let version): return "unsupported WebSocket version \(version ?? "(none)"); this server speaks 13"
            }
        }
    }

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64 of the SHA-1 of the
    /// key and the GUID.
    public static func acceptValue(forKey key: String) -> String {
        Base64.encode(SHA1.hash(Array((key + guid).utf8)))
    }

    /// The headers of the 101 response to an upgrade request, or why it is refused.
    /// Header names are matched without regard to case; `Connection` may list other tokens.
    public static func response(method: String, headers: [(name: String, value: String)]) -> Result<[(name: String, value: String)], Refusal> {
        guard method == "GET" else { return .failure(.methodNotAllowed) }
        func values(_ name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
        func tokens(_ name: String) -> [String] {
            values(name).flatMap { $0.split(separator: ",") }.map { $0.trimmingWhitespace().lowercased() }
        }
        guard !values("Host").isEmpty else { return .failure(.badRequest("missing Host header")) }
        guard tokens("Upgrade").contains("websocket") else { return .failure(.badRequest("missing 'Upgrade: websocket'")) }
        guard tokens("Connection").contains("upgrade") else { return .failure(.badRequest("missing 'Connection: Upgrade'")) }
        let version = values("Sec-WebSocket-Version").first?.trimmingWhitespace()
        guard version == "13" else { return .failure(.unsupportedVersion(version)) }
        let keys = values("Sec-WebSocket-Key")
        guard keys.count == 1, let key = keys.first?.trimmingWhitespace(), Base64.decode(key)?.count == 16 else {
            return .failure(.badRequest("Sec-WebSocket-Key must be the base64 of 16 bytes"))
        }
        return .success([("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", acceptValue(forKey: key))])
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingWhitespace() -> String {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
