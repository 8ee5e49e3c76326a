import Synchronization

/// Names and collects the counters and gauges of a job's operator subtasks.
///
/// Each subtask registers its own counters (no sharing, no contention); readers sum them
/// per operator and metric. Registration takes a lock; counting does not.
///
/// Thread safety: all methods may be called from any thread.
public final class MetricsRegistry: Sendable {
    /// Identifies one metric of one operator subtask.
    public struct Name: Hashable, Sendable, Comparable {
        /// The operator (step) name.
        public var operatorName: String
        /// The metric, e.g. `records_in`.
        public var metric: String
        /// Creates a name.
        public init(operatorName: String, metric: String) {
            self.operatorName = operatorName
            self.metric = metric
        }
        public static func < (a: Name, b: Name) -> Bool {
            (a.operatorName, a.metric) < (b.operatorName, b.metric)
        }
    }

    private let counters = Mutex<[Name: [Counter]]>([:])
    private let gauges = Mutex<[Name: [Gauge]]>([:])

    /// Creates an empty registry.
    public init() {}

    /// A new counter for one subtask of `operatorName`.
    public func counter(_ metric: String, operator operatorName: String) -> Counter {
        let c = Counter()
        counters.withLock { $0[Name(operatorName: operatorName, metric: metric), default: []].append(c) }
        return c
    }

    /// A new gauge for one subtask of `operatorName`.
    public func gauge(_ metric: String, operator operatorName: String, initial: Int64 = 0) -> Gauge {
        let g = Gauge(initial)
        gauges.withLock { $0[Name(operatorName: operatorName, metric: metric), default: []].append(g) }
        return g
    }

    /// The sum of a counter over all subtasks of an operator (0 if unknown).
    public func total(_ metric: String, operator operatorName: String) -> Int {
        counters.withLock { $0[Name(operatorName: operatorName, metric: metric)]?.reduce(0) { $0 + $1.value } ?? 0 }
    }

    /// Every counter summed over subtasks.
    public func counterTotals() -> [Name: Int] {
        counters.withLock { $0.mapValues { $0.reduce(0) { $0 + $1.value } } }
    }

    /// Every gauge's values per subtask.
    public func gaugeValues() -> [Name: [Int64]] {
        gauges.withLock { $0.mapValues { $0.map(\.value) } }
    }
}
