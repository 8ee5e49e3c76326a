import Foundation
import RunnelFeed
import RunnelHTTPServer
import RunnelRuntime
import RunnelWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// Fan-out of the live feed over loopback, in one process: the server (HTTP, WebSocket
/// channels, the feed hub) on one loop, `subscribers` WebSocket clients on another. The
/// hub publishes `messages` final `post_views` updates (~150-byte frames) to the topic
/// every client subscribed to; deliveries/s is subscribers × messages over the time until
/// every client has read every frame. Memory per connection is the growth of the
/// process's resident memory while the idle clients connect and subscribe, over their
/// number (both ends of each connection are in this process, so it is an upper bound for
/// the server's share).
struct FanOutBenchmark {
    struct Figures {
        var subscribers: Int
        var deliveries: Int
        var seconds: Double
        var bytesPerConnection: Int
        var closedSlow: Int
    }

    let subscribers: Int
    let messages: Int

    /// Counts WebSocket frames in a server's byte stream without allocating: skips the
    /// HTTP response, then reads each frame header and skips its payload.
    final class FrameCounter {
        var frames = 0
        private var inHeaders = true
        private var tail: UInt32 = 0
        private var header: [UInt8] = []
        private var skip = 0

        func consume(_ bytes: UnsafeRawBufferPointer) {
            var i = 0
            while i < bytes.count {
                if inHeaders {
                    tail = tail << 8 | UInt32(bytes[i])
                    i += 1
                    if tail == 0x0D0A_0D0A { inHeaders = false }
                    continue
                }
                if skip > 0 {
                    let n = min(skip, bytes.count - i)
                    skip -= n
                    i += n
                    continue
                }
                header.append(bytes[i])
                i += 1
                guard header.count >= 2 else { continue }
                let len7 = Int(header[1] & 0x7F)
                let needed = len7 == 126 ? 4 : len7 == 127 ? 10 : 2
                guard header.count == needed else { continue }
                var length = len7
                if len7 == 126 { length = Int(header[2]) << 8 | Int(header[3]) }
                if len7 == 127 { length = header[2..<10].reduce(0) { $0 << 8 | Int($1) } }
                frames += 1
                skip = length
                header.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Client state, touched only on the client loop. `@unchecked Sendable` for that reason.
    final class Clients: @unchecked Sendable {
        var counters: [FrameCounter] = []
        var connections: [TCPConnection] = []
        var totalFrames = 0
        var target = Int.max
        var failures = 0
        let reached = Latch()
    }

    /// A one-shot latch for the benchmark's threads.
    final class Latch: @unchecked Sendable {
        private let condition = NSCondition()
        private var isOpen = false

        func open() {
            condition.lock()
            isOpen = true
            condition.broadcast()
            condition.unlock()
        }

        /// Whether it opened within `seconds`.
        func wait(seconds: Double) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            let deadline = Date().addingTimeInterval(seconds)
            while !isOpen { if !condition.wait(until: deadline) { return isOpen } }
            return true
        }
    }

    /// Publishes the updates on the server loop, a batch per loop turn (so that the
    /// server's writes interleave with the publishing).
    final class Publisher: @unchecked Sendable {
        let server: Server
        let loop: EventLoop
        let messages: Int
        var published = 0

        init(server: Server, loop: EventLoop, messages: Int) {
            self.server = server
            self.loop = loop
            self.messages = messages
        }

        func publishBatch() {
            let end = min(messages, published + 50)
            while published < end {
                let post = published % 500
                server.hub.publish(
                    #"{"type":"post_views","window_start":"2026-02-23T00:01:00.000Z","window_end":"2026-02-23T00:02:00.000Z","post_id":"p-\#(post)","creator_id":"c-7","views":\#(published),"unique_viewers":10}"#,
                    key: "p-\(post)", topics: [.postViews], final: true)
                published += 1
            }
            if published < messages { loop.executeSoon { self.publishBatch() } }
        }
    }

    /// Server state, touched only on the server loop.
    final class Server: @unchecked Sendable {
        var hub: FeedHub!
        var server: HTTPServer?
        var port = 0
    }

    func run() throws -> Figures {
        let serverLoop = try EventLoop(name: "fanout-server")
        let clientLoop = try EventLoop(name: "fanout-clients")
        serverLoop.start()
        clientLoop.start()
        defer {
            serverLoop.shutdown()
            clientLoop.shutdown()
            serverLoop.join()
            clientLoop.join()
        }
        let server = Server()
        let ready = Latch()
        serverLoop.execute {
            server.hub = FeedHub(loop: serverLoop)
            server.server = try? HTTPServer(loop: serverLoop, configuration: .init(maxConnections: subscribers + 100)) { request in
                FeedEndpoint.reply(to: request, verifier: nil, now: 0, hub: server.hub)
            }
            server.port = server.server?.port ?? -1
            ready.open()
        }
        _ = ready.wait(seconds: 30)
        guard server.port > 0 else { throw BenchmarkFailure("fan-out server did not start") }

        let residentBefore = Self.residentBytes()
        let clients = Clients()
        let request = Array(("GET /v1/feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        let subscribe = WebSocketFrameEncoder.text(#"{"op":"subscribe","topics":["post_views"]}"#, maskingKey: (1, 2, 3, 4))
        let hello = OutboundBytes(request + subscribe)
        // Each client gets two control frames (subscribed, snapshot) before the updates.
        clientLoop.execute {
            clients.target = 2 * subscribers
            for _ in 0..<subscribers {
                TCPConnection.connect(loop: clientLoop, host: "127.0.0.1", port: server.port) { result in
                    guard case .success(let connection) = result else {
                        clients.failures += 1
                        return
                    }
                    let counter = FrameCounter()
                    clients.counters.append(counter)
                    clients.connections.append(connection)
                    connection.onRead = { bytes in
                        let before = counter.frames
                        counter.consume(bytes)
                        clients.totalFrames += counter.frames - before
                        if clients.totalFrames >= clients.target { clients.reached.open() }
                    }
                    connection.startReading()
                    connection.write([hello])
                }
            }
        }
        guard clients.reached.wait(seconds: 120) else {
            throw BenchmarkFailure("only \(clients.totalFrames) of \(2 * subscribers) subscription frames arrived")
        }
        let residentSubscribed = Self.residentBytes()

        // Publish: all updates, a batch per server-loop turn (so writes interleave).
        let done = Clients()  // reuse the latch type for the end
        clientLoop.execute {
            clients.target = clients.totalFrames + subscribers * messages
            if clients.totalFrames >= clients.target { done.reached.open() }
        }
        let start = ContinuousClock.now
        let publisher = Publisher(server: server, loop: serverLoop, messages: messages)
        serverLoop.execute { publisher.publishBatch() }
        // The clients' latch: re-armed for the delivery target.
        clientLoop.execute {
            let check = { if clients.totalFrames >= clients.target { done.reached.open() } }
            check()
            for connection in clients.connections {
                let previous = connection.onRead
                connection.onRead = { bytes in
                    previous?(bytes)
                    check()
                }
            }
        }
        guard done.reached.wait(seconds: 300) else {
            throw BenchmarkFailure("deliveries did not complete")
        }
        let seconds = Double(start.duration(to: .now).components.attoseconds) / 1e18 + Double(start.duration(to: .now).components.seconds)
        let perConnection = max(0, residentSubscribed - residentBefore) / max(subscribers, 1)
        return Figures(subscribers: subscribers, deliveries: subscribers * messages, seconds: seconds,
                       bytesPerConnection: perConnection, closedSlow: 0)
    }

    /// The process's resident memory in bytes (from /proc/self/statm).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
