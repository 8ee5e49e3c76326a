/// Builds a job: sources, transformations, keyed and windowed steps, and sinks
/// (Flink's `StreamExecutionEnvironment`).
///
/// ```swift
/// let env = StreamEnvironment(name: "views")
/// env.source("events", NDJSONFileSource(path: "in.ndjson") { MyLineDecoder() },
///            watermarks: .boundedOutOfOrderness(.seconds(5)) { $0.timestamp })
///    .filter("views only") { $0.isView }
///    .keyBy { $0.postId }
///    .window(TumblingWindows(.minutes(1)))
///    .aggregate("count views", CountAggregate<View>())
///    .sink("print", try NDJSONFileSink(path: "-") { result, json in
///        json.beginObject(); json.key("views"); json.int(result.value); json.endObject()
///    })
/// let graph = try env.build()
/// ```
///
/// Every step has a name, unique in the job: it keys the step's metrics and its state
/// in checkpoints.
///
/// Thread safety: build on one thread.
public final class StreamEnvironment {
    /// The job's name.
    public let name: String
    var nodes: [GraphNode] = []
    private var names: Set<String> = []

    /// Creates an empty job.
    public init(name: String) {
        self.name = name
    }

    func addNode(_ name: String, role: GraphNode.Role) -> GraphNode {
        precondition(!names.contains(name), "step name '\(name)' is used twice; every step needs a unique name")
        names.insert(name)
        let node = GraphNode(id: nodes.count, name: name, role: role)
        nodes.append(node)
        return node
    }

    /// Adds a source; each subtask reads one split, stamped by `watermarks`.
    public func source<S: Source>(_ name: String, _ source: S, watermarks: WatermarkStrategy<S.Output>) -> DataStream<S.Output> {
        let node = addNode(name, role: .source)
        node.makeEmitter = { Emitter<S.Output>(recordsOut: $0) }
        node.makeSource = { setup, emitter in
            let reader = try source.createReader(subtask: setup.subtask, parallelism: setup.parallelism, shared: setup.shared)
            let driver = SourceSplitDriver(reader: reader, strategy: watermarks, emitter: emitter as! Emitter<S.Output>)
            if let restored = setup.restored {
                // A source part: a reader's position, then the watermark its split had sent.
                // Every reader gets every part and takes its share (the earlier run may have
                // had another parallelism); it resumes at the lowest of their watermarks.
                var positions: [[UInt8]] = []
                var watermark: Timestamp?
                for part in restored.parts where !part.payload.isEmpty {
                    var payload = BinaryReader(part.payload)
                    positions.append(try payload.readBytes())
                    let mark = try payload.readVarInt()
                    watermark = min(watermark ?? mark, mark)
                }
                try reader.restore(from: positions)
                if let watermark { driver.restore(watermark: watermark) }
            }
            let (step, subtask) = (setup.name, setup.subtask)
            let part = { [unowned driver] (id: Int64) throws -> CheckpointPart in
                let (position, summary) = try reader.checkpointPosition(checkpointID: id)
                var payload = BinaryWriter()
                payload.writeBytes(position)
                payload.writeVarInt(driver.lastWatermark)
                return CheckpointPart(checkpointID: id, step: step, subtask: subtask, payload: payload.bytes, summary: summary)
            }
            setup.onCheckpoint { barrier in try part(barrier.id) }
            setup.onFinishedCheckpoint { try part(0) }
            return driver
        }
        return DataStream(environment: self, node: node.id)
    }

    /// Finishes building.
    /// - Throws: ``JobGraphError`` when a step has no consumers that need one, etc.
    public func build() throws -> JobGraph {
        if nodes.isEmpty { throw JobGraphError.empty }
        return JobGraph(name: name, nodes: nodes)
    }
}

/// Problems found while building a job graph.
public enum JobGraphError: Error, CustomStringConvertible {
    /// The job has no steps.
    case empty

    public var description: String {
        switch self {
        case .empty: return "the job has no steps"
        }
    }
}
