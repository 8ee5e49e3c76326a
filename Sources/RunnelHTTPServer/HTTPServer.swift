import RunnelHTTP
import RunnelRuntime

/// An HTTP/1.1 server on one libuv loop: keep-alive, pipelining, upgrades (for the
/// WebSocket feed), and limits against bad or hostile clients.
///
/// Limits: the request line, headers and body (see ``HTTPRequestParser/Limits``: 431 and
/// 413), the number of open connections (503 beyond), a request timeout (a request must
/// arrive whole within it of its first byte: slowloris clients get 408 and are closed) and
/// an idle timeout (a keep-alive connection with no request in that time is closed).
///
/// Thread safety: created and used on its loop's thread; the handler runs there too.
public final class HTTPServer {
    /// Where and how the server listens.
    public struct Configuration: Sendable {
        /// The address to bind (IPv4 or IPv6 text).
        public var host: String
        /// The port (0: any free port; see ``HTTPServer/port``).
        public var port: Int
        /// Request size limits.
        public var limits: HTTPRequestParser.Limits
        /// Open connections at most; more are answered 503 and closed.
        public var maxConnections: Int
        /// A request must arrive whole within this many milliseconds of its first byte.
        public var requestTimeoutMilliseconds: UInt64
        /// A connection without a request for this long is closed.
        public var idleTimeoutMilliseconds: UInt64

        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int = 0, limits: HTTPRequestParser.Limits = .init(),
                    maxConnections: Int = 10_000, requestTimeoutMilliseconds: UInt64 = 10_000,
                    idleTimeoutMilliseconds: UInt64 = 60_000) {
            self.host = host
            self.port = port
            self.limits = limits
            self.maxConnections = maxConnections
            self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
            self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        }
    }

    /// What the handler makes of a request.
    public enum Reply {
        /// Send this response (the connection stays open if the request allows).
        case response(HTTPResponse)
        /// Switch protocols: send this 101 response, then hand the connection and the bytes
        /// that followed the request to `takeOver` (the server lets go of the connection).
        case upgrade(HTTPResponse, takeOver: (TCPConnection, [UInt8]) -> Void)
        /// Answer later: `start` is called at once with a function to call, on the loop,
        /// exactly once with the response (e.g. when a write reaches the disk). Requests
        /// pipelined behind this one wait for it, so responses keep the requests' order.
        case deferred(_ start: (_ respond: @escaping (HTTPResponse) -> Void) -> Void)
    }

    /// The loop the server runs on.
    public let loop: EventLoop
    /// The configuration.
    public let configuration: Configuration
    /// Connections open now (not counting upgraded ones, which belong to their new owner).
    public private(set) var connectionCount = 0
    private var listener: TCPListener?
    fileprivate let handler: (HTTPRequest) -> Reply

    /// Starts listening.
    /// - Throws: ``UVError`` when the address cannot be bound.
    /// - Precondition: Called on the loop's thread.
    public init(loop: EventLoop, configuration: Configuration = .init(), handler: @escaping (HTTPRequest) -> Reply) throws(UVError) {
        self.loop = loop
        self.configuration = configuration
        self.handler = handler
        // The listener's callback holds the server: a listening server lives until
        // `close()` or the loop's shutdown (which closes the listener), like the listener.
        listener = try TCPListener(loop: loop, host: configuration.host, port: configuration.port) { connection in
            self.accepted(connection)
        }
    }

    /// The port listened on.
    public var port: Int { listener?.port ?? 0 }

    /// Stops listening; open connections go on until they end.
    public func close() {
        listener?.close()
        listener = nil
    }

    private func accepted(_ connection: TCPConnection) {
        guard connectionCount < configuration.maxConnections else {
            connection.write([OutboundBytes(HTTPResponse.error(503, "too many connections").encoded(keepAlive: false))])
            connection.closeAfterWrites()
            return
        }
        connectionCount += 1
        HTTPServerConnection(server: self, connection: connection).start()
    }

    fileprivate func connectionEnded() {
        connectionCount -= 1
    }
}

