/// An HTTP/1.1 request as read from a connection.
public struct HTTPRequest: Sendable, Equatable {
    /// The method (`GET`, `POST`, …).
    public var method: String
    /// The request target as sent (path and query).
    public var target: String
    /// The protocol version.
    public var version: (major: Int, minor: Int)
    /// The header fields in the order received; names as sent.
    public var headers: [(name: String, value: String)]
    /// The body (chunked transfer coding already removed).
    public var body: [UInt8]
    /// Whether the connection stays open after the response (HTTP/1.1 default, or
    /// `Connection: keep-alive` on HTTP/1.0).
    public var keepAlive: Bool
    /// Whether this is an upgrade request (e.g. to WebSocket); the bytes after it belong to
    /// the new protocol.
    public var isUpgrade: Bool

    /// Creates a request.
    public init(method: String, target: String, version: (major: Int, minor: Int) = (1, 1),
                headers: [(name: String, value: String)] = [], body: [UInt8] = [], keepAlive: Bool = true,
                isUpgrade: Bool = false) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
    }

    /// The first value of a header field, its name matched without regard to case.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The path of the target, without the query.
    public var path: Substring { target.prefix { $0 != "?" } }

    /// The value of a query parameter (percent-decoding `%XX` and `+`), if present.
    public func queryParameter(_ name: String) -> String? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first.map(String.init) == name { return parts.count > 1 ? Self.percentDecoded(parts[1]) : "" }
        }
        return nil
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let c = utf8.popFirst() {
            if c == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%"), utf8.count >= 2,
                      let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func == (a: HTTPRequest, b: HTTPRequest) -> Bool {
        a.method == b.method && a.target == b.target && a.version == b.version
            && a.headers.map(\.name) == b.headers.map(\.name) && a.headers.map(\.value) == b.headers.map(\.value)
            && a.body == b.body && a.keepAlive == b.keepAlive && a.isUpgrade == b.isUpgrade
    }
}
