/// The logical dataflow of a job: named steps and the edges between them, in
/// topological order. Built with ``StreamEnvironment``; run by a runtime, which turns it
/// into an ``ExecutionPlan`` for a parallelism.
public final class JobGraph: @unchecked Sendable {
    // @unchecked: immutable after `StreamEnvironment.build()`; the node factories capture
    // only Sendable user functions.
    let nodes: [GraphNode]
    /// The job's name.
    public let name: String

    init(name: String, nodes: [GraphNode]) {
        self.name = name
        self.nodes = nodes
    }

    /// The names of the steps, in topological order.
    public var stepNames: [String] { nodes.map(\.name) }
}
