import RunnelCore
import RunnelOperators
import RunnelTesting
import Synchronization

// A keyed process function driven by commands, to observe keyed state through the public
// API: every `get…` command emits what the state holds for the command's key.

/// One operation on the keyed state of the command's key.
enum StateOp: Sendable, Hashable {
    case setValue(Int), getValue, clearValue, addToValue(Int), replaceValue(Int)
    case append(Int), getList, updateList([Int]), clearList
    case put(String, Int), removeEntry(String), getEntry(String), getMap, clearMap
    case reduce(Int), getReduced, clearReduced
    case aggregate(Int), getAggregate, clearAggregate
    case countEntries  // emits the number of entries of the value table in this subtask
    case noop
}

/// A command: a key, an event timestamp and an operation.
struct StateCmd: Sendable, Hashable {
    var key: String
    var t: Timestamp
    var op: StateOp
    init(_ key: String, _ t: Timestamp, _ op: StateOp) {
        self.key = key
        self.t = t
        self.op = op
    }
}

/// An average, to check that an aggregating state keeps an accumulator distinct from its result.
struct AverageAggregate: AggregateFunction {
    func createAccumulator() -> (sum: Int, count: Int) { (0, 0) }
    func add(_ value: Int, to acc: inout (sum: Int, count: Int)) { acc.sum += value; acc.count += 1 }
    func merge(_ other: (sum: Int, count: Int), into acc: inout (sum: Int, count: Int)) { acc.sum += other.sum; acc.count += other.count }
    func result(_ acc: (sum: Int, count: Int)) -> String { "\(acc.sum)/\(acc.count)" }
}

/// Runs ``StateCmd``s against every kind of keyed state; all states share one optional TTL.
final class StateProbeFunction: KeyedProcessFunction {
    typealias Key = String
    let ttl: StateTTL?
    let probe: BackendProbe?
    var value: ValueState<Int>!
    var list: ListState<Int>!
    var map: MapState<String, Int>!
    var reduced: ReducingState<Int>!
    var average: AggregatingState<Int, String>!
    var backend: KeyedStateBackend<String>!

    init(ttl: StateTTL? = nil, probe: BackendProbe? = nil) {
        self.ttl = ttl
        self.probe = probe
    }

    func open(_ context: KeyedRuntimeContext<String>) throws {
        value = context.state(ValueStateDescriptor<Int>("value", ttl: ttl))
        list = context.state(ListStateDescriptor<Int>("list", ttl: ttl))
        map = context.state(MapStateDescriptor<String, Int>("map", ttl: ttl))
        reduced = context.state(ReducingStateDescriptor<Int>("max", ttl: ttl) { max($0, $1) })
        average = context.state(AggregatingStateDescriptor("average", function: AverageAggregate(), ttl: ttl))
        backend = context.stateBackend
        probe?.register(context.stateBackend)
    }

    func processElement(_ cmd: StateCmd, context: KeyedProcessContext<String, String>, out: Collector<String>) {
        let k = context.currentKey
        switch cmd.op {
        case .setValue(let v): value.value = v
        case .getValue: out.collect("\(k) value=\(value.value.map(String.init) ?? "nil")")
        case .clearValue: value.clear()
        case .addToValue(let n): value.modify(default: 0) { $0 += n }
        case .replaceValue(let v): out.collect("\(k) replaced=\(value.replace(with: v).map(String.init) ?? "nil")")
        case .append(let v): list.append(v)
        case .getList: out.collect("\(k) list=\(list.elements)")
        case .updateList(let l): list.update(l)
        case .clearList: list.clear()
        case .put(let mk, let v): map[mk] = v
        case .removeEntry(let mk): map[mk] = nil
        case .getEntry(let mk): out.collect("\(k) map[\(mk)]=\(map[mk].map(String.init) ?? "nil")")
        case .getMap: out.collect("\(k) map=\(map.entries.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" })")
        case .clearMap: map.clear()
        case .reduce(let v): reduced.add(v)
        case .getReduced: out.collect("\(k) max=\(reduced.value.map(String.init) ?? "nil")")
        case .clearReduced: reduced.clear()
        case .aggregate(let v): average.add(v)
        case .getAggregate: out.collect("\(k) avg=\(average.result ?? "nil")")
        case .clearAggregate: average.clear()
        case .countEntries: out.collect("entries=\(backend.stateTable(named: "value", of: Int.self)?.count ?? -1)")
        case .noop: break
        }
    }
}

/// A job `feed → keyBy(key) → StateProbeFunction → collect`, with event timestamps from
/// the commands (bounded disorder `bound`).
///
/// All commands go to split 0; the other splits (parallelism > 1) end at once, so that
/// split 0 alone drives the watermark.
struct StateJob {
    let feed: Feed<StateCmd>
    let sink = CollectSink<String>()
    let runner: EmbeddedRunner

    init(ttl: StateTTL? = nil, probe: BackendProbe? = nil, bound: Int64 = 0, parallelism: Int = 1, start: Timestamp = 0) throws {
        feed = Feed<StateCmd>(splits: parallelism)
        for split in 1..<parallelism { feed.finish(split: split) }
        let env = StreamEnvironment(name: "state")
        env.source("commands", FedSource(feed), watermarks: .boundedOutOfOrderness(.milliseconds(bound)) { $0.t })
            .keyBy { $0.key }
            .process("probe", StateProbeFunction(ttl: ttl, probe: probe))
            .sink("out", sink)
        runner = try EmbeddedRunner(graph: try env.build(), parallelism: parallelism, clock: ManualClock(start: start))
        try runner.runUntilIdle()
    }

    /// Feeds commands as one batch (one watermark after them) and returns what they emitted.
    @discardableResult
    func run(_ cmds: [StateCmd], advance ms: Int64 = 1) throws -> [String] {
        let before = sink.results.count
        feed.push(cmds)
        try runner.pump(ms)
        return Array(sink.results.dropFirst(before))
    }

    /// Feeds each command in its own batch (a watermark after each).
    @discardableResult
    func runEach(_ cmds: [StateCmd]) throws -> [String] {
        let before = sink.results.count
        for c in cmds { feed.push([c]) }
        try runner.pump()
        return Array(sink.results.dropFirst(before))
    }
}