/// One connection's requests, until it closes or is upgraded.
private final class HTTPServerConnection {
    /// Held strongly: connections may outlive the listener (the server is then only
    /// referenced from here).
    let server: HTTPServer
    let connection: TCPConnection
    let parser: HTTPRequestParser
    var timer: LoopTimer?
    /// No byte of the next request has arrived yet (the idle timeout applies).
    var awaitingRequest = true
    var released = false
    /// Requests parsed but not yet answered, behind a deferred response.
    var queued: [HTTPRequest] = []
    /// A deferred response is outstanding (reading is paused meanwhile, so that a client
    /// cannot pile up requests behind it).
    var waiting = false
    /// A response that ends the connection has been written: nothing more is answered.
    var closing = false
    /// A malformed request behind the queued ones: its error is the last answer.
    var pendingError: HTTPResponse?

    init(server: HTTPServer, connection: TCPConnection) {
        self.server = server
        self.connection = connection
        parser = HTTPRequestParser(limits: server.configuration.limits)
    }

    func start() {
        // The connection's callbacks hold this object until the connection ends.
        connection.onRead = { [self] bytes in read(bytes) }
        connection.onClose = { [self] _ in ended() }
        timer = server.loop.scheduleTimer(afterMilliseconds: server.configuration.idleTimeoutMilliseconds) { [weak self] in
            self?.timedOut()
        }
        connection.startReading()
    }

    func read(_ bytes: UnsafeRawBufferPointer) {
        if awaitingRequest {
            awaitingRequest = false
            timer?.reschedule(afterMilliseconds: server.configuration.requestTimeoutMilliseconds)
        }
        let requests: [HTTPRequest]
        do {
            requests = try parser.feed(bytes)
        } catch {
            // Answered in turn, after the requests before it.
            queued.append(contentsOf: parser.takeCompletedBeforeFailure())
            pendingError = HTTPResponse.error(error.status, error.description)
            connection.stopReading()
            answerQueued()
            return
        }
        guard !requests.isEmpty else { return }
        queued.append(contentsOf: requests)
        answerQueued()
    }

    /// Answers the queued requests in order, stopping at a deferred one until its response;
    /// then, with nothing left to answer, waits for the next request (idle timeout).
    func answerQueued() {
        while !waiting, !closing, !queued.isEmpty {
            let request = queued.removeFirst()
            guard !connection.isClosed, !released else { return }
            switch server.handler(request) {
            case .response(let response):
                guard send(response, to: request) else { return }
            case .upgrade(let response, let takeOver):
                connection.write([OutboundBytes(response.encoded(keepAlive: true))])
                release()
                takeOver(connection, parser.remainder)
                return
            case .deferred(let start):
                waiting = true
                connection.stopReading()
                var answered = false
                start { [self] response in
                    precondition(!answered, "a deferred response was given twice")
                    answered = true
                    waiting = false
                    guard !connection.isClosed, !released, !closing else { return }
                    if pendingError == nil { connection.startReading() }
                    guard send(response, to: request) else { return }
                    answerQueued()
                }
            }
        }
        guard !waiting, !closing, queued.isEmpty, !connection.isClosed, !released else { return }
        if let error = pendingError {
            pendingError = nil
            respondAndClose(error)
        } else if !parser.upgraded {
            awaitingRequest = true
            timer?.reschedule(afterMilliseconds: server.configuration.idleTimeoutMilliseconds)
        }
    }

    /// Writes `response` to `request`; false when the connection then closes.
    func send(_ response: HTTPResponse, to request: HTTPRequest) -> Bool {
        let keepAlive = request.keepAlive && !request.isUpgrade
        connection.write([OutboundBytes(response.encoded(keepAlive: keepAlive))])
        if !keepAlive {
            closing = true
            connection.closeAfterWrites()
            return false
        }
        return true
    }

    func respondAndClose(_ response: HTTPResponse) {
        closing = true
        connection.write([OutboundBytes(response.encoded(keepAlive: false))])
        connection.closeAfterWrites()
    }

    func timedOut() {
        // The request timeout does not run against the server's own work; the timer is
        // set again when the deferred response has gone.
        guard !connection.isClosed, !released, !waiting, !closing else { return }
        if awaitingRequest {
            connection.close()
        } else {
            respondAndClose(HTTPResponse.error(408, "request not received in time"))
        }
    }

    /// The connection now belongs to an upgrade's new owner.
    func release() {
        released = true
        timer?.cancel()
        timer = nil
        connection.onRead = nil
        connection.onClose = nil
        server.connectionEnded()
    }

    func ended() {
        timer?.cancel()
        timer = nil
        connection.onRead = nil
        if !released { server.connectionEnded() }
    }
}
