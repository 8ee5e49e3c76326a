import RunnelRuntime

/// Live demo traffic for `serve --demo`: the traffic generator's events (Zipf post
/// popularity, sessions with think times, bounded disorder, retries sent twice, a small
/// share of malformed or invalid lines), stamped from now on and fed through the collector
/// every 100 ms at `eventsPerSecond`, so that the dashboard comes alive within seconds and
/// dead letters and deduplication have something to do.
///
/// Thread safety: runs on the collector's loop.
final class DemoTraffic {
    private let generator: CreatorTrafficGenerator
    private let collector: EventCollector
    private let perTick: Int
    private var timer: LoopTimer?
    private var line: [UInt8] = []
    /// Lines the collector took, and lines dropped because the job was too far behind (or
    /// the store failed).
    private(set) var sent = 0
    private(set) var dropped = 0

    /// Starts feeding `collector` on `loop` (call on that loop).
    init(collector: EventCollector, loop: EventLoop, eventsPerSecond: Int, seed: UInt64) {
        var profile = TrafficProfile()
        profile.startMillis = WallClock.nowMilliseconds()
        // Event time advances by about one second per `eventsPerSecond` events: fed at that
        // rate, it keeps up with the clock.
        profile.eventsPerSecond = Double(eventsPerSecond)
        generator = CreatorTrafficGenerator(seed: seed, profile: profile)
        self.collector = collector
        perTick = max(1, eventsPerSecond / 10)
        timer = loop.scheduleTimer(afterMilliseconds: 100, repeatMilliseconds: 100) { [unowned self] in tick() }
    }

    private func tick() {
        var lines: [String] = []
        lines.reserveCapacity(perTick)
        for _ in 0..<perTick {
            line.removeAll(keepingCapacity: true)
            generator.nextLine(into: &line)
            lines.append(String(decoding: line, as: UTF8.self))
        }
        let count = lines.count
        collector.ingest(lines) { [weak self] outcome in
            if case .ingested = outcome { self?.sent += count } else { self?.dropped += count }
        }
    }

    /// Stops the traffic.
    func stop() {
        timer?.cancel()
        timer = nil
    }
}
