import CLibUV

/// One TCP connection (`uv_tcp_t`) on an ``EventLoop``: reads are handed to ``onRead`` as
/// they arrive; writes take several buffers at once, which libuv sends with one `writev`
/// (a subscriber's queued messages go out together, not one system call each).
///
/// ## Lifetime
/// The handle's `data` holds a retained reference from creation until libuv's close
/// callback, so an open connection lives on even when nobody else references it; it ends
/// with ``close()``, when the peer closes or fails, or when the loop shuts down.
/// ``onClose`` runs once, at the end.
///
/// ### Thread safety
/// Not `Sendable`: confined to its loop's thread, where its callbacks also run.
public final class TCPConnection {
    /// The loop the connection belongs to.
    public let loop: EventLoop
    /// Called with the bytes of each read (valid only during the call).
    public var onRead: ((UnsafeRawBufferPointer) -> Void)?
    /// Called once when the connection has closed: nil after an orderly end (either side),
    /// else the error that ended it.
    public var onClose: ((UVError?) -> Void)?
    /// Bytes handed to ``write(_:)`` and not yet written to the socket: a subscriber that
    /// reads too slowly shows here.
    public private(set) var queuedWriteBytes = 0
    /// Whether ``close()`` was called or the connection ended.
    public private(set) var isClosed = false

    let handle: UnsafeMutablePointer<uv_tcp_t>
    private var closeError: UVError?
    private var closeWhenWritten = false

    /// Creates an unconnected handle (the listener accepts into it).
    init(loop: EventLoop) {
        self.loop = loop
        handle = .allocate(capacity: 1)
        // uv_tcp_init only fails for an invalid loop.
        uvMust(uv_tcp_init(loop.uvLoop, handle), "uv_tcp_init")
        // Balanced by the release in tcpConnectionClosed.
        uv_handle_set_data(runnel_uv_tcp_as_handle(handle), Unmanaged.passRetained(self).toOpaque())
        if !loop.registerHandleOwner(self) { close() }
    }

    deinit {
        handle.deallocate()
    }

    /// Connects to `host:port` (IPv4 or IPv6 text); `completion` gets the connection, or
    /// the error, on the loop.
    /// - Precondition: Called on the loop thread.
    public static func connect(loop: EventLoop, host: String, port: Int,
                               completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        loop.preconditionInEventLoop()
        let connection = TCPConnection(loop: loop)
        let request = TCPConnectRequest(connection: connection, completion: completion)
        let rc = runnel_uv_tcp_connect_text(request.request, connection.handle, host, Int32(port), tcpConnected)
        if rc != 0 {
            request.finish(status: rc)
        }
    }

    private var stream: UnsafeMutablePointer<uv_stream_t> { runnel_uv_tcp_as_stream(handle) }

    /// Starts delivering reads to ``onRead`` (no effect when reading already).
    public func startReading() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        let rc = uv_read_start(stream, tcpAllocate, tcpRead)
        if rc != 0 && rc != UV_EALREADY.rawValue { fail(UVError(code: rc, operation: "uv_read_start")) }
    }

    /// Stops reading (backpressure: the peer's sends then wait in the kernel).
    public func stopReading() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        uv_read_stop(stream)
    }

    /// Queues `chunks` to be written in order, with one `uv_write` (one `writev`). The
    /// chunks are referenced, not copied, until written.
    public func write(_ chunks: [OutboundBytes]) {
        loop.preconditionInEventLoop()
        guard !isClosed, !chunks.isEmpty else { return }
        let request = TCPWriteRequest(chunks: chunks, connection: self)
        queuedWriteBytes += request.byteCount
        let rc = uv_write(request.request, stream, request.buffers, UInt32(chunks.count), tcpWritten)
        if rc != 0 {
            request.release()
            queuedWriteBytes -= request.byteCount
            fail(UVError(code: rc, operation: "uv_write"))
        }
    }

    /// Closes the connection once everything queued so far is written (for a response
    /// that ends the connection); reads stop at once.
    public func closeAfterWrites() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        closeWhenWritten = true
        uv_read_stop(stream)
        if queuedWriteBytes == 0 { close() }
    }

    /// Closes the connection now; queued writes are dropped. Idempotent.
    public func close() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        loop.unregisterHandleOwner(self)
        uv_close(runnel_uv_tcp_as_handle(handle), tcpConnectionClosed)
    }

    /// Closes the connection because of `error` (reported to ``onClose``).
    fileprivate func fail(_ error: UVError?) {
        if closeError == nil { closeError = error }
        close()
    }

    fileprivate func written(_ request: TCPWriteRequest, status: Int32) {
        queuedWriteBytes -= request.byteCount
        if status < 0 && status != UV_ECANCELED.rawValue {
            fail(UVError(code: status, operation: "write"))
        } else if closeWhenWritten && queuedWriteBytes == 0 {
            close()
        }
    }

    fileprivate func closed() {
        let callback = onClose
        onClose = nil
        onRead = nil
        callback?(closeError)
    }
}

