import CLibUV

/// A listening TCP socket on an ``EventLoop``; each accepted connection is handed to the
/// callback as a ``TCPConnection`` on the same loop (not yet reading).
///
/// ## Lifetime
/// Like ``TCPConnection``: the handle holds a reference to the listener until libuv's
/// close callback; it ends with ``close()`` or when the loop shuts down.
///
/// ### Thread safety
/// Not `Sendable`: created and used on its loop's thread.
public final class TCPListener {
    /// The loop the listener and its connections belong to.
    public let loop: EventLoop
    /// The port listened on (the one the system chose when 0 was asked for).
    public private(set) var port = 0
    private let handle: UnsafeMutablePointer<uv_tcp_t>
    fileprivate var onConnection: ((TCPConnection) -> Void)?
    private var isClosed = false

    /// Binds `host:port` (IPv4 or IPv6 text; port 0 for any free port) and listens.
    /// - Throws: ``UVError`` when the address is invalid or cannot be bound.
    /// - Precondition: Called on the loop thread.
    public init(loop: EventLoop, host: String, port: Int, backlog: Int32 = 511,
                onConnection: @escaping (TCPConnection) -> Void) throws(UVError) {
        loop.preconditionInEventLoop()
        self.loop = loop
        self.onConnection = onConnection
        handle = .allocate(capacity: 1)
        uvMust(uv_tcp_init(loop.uvLoop, handle), "uv_tcp_init")
        // Balanced by the release in tcpListenerClosed.
        uv_handle_set_data(runnel_uv_tcp_as_handle(handle), Unmanaged.passRetained(self).toOpaque())
        guard loop.registerHandleOwner(self) else {
            close()
            throw UVError(code: UV_ECANCELED.rawValue, operation: "listen (the loop is shutting down)")
        }
        var rc = runnel_uv_tcp_bind_text(handle, host, Int32(port))
        if rc == 0 { rc = uv_listen(runnel_uv_tcp_as_stream(handle), backlog, tcpListenerAccept) }
        if rc == 0 { rc = runnel_uv_tcp_local_port(handle) }
        guard rc >= 0 else {
            close()
            throw UVError(code: rc, operation: "listen on \(host):\(port)")
        }
        self.port = Int(rc)
    }

    deinit { handle.deallocate() }

    /// Stops listening; connections already accepted go on. Idempotent.
    public func close() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        onConnection = nil
        loop.unregisterHandleOwner(self)
        uv_close(runnel_uv_tcp_as_handle(handle), tcpListenerClosed)
    }

    fileprivate func accept() {
        guard !isClosed else { return }
        let connection = TCPConnection(loop: loop)
        guard uv_accept(runnel_uv_tcp_as_stream(handle), runnel_uv_tcp_as_stream(connection.handle)) == 0 else {
            connection.close()
            return
        }
        uv_tcp_nodelay(connection.handle, 1)
        onConnection?(connection)
    }
}

extension TCPListener: LoopHandleOwner {
    func closeForShutdown() {
        close()
    }
}

private func tcpListenerAccept(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard status == 0, let stream,
          let data = uv_handle_get_data(UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_handle_t.self)) else { return }
    Unmanaged<TCPListener>.fromOpaque(data).takeUnretainedValue().accept()
}

private func tcpListenerClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = uv_handle_get_data(handle) else { return }
    uv_handle_set_data(handle, nil)
    Unmanaged<TCPListener>.fromOpaque(data).release()
}
