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
///
/// Then latency: updates are published at a steady rate (``latencyRate`` deliveries/s in
/// all, at most 2 000 updates/s) for ``latencySeconds``; each delivery's latency is from
/// the `publish` call (the window update reaching the hub) to the client's read of the
/// frame, both on the same monotonic clock.
struct FanOutBenchmark {
    struct Figures {
        var subscribers: Int
        var deliveries: Int
        var seconds: Double
        var bytesPerConnection: Int
        var closedSlow: Int
        /// Deliveries/s offered in the latency phase.
        var latencyRate: Int
        /// Delivery latency percentiles in microseconds: p50, p99, max.
        var latencyMicros: (p50: Int, p99: Int, max: Int)
    }

    let subscribers: Int
    let messages: Int
    var latencyRate = 1_000_000
    var latencySeconds = 3.0

    /// When each latency-phase update was published (written on the server loop before
    /// the frame is written to any socket, read on the client loop after the frame was read
    /// from one: the socket orders the two).
    final class PublishTimes: @unchecked Sendable {
        let times: UnsafeMutableBufferPointer<UInt64>
        init(count: Int) { times = .allocate(capacity: max(count, 1)); times.initialize(repeating: 0) }
        deinit { times.deallocate() }
    }

    /// Delivery latencies in microseconds, recorded on the client loop.
    final class LatencySamples: @unchecked Sendable {
        private var values: [UInt32]
        private(set) var count = 0
        init(capacity: Int) { values = [UInt32](repeating: 0, count: capacity) }
        func record(_ micros: UInt64) {
            guard count < values.count else { return }
            values[count] = UInt32(min(UInt64(UInt32.max), micros))
            count += 1
        }
        func sorted() -> [UInt32] { values[0..<count].sorted() }
    }

    /// Publishes `count` updates at `perSecond` on the server loop from a 1 ms timer.
    final class PacedPublisher: @unchecked Sendable {
        let server: Server
        let count: Int
        let perSecond: Double
        let times: PublishTimes
        var published = 0
        var started: UInt64 = 0
        var timer: LoopTimer?

        init(server: Server, count: Int, perSecond: Double, times: PublishTimes) {
            self.server = server
            self.count = count
            self.perSecond = perSecond
            self.times = times
        }

        func start(on loop: EventLoop) {
            started = MonotonicClock.nowNanoseconds()
            timer = loop.scheduleTimer(afterMilliseconds: 1, repeatMilliseconds: 1) { [self] in tick() }
        }

        private func tick() {
            let elapsed = Double(MonotonicClock.nowNanoseconds() - started) / 1e9
            let due = min(count, Int(elapsed * perSecond) + 1)
            while published < due {
                let post = published % 500
                times.times[published] = MonotonicClock.nowNanoseconds()
                server.hub.publish(
                    #"{"type":"post_views","window_start":"2026-02-23T00:01:00.000Z","window_end":"2026-02-23T00:02:00.000Z","post_id":"p-\#(post)","creator_id":"c-7","views":\#(published),"unique_viewers":10}"#,
                    key: "p-\(post)", topics: [.postViews], final: true)
                published += 1
            }
            if published == count {
                timer?.cancel()
                timer = nil
            }
        }
    }

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
        let elapsed = start.duration(to: .now)
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        let perConnection = max(0, residentSubscribed - residentBefore) / max(subscribers, 1)

        // Latency at a steady rate.
        let updatesPerSecond = min(2_000, max(1, latencyRate / subscribers))
        let updates = max(1, Int(Double(updatesPerSecond) * latencySeconds))
        let times = PublishTimes(count: updates)
        let latencies = LatencySamples(capacity: updates * subscribers)
        let recorded = Clients()
        clientLoop.execute {
            clients.target = clients.totalFrames + subscribers * updates
            for (connection, counter) in zip(clients.connections, clients.counters) {
                let first = counter.frames  // frames before the phase: control frames and the throughput phase
                connection.onRead = { bytes in
                    let before = counter.frames
                    counter.consume(bytes)
                    guard counter.frames > before else { return }
                    let now = MonotonicClock.nowNanoseconds()
                    for frame in before..<counter.frames where frame - first < updates {
                        latencies.record((now &- times.times[frame - first]) / 1000)
                    }
                    clients.totalFrames += counter.frames - before
                    if clients.totalFrames >= clients.target { recorded.reached.open() }
                }
            }
        }
        let paced = PacedPublisher(server: server, count: updates, perSecond: Double(updatesPerSecond), times: times)
        serverLoop.execute { paced.start(on: serverLoop) }
        guard recorded.reached.wait(seconds: latencySeconds + 120) else {
            throw BenchmarkFailure("latency phase: deliveries did not complete")
        }
        // The clients wrote their last sample before opening the latch.
        let measured = latencies.sorted()
        func percentile(_ p: Double) -> Int { measured.isEmpty ? 0 : Int(measured[min(measured.count - 1, Int(Double(measured.count) * p))]) }
        return Figures(subscribers: subscribers, deliveries: subscribers * messages, seconds: seconds,
                       bytesPerConnection: perConnection, closedSlow: 0, latencyRate: updatesPerSecond * subscribers,
                       latencyMicros: (percentile(0.5), percentile(0.99), Int(measured.last ?? 0)))
    }

    /// The process's resident memory in bytes (from /proc/self/statm).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
