import Prometheus
import RunnelCore
import Synchronization

/// The metrics of a running job (and of whatever else a service counts) in the Prometheus
/// text format, through swift-prometheus.
///
/// The engine counts in its own ``MetricsRegistry``: one single-writer counter per operator
/// subtask, a relaxed store per update and nothing shared between threads, because those
/// counters sit on the per-record path. A swift-prometheus counter is an atomic
/// read-modify-write on a value shared by every subtask, which would put contended atomics
/// in the hot loop. So the engine's values are mirrored into a
/// `PrometheusCollectorRegistry` when `/metrics` is scraped (``update(from:now:)``), and the
/// registry writes the exposition (grouping, `# TYPE` lines, label escaping).
///
/// Anything else can be added to ``registry`` directly — including swift-metrics: bootstrap
/// `MetricsSystem` with `PrometheusMetricsFactory(registry:)` over this registry and the
/// counters of custom code appear on the same page.
///
/// Names: engine counter `m` of operator `o` is `runnel_m_total{operator="o"}`. Gauges keep
/// their name, summed over subtasks for queue depths and the largest value otherwise. The
/// watermark of each operator (the smallest over its subtasks) is given as
/// `runnel_watermark_lag_seconds{operator="o"}`: how far event time trails the wall clock.
/// Job-wide scopes (`runtime`, `checkpoints`) carry no `operator` label.
///
/// Thread safety: all methods may be called from any thread.
public final class PrometheusJobMetrics: Sendable {
    /// The registry the page is written from.
    public let registry: PrometheusCollectorRegistry
    private let state = Mutex(MirrorState())

    private struct MirrorState: ~Copyable {
        /// Mirrored counters and the total they were last advanced to.
        var counters: [SeriesKey: (counter: Prometheus.Counter, total: Int)] = [:]
        var gauges: [SeriesKey: Prometheus.Gauge] = [:]
    }

    private struct SeriesKey: Hashable {
        var name: String
        var labels: [String]
    }

    /// Metrics scopes of the whole job rather than of an operator.
    static let jobScopes: Set<String> = ["runtime", "checkpoints"]

    /// Creates an exporter writing into `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Mirrors the job's current values. `now` (epoch milliseconds) is what watermark lag
    /// is measured against.
    public func update(from metrics: MetricsRegistry, now: Timestamp) {
        for (name, total) in metrics.counterTotals() {
            setCounter(Self.sanitized("runnel_\(name.metric)_total"), labels: labels(of: name), total: total)
        }
        for (name, values) in metrics.gaugeValues() where !values.isEmpty {
            switch name.metric {
            case "watermark_ms":
                // The operator's event time is its slowest subtask's.
                let watermark = values.min()!
                guard watermark != Watermark.initial else { continue }
                let lag = watermark == Watermark.endOfTime ? 0 : Double(now - watermark) / 1000
                setGauge("runnel_watermark_lag_seconds", labels: labels(of: name), value: lag)
            case "input_queue_batches":
                setGauge("runnel_input_queue_batches", labels: labels(of: name), value: Double(values.reduce(0, +)))
            default:
                setGauge(Self.sanitized("runnel_\(name.metric)"), labels: labels(of: name), value: Double(values.max()!))
            }
        }
    }

    /// Sets a counter to `total`, a running total kept elsewhere (it only ever grows).
    public func setCounter(_ name: String, labels: [(String, String)] = [], total: Int) {
        let key = SeriesKey(name: name, labels: labels.flatMap { [$0.0, $0.1] })
        state.withLock { state in
            if var entry = state.counters[key] {
                if total > entry.total {
                    entry.counter.increment(by: Int64(total - entry.total))
                    entry.total = total
                    state.counters[key] = entry
                }
            } else {
                let counter = registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: ""), labels: labels)
                counter.increment(by: Int64(total))
                state.counters[key] = (counter, total)
            }
        }
    }

    /// Sets a gauge.
    public func setGauge(_ name: String, labels: [(String, String)] = [], value: Double) {
        let key = SeriesKey(name: name, labels: labels.flatMap { [$0.0, $0.1] })
        state.withLock { state in
            if let gauge = state.gauges[key] {
                gauge.set(to: value)
            } else {
                let gauge = registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: ""), labels: labels)
                gauge.set(to: value)
                state.gauges[key] = gauge
            }
        }
    }

    /// The page: the Prometheus text exposition format 0.0.4.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    private func labels(of name: MetricsRegistry.Name) -> [(String, String)] {
        Self.jobScopes.contains(name.operatorName) ? [] : [("operator", name.operatorName)]
    }

    /// A metric name with every character Prometheus does not allow replaced by `_`.
    static func sanitized(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") ? $0 : "_" })
    }
}
