/// A job graph instantiated for a parallelism: every task of every subtask, wired.
///
/// Chaining: a node joins the task of its inputs when all its inputs are forward edges
/// from one task (Flink's operator chaining), so `map → filter → sink` runs as direct
/// calls. A hash edge (`keyBy`) or inputs from several tasks start a new task fed by an
/// input gate over bounded channels — except at parallelism 1, where a hash edge is
/// chained as well (all keys live in the one subtask).
///
/// Thread safety: built on one thread before the job starts; the tasks then move to
/// their loops.
public final class ExecutionPlan {
    /// Every task, grouped by nothing in particular (each knows its subtask).
    public let tasks: [StreamTask]
    /// The parallelism of every step.
    public let parallelism: Int
    /// Counters and gauges of every operator subtask.
    public let metrics: MetricsRegistry

    /// Tuning of the exchanges.
    public struct Options: Sendable {
        /// Records per batch shipped between tasks.
        public var batchSize = 2048
        /// Batches a channel holds before it reports full (backpressure).
        public var channelCapacity = 16
        /// Key groups (the largest parallelism the job can be rescaled to).
        public var maxParallelism = KeyGroupAssignment.defaultMaxParallelism
        /// State to start from (a restored checkpoint), if any.
        public var restored: RestoredState?
        /// Default options.
        public init() {}
    }

