import Foundation
import RunnelRuntime
import RunnelWebSocket

#if canImport(Glibc)
import Glibc
#endif

/// The client side of ``FanOutBenchmark``, in its own process (`--child fanout-clients`):
/// `subscribers` WebSocket clients on one loop subscribe to `post_views`, count the frames
/// they read, and time the latency phase's deliveries against the publish times the server
/// shares through a mapped file. It reports to the server's process on standard output:
/// `ready` (all subscribed), `received` (the throughput phase's frames all read), then
/// `latency P50 P99 MAX BYTES_PER_CONNECTION` (microseconds; this side's memory per
/// connection).
struct FanOutClients {
    let port: Int
    let subscribers: Int
    let messages: Int
    let updates: Int
    let timesPath: String

    /// Client state, touched only on the client loop. `@unchecked Sendable` for that reason.
    final class State: @unchecked Sendable {
        var counters: [FanOutBenchmark.FrameCounter] = []
        var connections: [TCPConnection] = []
        var totalFrames = 0
        var failures = 0
        /// The next report and the frame total at which it is due.
        var milestones: [(frames: Int, report: String)] = []
        var latencies: FanOutBenchmark.LatencySamples
        let finished = FanOutBenchmark.Latch()
        let residentBefore: Int
        var bytesPerConnection = 0

        init(samples: Int, residentBefore: Int) {
            latencies = FanOutBenchmark.LatencySamples(capacity: samples)
            self.residentBefore = residentBefore
        }

        func reached() {
            while let next = milestones.first, totalFrames >= next.frames {
                milestones.removeFirst()
                if next.report == "ready" { bytesPerConnection = max(0, FanOutBenchmark.residentBytes() - residentBefore) / max(connections.count, 1) }
                if next.report == "latency" {
                    finished.open()
                } else {
                    FileHandle.standardOutput.write(Data((next.report + "\n").utf8))
                }
            }
        }
    }

    func run() throws {
        // Raise the open-file limit to what is allowed: one socket per subscriber.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let times = try FanOutBenchmark.PublishTimes(path: timesPath, count: updates, writable: false)
        let loop = try EventLoop(name: "fanout-clients")
        loop.start()
        defer {
            loop.shutdown()
            loop.join()
        }
        let state = State(samples: subscribers * updates, residentBefore: FanOutBenchmark.residentBytes())
        // Each client gets two control frames (subscribed, snapshot) before the updates.
        let controlFrames = 2
        state.milestones = [
            (controlFrames * subscribers, "ready"),
            ((controlFrames + messages) * subscribers, "received"),
            ((controlFrames + messages + updates) * subscribers, "latency"),
        ]
        let request = Array(("GET /v1/feed HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
        let subscribe = WebSocketFrameEncoder.text(#"{"op":"subscribe","topics":["post_views"]}"#, maskingKey: (1, 2, 3, 4))
        let hello = OutboundBytes(request + subscribe)
        let firstUpdate = controlFrames + messages
        let (port, subscribers, updates) = (self.port, self.subscribers, self.updates)
        loop.execute {
            for _ in 0..<subscribers {
                TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                    guard case .success(let connection) = result else {
                        state.failures += 1
                        return
                    }
                    let counter = FanOutBenchmark.FrameCounter()
                    state.counters.append(counter)
                    state.connections.append(connection)
                    connection.onRead = { bytes in
                        let before = counter.frames
                        counter.consume(bytes)
                        guard counter.frames > before else { return }
                        if counter.frames > firstUpdate {
                            // Latency-phase frames: time them against their publish times.
                            let now = MonotonicClock.nowNanoseconds()
                            for frame in max(before, firstUpdate)..<counter.frames where frame - firstUpdate < updates {
                                state.latencies.record((now &- times.times[frame - firstUpdate]) / 1000)
                            }
                        }
                        state.totalFrames += counter.frames - before
                        state.reached()
                    }
                    connection.startReading()
                    connection.write([hello])
                }
            }
        }
        guard state.finished.wait(seconds: 600) else { throw BenchmarkFailure("the clients did not get every frame (\(state.failures) failed to connect)") }
        let measured = state.latencies.sorted()
        func percentile(_ p: Double) -> Int { measured.isEmpty ? 0 : Int(measured[min(measured.count - 1, Int(Double(measured.count) * p))]) }
        FileHandle.standardOutput.write(Data("latency \(percentile(0.5)) \(percentile(0.99)) \(Int(measured.last ?? 0)) \(state.bytesPerConnection)\n".utf8))
    }
}
