import CHTTPParser

/// Reads HTTP/1.1 requests from a connection's bytes as they arrive, with limits against
/// bad or hostile clients. Parsing is Debian's libhttp-parser (the parser Node.js used);
/// this class gathers its callbacks into ``HTTPRequest`` values.
///
/// Pipelined requests come out in order. After an upgrade request (WebSocket) the parser
/// stops: the bytes that follow are in ``remainder``, for the new protocol.
///
/// Thread safety: owned by one connection, on its loop.
public final class HTTPRequestParser {
    /// Limits on what one request may hold.
    public struct Limits: Sendable {
        /// Request line and header fields together, in bytes (431 beyond).
        public var maxHeaderBytes: Int
        /// Header fields (431 beyond).
        public var maxHeaderCount: Int
        /// Body bytes (413 beyond; refused from `Content-Length` before the body is read).
        public var maxBodyBytes: Int

        /// Creates limits.
        public init(maxHeaderBytes: Int = 16 * 1024, maxHeaderCount: Int = 100, maxBodyBytes: Int = 8 << 20) {
            self.maxHeaderBytes = maxHeaderBytes
            self.maxHeaderCount = maxHeaderCount
            self.maxBodyBytes = maxBodyBytes
        }
    }

    /// Why the bytes read are not an acceptable request; the connection answers with
    /// ``status`` and closes.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// Not HTTP/1.x as libhttp-parser reads it (400).
        case malformed(String)
        /// The request line and headers exceed the limits (431).
        case headersTooLarge
        /// The body exceeds the limit (413).
        case bodyTooLarge(limit: Int)

        /// The HTTP status to answer with.
        public var status: Int {
            switch self {
            case .malformed: return 400
            case .headersTooLarge: return 431
            case .bodyTooLarge: return 413
            }
        }

