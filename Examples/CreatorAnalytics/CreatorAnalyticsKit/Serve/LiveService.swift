import Foundation
import RunnelAuth
import RunnelCore
import RunnelFeed
import RunnelHTTP
import RunnelHTTPServer
import RunnelLog
import RunnelOperators
import RunnelPrometheus
import RunnelRuntime

/// `creator-analytics serve`: on one port, the event collector (`POST /v1/events`), the
/// live feed (`GET /v1/feed`, WebSocket), the dashboard (`GET /`), `GET /healthz` and
/// `GET /metrics` (Prometheus text), with the live job (``LiveJob``) running on what the
/// collector accepts.
///
/// Exactly once, through crashes: the collector appends the events it accepts to a durable
/// log (``DurableLog``, in `<data>/log`) and answers 202 only once they are on disk; the job
/// reads the log (``DurableLogSource``), takes checkpoints into `<data>/checkpoints`, and
/// on start restores the latest valid one, reading the log on from the offsets it recorded.
/// Final results go to `<data>/results` through the exactly-once NDJSON sink. A client that
/// got no answer sends its batch again; deduplication by `event_id` (in the checkpointed
/// state) drops whatever of it had arrived. So after `kill -9` and a restart, the results
/// are those of every event sent, each counted once.
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
        /// The job's parallelism (default: one per core).
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
        /// Where the log, the checkpoints and the results live.
        public var dataDirectory: String
        /// Time between checkpoints (and so how often final results become visible).
        public var checkpointInterval: Duration
        /// Bytes of collected events the log keeps (older segments are deleted).
        public var logRetentionBytes: Int64

        /// The collector's log.
        public var logDirectory: String { dataDirectory + "/log" }
        /// The job's checkpoints.
        public var checkpointDirectory: String { dataDirectory + "/checkpoints" }
        /// The committed final results (`part-results-*.ndjson`).
        public var resultsDirectory: String { dataDirectory + "/results" }

        /// Creates a configuration.
        public init(host: String = "127.0.0.1", port: Int = 8080, parallelism: Int = EventLoopGroup.defaultLoopCount, authSecret: [UInt8]?,
                    queueCapacity: Int = 100_000, outOfOrderness: Duration = .seconds(5), coalesceInterval: Duration = .milliseconds(250),
                    deadLetterPath: String? = nil, demoEventsPerSecond: Int? = nil, dataDirectory: String = ".runnel",
                    checkpointInterval: Duration = .seconds(10), logRetentionBytes: Int64 = 1 << 30) {
            self.dataDirectory = dataDirectory
            self.checkpointInterval = checkpointInterval
            self.logRetentionBytes = logRetentionBytes
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
    /// The collector's durable log, which the job reads.
    public let log: DurableLog
    private var store: DurableLogEventStore!
    private var collector: EventCollector!
    private var demo: DemoTraffic?
    private var hub: FeedHub!
    private var server: HTTPServer?
    private var runner: JobRunner?
    /// What `/metrics` shows; swift-metrics can be bootstrapped over its registry
    /// (`PrometheusMetricsFactory(registry: service.prometheus.registry)`).
    public let prometheus = PrometheusJobMetrics()

    /// Opens the log and starts the HTTP server and the feed (the job starts with ``run()``).
    /// - Throws: when the log cannot be opened or the port cannot be bound.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        log = try DurableLog(configuration: .init(directory: configuration.logDirectory, partitions: max(2, configuration.parallelism),
                                                  retentionBytes: configuration.logRetentionBytes))
        do {
            loop = try EventLoop(name: "http")
        } catch {
            log.close()
            throw error
        }
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
            log.close()
            throw error
        }
    }

    private func start() throws {
        store = DurableLogEventStore(log: log, loop: loop, backlogLimit: configuration.queueCapacity)
        collector = EventCollector(store: store, deadLetters: try configuration.deadLetterPath.map { try DeadLetterLog(path: $0) })
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
                return .deferred { respond in self.collector.handle(request, respond: respond) }
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

    /// Runs the live job until it is cancelled (SIGINT when `handleSignals`; SIGTERM stops it
    /// with a savepoint, which the next start restores), restoring the latest valid
    /// checkpoint first if there is one; `report` receives which.
    /// - Throws: when the checkpoints exist but none can be restored, or the job fails.
    public func run(handleSignals: Bool, report: (String) -> Void = { _ in }) throws {
        defer { stop() }
        let settings = CheckpointSettings(directory: configuration.checkpointDirectory, interval: configuration.checkpointInterval)
        var options = JobRunner.Options(parallelism: configuration.parallelism, handleSignals: handleSignals)
        options.checkpoints = settings
        options.restore = try ReplayJob.restoredCheckpoint("latest", settings: settings, report: report)
        let source = DurableLogSource(log: log) { StoredEventDecoder() }
        let graph = try LiveJob.build(source: source, hub: hub, hubLoop: loop, resultsDirectory: configuration.resultsDirectory,
                                      outOfOrderness: configuration.outOfOrderness, earlyFiring: configuration.coalesceInterval)
        let runner = JobRunner(graph: graph, options: options)
        loop.execute { [self] in self.runner = runner }
        _ = try runner.run()
    }

    /// Stops the HTTP server and the feed (feed clients get a close frame with 1001), then
    /// closes the log.
    public func stop() {
        loop.execute { [self] in
            demo?.stop()
            hub?.closeAll()
        }
        loop.shutdown()
        loop.join()
        log.close()
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
        prometheus.setCounter("runnel_collector_store_failures_total", total: collector.storeFailures)
        prometheus.setGauge("runnel_collector_backlog_events", value: Double(store.backlogEvents))
        prometheus.setGauge("runnel_log_backlog_bytes", value: Double(log.backlogBytes))
        prometheus.setCounter("runnel_log_appended_events_total", total: log.appendedSinceOpen.records)
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