extension TCPConnection: LoopHandleOwner {
    func closeForShutdown() {
        close()
    }
}

/// One `uv_tcp_connect`, holding the connection and the completion until it is done.
final class TCPConnectRequest {
    let request: UnsafeMutablePointer<uv_connect_t>
    let connection: TCPConnection
    let completion: (Result<TCPConnection, UVError>) -> Void

    init(connection: TCPConnection, completion: @escaping (Result<TCPConnection, UVError>) -> Void) {
        self.connection = connection
        self.completion = completion
        request = .allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    deinit { request.deallocate() }

    /// Reports the outcome and drops the self-reference.
    func finish(status: Int32) {
        request.pointee.data = nil
        if status == 0 {
            uv_tcp_nodelay(connection.handle, 1)
            completion(.success(connection))
        } else {
            connection.close()
            completion(.failure(UVError(code: status, operation: "connect")))
        }
        Unmanaged.passUnretained(self).release()
    }
}

/// One `uv_write`: the request, its buffer list, and references to the chunks until
/// libuv is done with them. Retains itself through the request's `data` until then.
final class TCPWriteRequest {
    let request: UnsafeMutablePointer<uv_write_t>
    let buffers: UnsafeMutablePointer<uv_buf_t>
    let chunks: [OutboundBytes]
    let byteCount: Int
    weak var connection: TCPConnection?

    init(chunks: [OutboundBytes], connection: TCPConnection) {
        self.chunks = chunks
        self.connection = connection
        request = .allocate(capacity: 1)
        buffers = .allocate(capacity: chunks.count)
        var total = 0
        for (i, chunk) in chunks.enumerated() {
            buffers[i] = uv_buf_init(chunk.storage.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(chunk.count))
            total += chunk.count
        }
        byteCount = total
        request.pointee.data = Unmanaged.passRetained(self).toOpaque()
    }

    /// Drops the self-reference (after the write callback, or when `uv_write` failed).
    func release() {
        request.pointee.data = nil
        Unmanaged.passUnretained(self).release()
    }

    deinit {
        request.deallocate()
        buffers.deallocate()
    }
}

private func tcpAllocate(_ handle: UnsafeMutablePointer<uv_handle_t>?, _ suggested: Int, _ buffer: UnsafeMutablePointer<uv_buf_t>?) {
    guard let handle, let buffer, let data = uv_handle_get_data(handle) else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(data).takeUnretainedValue()
    // Reads are handled synchronously in tcpRead, so the loop's one buffer serves all.
    let shared = connection.loop.tcpReadBuffer
    buffer.pointee = uv_buf_init(shared.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(shared.count))
}

private func tcpRead(_ stream: UnsafeMutablePointer<uv_stream_t>?, _ count: Int, _ buffer: UnsafePointer<uv_buf_t>?) {
    guard let stream, let data = uv_handle_get_data(UnsafeMutableRawPointer(stream).assumingMemoryBound(to: uv_handle_t.self)) else { return }
    let connection = Unmanaged<TCPConnection>.fromOpaque(data).takeUnretainedValue()
    if count > 0 {
        connection.onRead?(UnsafeRawBufferPointer(start: connection.loop.tcpReadBuffer.baseAddress, count: count))
    } else if count < 0 {
        connection.fail(count == Int(UV_EOF.rawValue) ? nil : UVError(code: Int32(count), operation: "read"))
    }
}

private func tcpWritten(_ request: UnsafeMutablePointer<uv_write_t>?, _ status: Int32) {
    guard let request, let data = request.pointee.data else { return }
    let write = Unmanaged<TCPWriteRequest>.fromOpaque(data).takeUnretainedValue()
    write.connection?.written(write, status: status)
    write.release()
}

private func tcpConnected(_ request: UnsafeMutablePointer<uv_connect_t>?, _ status: Int32) {
    guard let request, let data = request.pointee.data else { return }
    Unmanaged<TCPConnectRequest>.fromOpaque(data).takeUnretainedValue().finish(status: status)
}

private func tcpConnectionClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    guard let handle, let data = uv_handle_get_data(handle) else { return }
    uv_handle_set_data(handle, nil)
    let connection = Unmanaged<TCPConnection>.fromOpaque(data)
    connection.takeUnretainedValue().closed()
    connection.release()
}
