import Foundation
import RunnelAuth
import RunnelCore
import RunnelFeed
import RunnelHTTP
import RunnelHTTPServer
import RunnelOperators
import RunnelPrometheus
import RunnelRuntime

/// `creator-analytics serve`: on one port, the event collector (`POST /v1/events`), the
/// live feed (`GET /v1/feed`, WebSocket), the dashboard (`GET /`), `GET /healthz` and
/// `GET /metrics` (Prometheus text), with the live job (``LiveJob``) running on what the
/// collector accepts.
///
/// The HTTP server and the feed run on their own loop; the job runs on its loops.
public final class LiveService: @unchecked Sendable {
    // @unchecked: `collector`, `hub` and `server` are created and used on `loop` only;
    // `runner` is set before `run` and read by the metrics route (its registry is Sendable).

    /// What to serve and how.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host: String
        /// The port (0: any free port).
        public var port: Int
        /// The job's parallelism.
        public var parallelism: Int
        /// The HMAC secret of feed tokens; nil serves the feed without authentication.
        public var authSecret: [UInt8]?
        /// Events the collector may queue ahead of the job (503 beyond).
        public var queueCapacity: Int
        /// Bound on event-time disorder.
        public var outOfOrderness: Duration
        /// How often the live windows fire early, and for how long the feed coalesces a key's
        /// partial results.
        public var coalesceInterval: Duration
        /// The collector's dead-letter file (rejected events with their reasons); nil keeps none.
        public var deadLetterPath: String?
        /// Events per second of generated demo traffic fed to the collector; nil for none.
        public var demoEventsPerSecond: Int?

        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int = 8080, parallelism: Int = 2, authSecret: [UInt8]?,
                    queueCapacity: Int = 100_000, outOfOrderness: Duration = .seconds(5), coalesceInterval: Duration = .milliseconds(250),
                    deadLetterPath: String? = nil, demoEventsPerSecond: Int? = nil) {
            self.deadLetterPath = deadLetterPath
            self.demoEventsPerSecond = demoEventsPerSecond
            self.host = host
            self.port = port
            self.parallelism = parallelism
            self.authSecret = authSecret
            self.queueCapacity = queueCapacity
            self.outOfOrderness = outOfOrderness
            self.coalesceInterval = coalesceInterval
        }
    }

    /// The configuration.
    public let configuration: Configuration
    /// The loop of the HTTP server and the feed.
    public let loop: EventLoop
    /// The port listened on.
    public private(set) var port = 0
    private let queue: EventQueue<CreatorEvent>
    private var collector: EventCollector!
    private var demo: DemoTraffic?
    private var hub: FeedHub!
    private var server: HTTPServer?
    private var runner: JobRunner?
    /// What `/metrics` shows; swift-metrics can be bootstrapped over its registry
    /// (`PrometheusMetricsFactory(registry: service.prometheus.registry)`).
    public let prometheus = PrometheusJobMetrics()

    /// Starts the HTTP server and the feed (the job starts with ``run()``).
    /// - Throws: when the port cannot be bound.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        queue = EventQueue(capacity: configuration.queueCapacity)
        loop = try EventLoop(name: "http")
        loop.start()
        let started = OneShotLatchBox()
        loop.execute { [self] in
            do {
                try start()
                started.finish(nil)
            } catch {
                started.finish(error)
            }
        }
        if let error = started.wait() {
            loop.shutdown()
            loop.join()
            throw error
        }
    }

    private func start() throws {
        collector = EventCollector(queue: queue, deadLetters: try configuration.deadLetterPath.map { try DeadLetterLog(path: $0) })
        hub = FeedHub(loop: loop, coalesceMilliseconds: UInt64(max(1, configuration.coalesceInterval.milliseconds)))
        let verifier = configuration.authSecret.map { HS256TokenVerifier(secret: $0) }
        let server = try HTTPServer(loop: loop, configuration: .init(host: configuration.host, port: configuration.port)) { [self] request in
            switch (request.method, request.path) {
            case ("GET", "/"):
                return .response(HTTPResponse(status: 200, headers: [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")],
                                              body: Array(DashboardPage.html.utf8)))
            case ("GET", "/healthz"):
                return .response(.json(200, #"{"status":"ok"}"#))
            case (_, "/v1/events"):
                return .response(collector.handle(request))
            case ("GET", "/v1/feed"):
                return FeedEndpoint.reply(to: request, verifier: verifier, now: Int64(Date().timeIntervalSince1970), hub: hub)
            case ("GET", "/metrics"):
                return .response(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                                              body: metricsPage()))
            default:
                return .response(.error(404, "no route for \(request.method) \(request.path)"))
            }
        }
        self.server = server
        port = server.port
        if let rate = configuration.demoEventsPerSecond, rate > 0 {
            demo = DemoTraffic(collector: collector, loop: loop, eventsPerSecond: rate, seed: UInt64(WallClock.nowMilliseconds()))
        }
    }

    /// Runs the live job until it is cancelled (SIGINT/SIGTERM when `handleSignals`).
    public func run(handleSignals: Bool) throws {
        let graph = try LiveJob.build(events: queue, hub: hub, hubLoop: loop, outOfOrderness: configuration.outOfOrderness,
                                      earlyFiring: configuration.coalesceInterval)
        let runner = JobRunner(graph: graph, options: JobRunner.Options(parallelism: configuration.parallelism, handleSignals: handleSignals))
        loop.execute { [self] in self.runner = runner }
        defer { stop() }
        _ = try runner.run()
    }

    /// Stops the HTTP server and the feed; feed clients get a close frame with 1001.
    public func stop() {
        queue.close()
        loop.execute { [self] in
            demo?.stop()
            hub?.closeAll()
        }
        loop.shutdown()
        loop.join()
    }

    /// The page of `/metrics` (on the loop): the service's counts, then the job's.
    private func metricsPage() -> [UInt8] {
        prometheus.setCounter("runnel_collector_events_accepted_total", total: collector.accepted)
        prometheus.setCounter("runnel_collector_events_rejected_total", total: collector.rejected)
        prometheus.setCounter("runnel_collector_dead_letters_total", total: collector.deadLetters?.written ?? 0)
        prometheus.setCounter("runnel_collector_dead_letter_failures_total", total: collector.deadLetterFailures)
        for (category, count) in collector.rejectedByCategory {
            prometheus.setCounter("runnel_collector_events_rejected_by_reason_total", labels: [("reason", category)], total: count)
        }
        prometheus.setCounter("runnel_collector_saturated_total", total: collector.saturated)
        if let demo {
            prometheus.setCounter("runnel_demo_events_sent_total", total: demo.sent)
            prometheus.setCounter("runnel_demo_events_dropped_total", total: demo.dropped)
        }
        prometheus.setGauge("runnel_collector_queue_depth", value: Double(queue.count))
        prometheus.setGauge("runnel_http_connections", value: Double(server?.connectionCount ?? 0))
        let feed = hub.statistics
        prometheus.setGauge("runnel_feed_clients", value: Double(hub.subscriberCount))
        prometheus.setCounter("runnel_feed_connections_total", total: feed.connectionsOpened)
        prometheus.setCounter("runnel_feed_slow_consumer_disconnects_total", total: feed.slowConsumerDisconnects)
        prometheus.setCounter("runnel_feed_results_published_total", total: feed.resultsPublished)
        prometheus.setCounter("runnel_feed_partials_coalesced_total", total: feed.partialsCoalesced)
        prometheus.setCounter("runnel_feed_deliveries_total", total: feed.deliveries)
        prometheus.setCounter("runnel_feed_forbidden_subscriptions_total", total: feed.forbiddenSubscriptions)
        if let metrics = runner?.metrics {
            prometheus.update(from: metrics, now: Int64(Date().timeIntervalSince1970 * 1000))
        }
        return prometheus.exposition()
    }
}

/// Waits for the server's start on its loop and carries its error back.
private final class OneShotLatchBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var done = false
    private var error: (any Error)?

    func finish(_ error: (any Error)?) {
        condition.lock()
        self.error = error
        done = true
        condition.signal()
        condition.unlock()
    }

    func wait() -> (any Error)? {
        condition.lock()
        while !done { condition.wait() }
        defer { condition.unlock() }
        return error
    }
}