    /// Instantiates `graph` for `parallelism` subtasks per step.
    /// - Parameters:
    ///   - clock: the processing-time service of the loop subtask `i` runs on.
    public init(graph: JobGraph, parallelism: Int, options: Options = Options(),
                metrics: MetricsRegistry = MetricsRegistry(),
                clock: (Int) -> any ProcessingTimeService) throws {
        precondition(parallelism > 0)
        self.parallelism = parallelism
        self.metrics = metrics
        let assignment = KeyGroupAssignment(maxParallelism: options.maxParallelism, parallelism: parallelism)
        let nodes = graph.nodes

        // 1. Chains: the task group of each node.
        var group = [Int](repeating: -1, count: nodes.count)
        var groupCount = 0
        for node in nodes {
            switch node.role {
            case .source:
                group[node.id] = groupCount; groupCount += 1
            case .sideOutput(let parent):
                group[node.id] = group[parent]
            case .transform, .sink:
                let upstreamGroups = Set(node.inputs.map { group[$0.from] })
                // With one subtask per step a keyBy routes every record to subtask 0: the
                // exchange would only add batching and hand-offs, so it is chained too.
                if node.inputs.allSatisfy({ $0.isForward || parallelism == 1 }), upstreamGroups.count == 1 {
                    group[node.id] = upstreamGroups.first!
                } else {
                    group[node.id] = groupCount; groupCount += 1
                }
            }
        }
        func isChained(_ edge: GraphEdge, into node: GraphNode) -> Bool { group[edge.from] == group[node.id] }

        // 2. Channels of every exchange edge: channels[edgeKey][from subtask][to subtask].
        struct EdgeKey: Hashable { var node: Int; var index: Int }
        var channels: [EdgeKey: [[AnyObject]]] = [:]
        var outgoing: [Int: [(EdgeKey, GraphEdge)]] = [:]
        for node in nodes {
            for (i, edge) in node.inputs.enumerated() where !isChained(edge, into: node) {
                let key = EdgeKey(node: node.id, index: i)
                channels[key] = (0..<parallelism).map { _ in (0..<parallelism).map { _ in edge.makeChannel(capacity: options.channelCapacity) } }
                outgoing[edge.from, default: []].append((key, edge))
            }
        }

        // 3. Instantiate per subtask.
        let sharedOf = Dictionary(uniqueKeysWithValues: nodes.map { ($0.id, SharedStepState()) })
        var tasks: [StreamTask] = []
        for subtask in 0..<parallelism {
            var taskOfGroup: [Int: StreamTask] = [:]
            var emitters: [Int: AnyObject] = [:]
            var sideOutputsOf: [Int: SideOutputs] = [:]
            var timeServices: [TaskProcessingTimeService] = []
            for g in 0..<groupCount {
                let service = TaskProcessingTimeService(base: clock(subtask))
                let names = nodes.filter { group[$0.id] == g }.map(\.name).joined(separator: " → ")
                let task = StreamTask(name: "\(names) (\(subtask + 1)/\(parallelism))", subtask: subtask, clock: service)
                service.task = task
                timeServices.append(service)
                taskOfGroup[g] = task
                tasks.append(task)
            }
            for node in nodes {
                let task = taskOfGroup[group[node.id]]!
                let sideOutputs = SideOutputs()
                sideOutputsOf[node.id] = sideOutputs
                let chainedInputs = node.inputs.filter { isChained($0, into: node) }.count
                let gated = node.inputs.count > chainedInputs ? 1 : 0
                let setup = OperatorSetup(
                    name: node.name, subtask: subtask, parallelism: parallelism, assignment: assignment,
                    processingTime: timeServices[group[node.id]], metrics: metrics, sideOutputs: sideOutputs,
                    reportFailure: { [weak task] error in if task?.failure == nil { task?.failure = error } },
                    endOfInputCount: max(1, chainedInputs + gated),
                    onClose: { [weak task] action in task?.closeActions.append(action) },
                    onCheckpoint: { [weak task] action in task?.snapshotActions.append(action) },
                    onFinishedCheckpoint: { [weak task] action in task?.finishedSnapshotActions.append(action) },
                    onCheckpointComplete: { [weak task] action in task?.completionActions.append(action) },
                    restored: options.restored.map { RestoredStepState(checkpointID: $0.checkpointID, parallelism: $0.parallelism,
                                                                         parts: $0.parts[node.name] ?? [],
                                                                         earlierParts: $0.earlierParts.compactMapValues { $0[node.name] }) },
                    shared: sharedOf[node.id]!)
                let emitter = node.makeEmitter?(metrics.counter("records_out", operator: node.name))
                if let emitter { emitters[node.id] = emitter }
                switch node.role {
                case .source:
                    task.source = try node.makeSource!(setup, emitter!)
                    task.watermarkGauge = metrics.gauge("watermark_ms", operator: node.name, initial: Watermark.initial)
                case .sideOutput(let parent):
                    node.registerSideOutput!(sideOutputsOf[parent]!, emitters[parent]!, emitter!)
                case .transform, .sink:
                    let handler = try node.instantiate!(setup, emitter)
                    var gateChannels: [AnyObject] = []
                    for (i, edge) in node.inputs.enumerated() {
                        if isChained(edge, into: node) {
                            edge.connectChained(upstream: emitters[edge.from]!, downstream: handler)
                        } else {
                            let matrix = channels[EdgeKey(node: node.id, index: i)]!
                            if edge.isForward {
                                gateChannels.append(matrix[subtask][subtask])
                            } else {
                                gateChannels.append(contentsOf: matrix.map { $0[subtask] })
                            }
                        }
                    }
                    if !gateChannels.isEmpty {
                        task.input = node.makeGate!(gateChannels, handler)
                        task.maxQueuedGauge = metrics.gauge("max_input_queue_batches", operator: node.name)
                        task.queuedGauge = metrics.gauge("input_queue_batches", operator: node.name)
                        task.watermarkGauge = metrics.gauge("watermark_ms", operator: node.name, initial: Watermark.initial)
                    }
                }
                // Exchange senders for this node's outgoing exchange edges.
                for (key, edge) in outgoing[node.id] ?? [] {
                    let row = channels[key]![subtask]
                    let targets = edge.isForward ? [row[subtask]] : row
                    task.outputs.append(edge.makeSender(channels: targets, subtask: edge.isForward ? 0 : subtask, assignment: assignment,
                                                        batchSize: options.batchSize, upstream: emitters[node.id]!))
                }
            }
        }
        self.tasks = tasks
    }
}
