/// The typed entry points of an operator within a chain: where an upstream operator in the
/// same task hands it records, watermarks and the end of input, by direct calls.
public struct ElementHandler<Element> {
    /// Processes one record.
    public let element: (Element, Timestamp) -> Void
    /// Processes a watermark (already the minimum over the operator's inputs).
    public let watermark: (Timestamp) -> Void
    /// Processes the end of input: flush and finish.
    public let endOfInput: () -> Void

    /// Creates a handler from its three entry points.
    public init(
        element: @escaping (Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void
    ) {
        self.element = element
        self.watermark = watermark
        self.endOfInput = endOfInput
    }
}

/// The output of one operator: it forwards records, watermarks and end-of-input to every
/// downstream handler (chained operators or exchange senders).
///
/// Thread safety: owned by one task; used only on its thread.
public final class Emitter<Element> {
    private var targets: [ElementHandler<Element>] = []
    /// All element targets composed into one closure: calling through it costs one
    /// reference-count pair per record, where copying an `ElementHandler` out of the
    /// target list cost three (one per closure).
    private var deliver: (Element, Timestamp) -> Void = { _, _ in }
    /// Receivers of watermarks and end of input only (the side outputs of this step):
    /// they get the step's time but not its records.
    private var controlTargets: [(watermark: (Timestamp) -> Void, endOfInput: () -> Void)] = []
    /// Records emitted (for metrics).
    public let recordsOut: Counter

    /// Creates an emitter that counts into `recordsOut`.
    public init(recordsOut: Counter = Counter()) {
        self.recordsOut = recordsOut
    }

    /// Adds a downstream handler.
    public func connect(_ handler: ElementHandler<Element>) {
        targets.append(handler)
        switch targets.count {
        case 1:
            deliver = handler.element
        case 2:
            // The common fan-out (a stream feeding two steps) without iterating an array.
            let (first, second) = (targets[0].element, targets[1].element)
            deliver = { v, ts in
                first(v, ts)
                second(v, ts)
            }
        default:
            let elements = targets.map(\.element)
            deliver = { v, ts in for e in elements { e(v, ts) } }
        }
    }

    /// Adds a receiver of watermarks and end of input only.
    public func connectControl(watermark: @escaping (Timestamp) -> Void, endOfInput: @escaping () -> Void) {
        controlTargets.append((watermark, endOfInput))
    }

    /// Whether anything is connected.
    public var isConnected: Bool { !targets.isEmpty }

    /// Emits one record.
    public func emit(_ value: Element, timestamp: Timestamp) {
        recordsOut.increment()
        deliver(value, timestamp)
    }

    /// Forwards a watermark.
    public func emitWatermark(_ watermark: Timestamp) {
        for t in targets { t.watermark(watermark) }
        for c in controlTargets { c.watermark(watermark) }
    }

    /// Forwards the end of input.
    public func emitEndOfInput() {
        for t in targets { t.endOfInput() }
        for c in controlTargets { c.endOfInput() }
    }
}

/// What user functions emit into: the operator's emitter plus the timestamp of the
/// element or timer being handled, which emitted records inherit unless told otherwise.
public final class Collector<Element> {
    let emitter: Emitter<Element>
    /// The timestamp records get by default (the current element's or timer's).
    public internal(set) var timestamp: Timestamp = 0

    init(_ emitter: Emitter<Element>) { self.emitter = emitter }

    /// Emits a record with the current timestamp.
    public func collect(_ value: Element) { emitter.emit(value, timestamp: timestamp) }
    /// Emits a record with an explicit timestamp.
    public func collect(_ value: Element, timestamp: Timestamp) { emitter.emit(value, timestamp: timestamp) }
}