        public var description: String {
            switch self {
            case .malformed(let why): return "malformed request: \(why)"
            case .headersTooLarge: return "request headers too large"
            case .bodyTooLarge(let limit): return "request body larger than \(limit) bytes"
            }
        }
    }

    /// The limits in force.
    public let limits: Limits
    /// Whether an upgrade request was read (nothing more is parsed).
    public private(set) var upgraded = false
    /// Bytes received after an upgrade request.
    public private(set) var remainder: [UInt8] = []

    private let parser: UnsafeMutablePointer<http_parser>
    private let settings: UnsafeMutablePointer<http_parser_settings>
    // The request being read.
    private var target: [UInt8] = []
    private var headers: [(name: String, value: String)] = []
    private var field: [UInt8] = []
    private var value: [UInt8] = []
    private var readingValue = false
    private var headerBytes = 0
    private var body: [UInt8] = []
    private var completed: [HTTPRequest] = []
    private var failure: Failure?

    /// Creates a parser for one connection.
    public init(limits: Limits = Limits()) {
        self.limits = limits
        parser = .allocate(capacity: 1)
        settings = .allocate(capacity: 1)
        http_parser_init(parser, HTTP_REQUEST)
        http_parser_settings_init(settings)
        settings.pointee.on_message_begin = { p in HTTPRequestParser.of(p).messageBegan() }
        settings.pointee.on_url = { p, at, n in HTTPRequestParser.of(p).take(at, n) { $0.target.append(contentsOf: $1) } }
        settings.pointee.on_header_field = { p, at, n in HTTPRequestParser.of(p).take(at, n) { $0.headerField($1) } }
        settings.pointee.on_header_value = { p, at, n in HTTPRequestParser.of(p).take(at, n) { $0.headerValue($1) } }
        settings.pointee.on_headers_complete = { p in HTTPRequestParser.of(p).headersCompleted() }
        settings.pointee.on_body = { p, at, n in HTTPRequestParser.of(p).bodyChunk(at, n) }
        settings.pointee.on_message_complete = { p in HTTPRequestParser.of(p).messageCompleted() }
        parser.pointee.data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        parser.deallocate()
        settings.deallocate()
    }

    private static func of(_ p: UnsafeMutablePointer<http_parser>?) -> HTTPRequestParser {
        Unmanaged<HTTPRequestParser>.fromOpaque(p!.pointee.data).takeUnretainedValue()
    }

    /// Reads bytes from the connection; returns the requests they completed.
    /// - Throws: ``Failure`` when the bytes are not an acceptable request.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> [HTTPRequest] {
        if let failure { throw failure }
        guard !upgraded else {
            remainder.append(contentsOf: bytes)
            return []
        }
        guard bytes.count > 0 else { return [] }
        let parsed = bytes.withMemoryRebound(to: CChar.self) { http_parser_execute(parser, settings, $0.baseAddress, $0.count) }
        if let failure { throw failure }
        let code = runnel_http_errno(parser)
        guard code == HPE_OK.rawValue else {
            let failure = Failure.malformed(String(cString: http_errno_description(http_errno(rawValue: code))))
            self.failure = failure
            throw failure
        }
        if runnel_http_upgrade(parser) != 0 {
            upgraded = true
            remainder.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[parsed...]))
        } else if parsed != bytes.count {
            let failure = Failure.malformed("parser stopped after \(parsed) of \(bytes.count) bytes")
            self.failure = failure
            throw failure
        }
        defer { completed.removeAll() }
        return completed
    }

    /// After ``feed(_:)`` threw: the requests of that input that were complete before the
    /// malformed one (a server answers them before the error).
    public func takeCompletedBeforeFailure() -> [HTTPRequest] {
        defer { completed.removeAll() }
        return completed
    }

    /// Convenience for tests and small inputs.
    public func feed(_ bytes: [UInt8]) throws(Failure) -> [HTTPRequest] {
        var result: Result<[HTTPRequest], Failure> = .success([])
        bytes.withUnsafeBytes { raw in
            do throws(Failure) { result = .success(try feed(raw)) } catch { result = .failure(error) }
        }
        return try result.get()
    }

    // MARK: Callbacks (return nonzero to stop the parser)

    private func stop(_ failure: Failure) -> Int32 {
        self.failure = failure
        return 1
    }

    private func take(_ at: UnsafePointer<CChar>?, _ count: Int, _ body: (HTTPRequestParser, UnsafeRawBufferPointer) -> Void) -> Int32 {
        headerBytes += count
        guard headerBytes <= limits.maxHeaderBytes else { return stop(.headersTooLarge) }
        body(self, UnsafeRawBufferPointer(start: at, count: count))
        return 0
    }

    private func messageBegan() -> Int32 {
        target = []
        headers = []
        field = []
        value = []
        readingValue = false
        headerBytes = 0
        body = []
        return 0
    }

    private func headerField(_ bytes: UnsafeRawBufferPointer) {
        if readingValue { finishHeader() }
        field.append(contentsOf: bytes)
    }

    private func headerValue(_ bytes: UnsafeRawBufferPointer) {
        readingValue = true
        value.append(contentsOf: bytes)
    }

    private func finishHeader() {
        headers.append((String(decoding: field, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        field = []
        value = []
        readingValue = false
    }

    private func headersCompleted() -> Int32 {
        if readingValue { finishHeader() }
        guard headers.count <= limits.maxHeaderCount else { return stop(.headersTooLarge) }
        // Refuse a declared body that is too large before reading any of it. (With no
        // Content-Length, libhttp-parser reports ULLONG_MAX; chunked bodies are counted
        // as they arrive.)
        let declared = parser.pointee.content_length
        if declared != UInt64.max && declared > UInt64(limits.maxBodyBytes) { return stop(.bodyTooLarge(limit: limits.maxBodyBytes)) }
        return 0
    }

    private func bodyChunk(_ at: UnsafePointer<CChar>?, _ count: Int) -> Int32 {
        guard body.count + count <= limits.maxBodyBytes else { return stop(.bodyTooLarge(limit: limits.maxBodyBytes)) }
        body.append(contentsOf: UnsafeRawBufferPointer(start: at, count: count))
        return 0
    }

    private func messageCompleted() -> Int32 {
        // A refused message (for a nonzero return from on_headers_complete, http-parser
        // skips the body and still completes the message) is not a request.
        guard failure == nil else { return 1 }
        let method = String(cString: http_method_str(http_method(rawValue: runnel_http_method(parser))))
        completed.append(HTTPRequest(
            method: method, target: String(decoding: target, as: UTF8.self),
            version: (Int(parser.pointee.http_major), Int(parser.pointee.http_minor)),
            headers: headers, body: body, keepAlive: http_should_keep_alive(parser) != 0,
            isUpgrade: runnel_http_upgrade(parser) != 0))
        return 0
    }
}
