#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A blocking HTTP/1.1 client that posts NDJSON batches to a collector over one keep-alive
/// connection (reconnecting when the server closes it): what `creator-analytics load` needs,
/// and no more — plain HTTP, `Content-Length` bodies.
///
/// Written here rather than taken from a package: the HTTP clients in the mirror
/// (async-http-client) would add minutes to every clean build for one command.
public final class CollectorClient {
    /// Where batches go.
    public let host: String
    public let port: Int
    public let path: String
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    /// A response: status, headers (lowercased names) and body.
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: String
    }

    /// Errors of the connection or the protocol.
    public struct ClientError: Error, CustomStringConvertible {
        public var description: String
        /// Whether the collector could not be reached or dropped the connection (it may be
        /// restarting), as opposed to a bad URL or a reply that is not HTTP.
        public var isConnectionFailure = false
    }

    /// A client for `url` (`http://host[:port]/path`).
    public init(url: String) throws {
        guard let parts = URLComponents(string: url), parts.scheme == "http", let host = parts.host, !host.isEmpty else {
            throw ClientError(description: "not an http:// URL: \(url)")
        }
        self.host = host
        self.port = parts.port ?? 80
        self.path = parts.path.isEmpty ? "/" : parts.path + (parts.query.map { "?" + $0 } ?? "")
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Posts `body` as `application/x-ndjson`; retries once on a fresh connection when a
    /// kept-alive one turns out closed.
    public func post(_ body: [UInt8]) throws -> Response {
        do {
            return try exchange(body)
        } catch {
            disconnect()
            return try exchange(body)
        }
    }

    private func exchange(_ body: [UInt8]) throws -> Response {
        if fd < 0 { try connect() }
        let head = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(body.count)\r\n\r\n"
        try send(Array(head.utf8))
        try send(body)
        return try readResponse()
    }

    private func connect() throws {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else {
            throw ClientError(description: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let e = entry {
            let s = socket(e.pointee.ai_family, e.pointee.ai_socktype, e.pointee.ai_protocol)
            if s >= 0 {
                if Glibc.connect(s, e.pointee.ai_addr, e.pointee.ai_addrlen) == 0 {
                    fd = s
                    buffer.removeAll()
                    return
                }
                close(s)
            }
            entry = e.pointee.ai_next
        }
        throw ClientError(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))", isConnectionFailure: true)
    }

    private func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer.removeAll()
    }

    private func send(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ClientError(description: "send: \(String(cString: strerror(errno)))", isConnectionFailure: true)
            }
            done += n
        }
    }

    /// Reads more bytes into the buffer; throws when the connection closed.
    private func receiveMore() throws {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 && errno == EINTR { return }
        guard n > 0 else { throw ClientError(description: "the collector closed the connection", isConnectionFailure: true) }
        buffer.append(contentsOf: chunk.prefix(n))
    }

    private func readResponse() throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if let range = buffer.firstRange(of: separator) { end = range.upperBound } else { try receiveMore() }
        }
        let head = String(decoding: buffer[..<end!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError(description: "bad status line") }
        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < end! + length { try receiveMore() }
        let body = String(decoding: buffer[end!..<(end! + length)], as: UTF8.self)
        buffer.removeFirst(end! + length)
        if headers["connection"]?.lowercased() == "close" { disconnect() }
        return Response(status: status, headers: headers, body: body)
    }
}
