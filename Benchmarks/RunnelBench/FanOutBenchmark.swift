import Foundation
import RunnelFeed
import RunnelHTTPServer
import RunnelRuntime
import RunnelWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// Fan-out of the live feed over loopback, in two processes: this one runs the server
/// (HTTP, WebSocket channels, the feed hub) on one loop; a child (`--child fanout-clients`,
/// ``FanOutClients``) runs the `subscribers` WebSocket clients on another. Two processes,
/// because each may have 20 000 open files on the development machines and 10 000
/// subscribers need 10 000 on each side.
///
/// - Throughput: the hub publishes `messages` final `post_views` updates (~150-byte frames)
///   to the topic every client subscribed to, as fast as it can; deliveries/s is
///   subscribers × messages over the time until every client has read every frame.
/// - Memory per connection: the growth of each process's resident memory while the idle
///   clients connect and subscribe, over their number — the server's side and the
///   clients' side separately.
/// - Latency: then updates are published at a steady rate (``latencyRate`` deliveries/s in
///   all, at most 2 000 updates/s) for ``latencySeconds``; a delivery's latency is from the
///   `publish` call (the window update reaching the hub) to the client's read of the frame.
///   Both processes read the same monotonic clock; the publish times are shared through a
///   file mapped by both.
struct FanOutBenchmark {
    struct Figures {
        var subscribers: Int
        var deliveries: Int
        var seconds: Double
        var serverBytesPerConnection: Int
        var clientBytesPerConnection: Int
        /// Deliveries/s offered in the latency phase.
        var latencyRate: Int
        /// Delivery latency percentiles in microseconds: p50, p99, max.
        var latencyMicros: (p50: Int, p99: Int, max: Int)
    }

    let subscribers: Int
    let messages: Int
    var latencyRate = 1_000_000
    var latencySeconds = 3.0

    /// Updates per second and updates in the latency phase.
    var latencyUpdates: (perSecond: Int, count: Int) {
        let perSecond = min(2_000, max(1, latencyRate / subscribers))
        return (perSecond, max(1, Int(Double(perSecond) * latencySeconds)))
    }

    /// When each latency-phase update was published, in a file both processes map. The
    /// server writes an entry before the frame goes to any socket; a client reads it after
    /// reading the frame from its socket, which orders the two.
    final class PublishTimes: @unchecked Sendable {
        let times: UnsafeMutableBufferPointer<UInt64>
        private let bytes: Int

        /// Creates (`writable`) or opens the file at `path` for `count` times.
        init(path: String, count: Int, writable: Bool) throws {
            bytes = max(count, 1) * 8
            let fd = writable ? open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600) : open(path, O_RDONLY)
            guard fd >= 0 else { throw BenchmarkFailure("cannot open \(path)") }
            defer { close(fd) }
            if writable { guard ftruncate(fd, off_t(bytes)) == 0 else { throw BenchmarkFailure("cannot size \(path)") } }
            let address = mmap(nil, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0)
            guard let address, address != MAP_FAILED else { throw BenchmarkFailure("cannot map \(path)") }
            times = UnsafeMutableBufferPointer(start: address.assumingMemoryBound(to: UInt64.self), count: max(count, 1))
        }

        deinit { munmap(times.baseAddress, bytes) }
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
                server.publishUpdate(published)
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

        /// Publishes the `index`-th update: a final `post_views` record (~150 bytes once
        /// framed) of one of 500 posts.
        func publishUpdate(_ index: Int) {
            let post = index % 500
            hub.publish(
                #"{"type":"post_views","window_start":"2026-02-23T00:01:00.000Z","window_end":"2026-02-23T00:02:00.000Z","post_id":"p-\#(post)","creator_id":"c-7","views":\#(index),"unique_viewers":10}"#,
                key: "p-\(post)", topics: [.postViews], final: true)
        }
    }

    /// Delivery latencies in microseconds, recorded on the client loop.
    final class LatencySamples: @unchecked Sendable {
        private var values: [UInt32]
        private(set) var count = 0
        init(capacity: Int) { values = [UInt32](repeating: 0, count: max(capacity, 1)) }
        func record(_ micros: UInt64) {
            guard count < values.count else { return }
            values[count] = UInt32(min(UInt64(UInt32.max), micros))
            count += 1
        }
        func sorted() -> [UInt32] { values[0..<count].sorted() }
    }

    /// Publishes `count` updates at `perSecond` on the server loop from a 1 ms timer,
    /// noting each one's time.
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
                times.times[published] = MonotonicClock.nowNanoseconds()
                server.publishUpdate(published)
                published += 1
            }
            if published == count {
                timer?.cancel()
                timer = nil
            }
        }
    }

    func run() throws -> Figures {
        let serverLoop = try EventLoop(name: "fanout-server")
        serverLoop.start()
        defer {
            serverLoop.shutdown()
            serverLoop.join()
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

        let (perSecond, updates) = latencyUpdates
        let timesPath = "/dev/shm/runnel-fanout-\(getpid()).times"
        let times = try PublishTimes(path: timesPath, count: updates, writable: true)
        defer { unlink(timesPath) }
        let residentBefore = Self.residentBytes()
        let clients = try ChildProcess(arguments: [
            "--child", "fanout-clients", "--port", String(server.port), "--subscribers", String(subscribers),
            "--messages", String(messages), "--updates", String(updates), "--times-file", timesPath,
        ])
        // "ready": every client has its subscription's acknowledgement and snapshot.
        guard let readyLine = clients.readLine(), readyLine.hasPrefix("ready") else {
            throw BenchmarkFailure("the clients did not subscribe")
        }
        let residentSubscribed = Self.residentBytes()

        let start = ContinuousClock.now
        let publisher = Publisher(server: server, loop: serverLoop, messages: messages)
        serverLoop.execute { publisher.publishBatch() }
        guard clients.readLine() == "received" else { throw BenchmarkFailure("deliveries did not complete") }
        let elapsed = start.duration(to: .now)
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)

        let paced = PacedPublisher(server: server, count: updates, perSecond: Double(perSecond), times: times)
        serverLoop.execute { paced.start(on: serverLoop) }
        // "latency P50 P99 MAX CLIENT_BYTES_PER_CONNECTION"
        guard let latency = clients.readLine(), latency.hasPrefix("latency ") else {
            throw BenchmarkFailure("latency phase: deliveries did not complete")
        }
        let numbers = latency.split(separator: " ").dropFirst().compactMap { Int($0) }
        guard numbers.count == 4, clients.wait() == 0 else { throw BenchmarkFailure("the clients failed: \(latency)") }
        return Figures(subscribers: subscribers, deliveries: subscribers * messages, seconds: seconds,
                       serverBytesPerConnection: max(0, residentSubscribed - residentBefore) / max(subscribers, 1),
                       clientBytesPerConnection: numbers[3], latencyRate: perSecond * subscribers,
                       latencyMicros: (numbers[0], numbers[1], numbers[2]))
    }

    /// The process's resident memory in bytes (from /proc/self/statm).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let pages = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
