import RunnelRuntime
import RunnelWebSocket

/// A WebSocket connection on a libuv loop: the protocol state machine
/// (``WebSocketConnection``) over a ``TCPConnection``.
///
/// Outgoing frames are queued and flushed together once per loop turn, with one write of
/// several buffers: one `write` system call per message per subscriber would cap fan-out
/// far below what batching reaches. Frames are ``OutboundBytes``, so one encoded message
/// serves every subscriber. The queue is bounded: a client that reads too slowly for
/// ``Limits/maxQueuedBytes`` is closed with 1008 (policy violation) rather than slowing
/// anything else.
///
/// Thread safety: confined to its loop's thread, like its connection.
public final class WebSocketChannel {
    /// Bounds on what one client may cost.
    public struct Limits: Sendable {
        /// The largest message accepted from the client (1009 beyond).
        public var maxMessageSize: Int
        /// Bytes queued for the client (not yet written to its socket) at most; beyond,
        /// the client is closed with 1008.
        public var maxQueuedBytes: Int
        /// How long the closing handshake may take before the socket is closed anyway.
        public var closeTimeoutMilliseconds: UInt64

        /// Creates limits.
        public init(maxMessageSize: Int = 64 * 1024, maxQueuedBytes: Int = 4 << 20, closeTimeoutMilliseconds: UInt64 = 2_000) {
            self.maxMessageSize = maxMessageSize
            self.maxQueuedBytes = maxQueuedBytes
            self.closeTimeoutMilliseconds = closeTimeoutMilliseconds
        }
    }

    /// The loop the channel runs on.
    public let loop: EventLoop
    /// The limits in force.
    public let limits: Limits
    /// Called with each message from the client.
    public var onMessage: ((WebSocketMessage) -> Void)?
    /// Called once when the channel has closed, with the close code (the client's, or the
    /// one this side failed or closed with; 1006 when the socket just went away).
    public var onClose: ((WebSocketCloseCode, String) -> Void)?
    /// Whether the channel has closed or is closing.
    public private(set) var isClosed = false
    /// Whether the channel was closed because its client fell behind by more than
    /// ``Limits/maxQueuedBytes`` (counted as a slow-consumer disconnect).
    public private(set) var closedAsTooSlow = false

    private let connection: TCPConnection
    private var protocolState: WebSocketConnection
    private var pending: [OutboundBytes] = []
    private var pendingBytes = 0
    private var flushScheduled = false
    private var closeCode = WebSocketCloseCode(rawValue: 1006)
    private var closeReason = ""
    private var closeTimer: LoopTimer?

    /// permessage-deflate, if the handshake negotiated it.
    public var deflate: PerMessageDeflate? { protocolState.deflate }

    /// Takes over `connection` after a completed handshake; `initialBytes` are what the
    /// client sent after its upgrade request; `deflate` is what the handshake agreed to of
    /// permessage-deflate.
    public init(connection: TCPConnection, initialBytes: [UInt8], limits: Limits = Limits(), deflate: PerMessageDeflate? = nil) {
        self.loop = connection.loop
        self.connection = connection
        self.limits = limits
        protocolState = WebSocketConnection(maxMessageSize: limits.maxMessageSize, deflate: deflate)
        connection.onRead = { [self] bytes in received(bytes) }
        connection.onClose = { [self] _ in transportClosed() }
        // After the caller has installed its callbacks.
        if !initialBytes.isEmpty { loop.executeSoon { [self] in initialBytes.withUnsafeBytes { received($0) } } }
        connection.startReading()
    }

    /// Queues a text message (compressed if the client negotiated permessage-deflate).
    public func send(text: String) {
        send(WebSocketOutboundMessage(text: text))
    }

    /// Queues a binary message (compressed if the client negotiated permessage-deflate).
    public func send(binary: [UInt8]) {
        send(WebSocketOutboundMessage(binary: binary))
    }

    /// Queues a message in the form this client reads (its encodings are kept in
    /// `message`, so sending one message to many channels encodes it once per form).
    public func send(_ message: WebSocketOutboundMessage) {
        send(frame: message.frame(for: protocolState.deflate))
    }

    /// Queues an encoded frame as it is (shareable between channels; never compressed).
    public func send(frame: OutboundBytes) {
        guard !isClosed else { return }
        guard connection.queuedWriteBytes + pendingBytes + frame.count <= limits.maxQueuedBytes else {
            closedAsTooSlow = true
            close(code: .policyViolation, reason: "client too slow: over \(limits.maxQueuedBytes) bytes queued")
            return
        }
        pending.append(frame)
        pendingBytes += frame.count
        scheduleFlush()
    }

    /// Bytes queued for this client and not yet written to its socket.
    public var queuedBytes: Int { connection.queuedWriteBytes + pendingBytes }

    /// Starts the closing handshake; the socket closes when the client answers or after
    /// ``Limits/closeTimeoutMilliseconds``.
    public func close(code: WebSocketCloseCode = .normalClosure, reason: String = "") {
        guard !isClosed, let frame = protocolState.close(code: code, reason: reason) else { return }
        isClosed = true
        closeCode = code
        closeReason = reason
        pending.append(OutboundBytes(frame))
        pendingBytes += frame.count
        flush()
        closeTimer = loop.scheduleTimer(afterMilliseconds: limits.closeTimeoutMilliseconds) { [weak self] in
            self?.connection.close()
        }
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.executeSoon { [self] in flush() }
    }

    private func flush() {
        flushScheduled = false
        guard !pending.isEmpty else { return }
        let frames = pending
        pending = []
        pendingBytes = 0
        connection.write(frames)
    }

    private func received(_ bytes: UnsafeRawBufferPointer) {
        for output in protocolState.receive(bytes) {
            switch output {
            case .message(let message):
                onMessage?(message)
            case .send(let bytes):
                pending.append(OutboundBytes(bytes))
                pendingBytes += bytes.count
                flush()
            case .closeTransport(let code, let reason):
                if !isClosed || closeCode.rawValue == 1006 {
                    closeCode = code
                    closeReason = reason
                }
                isClosed = true
                flush()
                connection.closeAfterWrites()
            }
        }
    }

    private func transportClosed() {
        isClosed = true
        closeTimer?.cancel()
        closeTimer = nil
        let callback = onClose
        onClose = nil
        onMessage = nil
        callback?(closeCode, closeReason)
    }
}
