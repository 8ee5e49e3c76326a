/// One step of a job graph, with type-erased factories that instantiate it per subtask.
///
/// The stream-building API (``DataStream`` and friends) creates nodes from typed code and
/// captures the types in these closures; the execution plan calls them without knowing
/// the element types. Erasure happens once, at instantiation: the running job calls
/// operators through typed closures, not existentials.
final class GraphNode {
    enum Role {
        case source
        case transform
        case sink
        /// A side output of `parent`, chained to it.
        case sideOutput(parent: Int)
    }

    let id: Int
    let name: String
    let role: Role
    var inputs: [GraphEdge] = []

    /// Makes the node's output emitter (`Emitter<Out>`), absent for sinks.
    var makeEmitter: ((Counter) -> AnyObject)?
    /// Instantiates the operator of one subtask with its output emitter and returns its
    /// input handler (`HandlerBox<In>`); absent for sources and side outputs.
    var instantiate: ((OperatorSetup, AnyObject?) throws -> AnyObject)?
    /// Instantiates one split of a source, given its output emitter.
    var makeSource: ((OperatorSetup, AnyObject) throws -> any SourceDriver)?
    /// Registers a side output's emitter with its parent's side outputs, and has the
    /// parent's emitter (the second argument) forward its watermarks and end of input to it.
    var registerSideOutput: ((SideOutputs, AnyObject, AnyObject) -> Void)?
    /// Builds the input gate of a task headed by this node from its channels and handler.
    var makeGate: (([AnyObject], AnyObject) -> any InputDriver)?

    init(id: Int, name: String, role: Role) {
        self.id = id
        self.name = name
        self.role = role
    }
}

/// An operator's input handler in a box, so it can travel through type-erased plumbing.
final class HandlerBox<Element> {
    let handler: ElementHandler<Element>
    init(_ handler: ElementHandler<Element>) { self.handler = handler }
}

/// A connection between two nodes: forward (subtask `i` to subtask `i`) or hashed by key.
class GraphEdge {
    let from: Int
    init(from: Int) { self.from = from }
    var isForward: Bool { fatalError("abstract") }
    func connectChained(upstream: AnyObject, downstream: AnyObject) { fatalError("abstract") }
    func makeChannel(capacity: Int) -> AnyObject { fatalError("abstract") }
    func makeSender(channels: [AnyObject], subtask: Int, assignment: KeyGroupAssignment, batchSize: Int, upstream: AnyObject) -> any OutputDriver {
        fatalError("abstract")
    }
}

final class TypedEdge<Element>: GraphEdge {
    /// Whether this is a hash edge (records go to the subtask that owns their key group).
    let isHashed: Bool
    private var senderFactory: (([AnyObject], Int, KeyGroupAssignment, Int, AnyObject) -> any OutputDriver)!

    /// A forward edge.
    override init(from: Int) {
        isHashed = false
        super.init(from: from)
        // Formed here, where `Element` is concrete, so that the exchange's per-record code
        // (routing, buffering) is specialized; the plan calls through the erased class.
        senderFactory = { channels, subtask, _, batchSize, upstream in
            let typed = channels.map { $0 as! Channel<Element> }
            let sender = ExchangeSender(channels: typed, route: nil, forwardTarget: subtask, batchSize: batchSize)
            (upstream as! Emitter<Element>).connect(sender.handler)
            return sender
        }
    }

    /// A hash edge; `keyHash` gives the stable hash of a record's key. (Not an optional
    /// parameter: a closure passed through an `Optional` is called through reabstraction
    /// thunks, per record.)
    init(from: Int, keyHash: @escaping (Element) -> UInt64) {
        isHashed = true
        super.init(from: from)
        senderFactory = { channels, _, assignment, batchSize, upstream in
            let typed = channels.map { $0 as! Channel<Element> }
            let sender = ExchangeSender(channels: typed, keyHash: keyHash,
                                        target: { assignment.subtask(ofKeyGroup: assignment.keyGroup(forHash: $0)) },
                                        batchSize: batchSize)
            (upstream as! Emitter<Element>).connect(sender.handler)
            return sender
        }
    }

    override var isForward: Bool { !isHashed }

    override func connectChained(upstream: AnyObject, downstream: AnyObject) {
        (upstream as! Emitter<Element>).connect((downstream as! HandlerBox<Element>).handler)
    }

    override func makeChannel(capacity: Int) -> AnyObject { Channel<Element>(capacity: capacity) }

    override func makeSender(channels: [AnyObject], subtask: Int, assignment: KeyGroupAssignment, batchSize: Int, upstream: AnyObject) -> any OutputDriver {
        senderFactory(channels, subtask, assignment, batchSize, upstream)
    }
}
