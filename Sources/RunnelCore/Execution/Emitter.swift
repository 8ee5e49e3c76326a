/// The typed entry points of an operator within a chain: where an upstream operator in the
/// same task hands it records, watermarks and the end of input, by direct calls.
public struct ElementHandler<Element> {
    /// Processes one record.
    public let element: (Element, Timestamp) -> Void
    /// Processes a watermark (already the minimum over the operator's inputs).
    public let watermark: (Timestamp) -> Void
    /// Processes the end of input: flush and finish.
    public let endOfInput: () -> Void
    /// Whether this is a keyed operator's handler, with the two entry points below.
    public let isKeyed: Bool
    /// For a keyed operator: processes one record of a keyed exchange whose key's stable
    /// hash the sender computed (``StreamItem/keyHashes(_:)``), so the key is not hashed
    /// twice. Otherwise it hands the record to `element`.
    public let hashedElement: (Element, Timestamp, UInt64) -> Void
    /// For a keyed operator: starts loading into the cache the state that a record with this
    /// key hash will touch. The input gate calls it a few records ahead of processing, so
    /// that the memory latency of a large state table overlaps the records in between.
    /// Otherwise it does nothing.
    ///
    /// (These two are not optional: a closure of a generic type kept in an `Optional` is
    /// stored at the most general abstraction, and every call then goes through a
    /// reabstraction thunk, ~20 instructions.)
    public let prefetch: (UInt64) -> Void

    /// Creates a handler from its three entry points.
    public init(
        element: @escaping (Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void
    ) {
        self.element = element
        self.watermark = watermark
        self.endOfInput = endOfInput
        self.isKeyed = false
        self.hashedElement = { value, ts, _ in element(value, ts) }
        self.prefetch = { _ in }
    }

    /// Creates a keyed operator's handler: the three entry points, and the two that take
    /// key hashes.
    public init(
        element: @escaping (Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void,
        hashedElement: @escaping (Element, Timestamp, UInt64) -> Void,
        prefetch: @escaping (UInt64) -> Void
    ) {
        self.element = element
        self.watermark = watermark
        self.endOfInput = endOfInput
        self.isKeyed = true
        self.hashedElement = hashedElement
        self.prefetch = prefetch
    }
}

/// The output of one operator: it forwards records, watermarks and end-of-input to every
/// downstream handler (chained operators or exchange senders).
///
/// Thread safety: owned by one task; used only on its thread.
public final class Emitter<Element> {
    private var targets: [ElementHandler<Element>] = []
    /// All element targets composed into one closure, held by an immutable box that
    /// ``connect(_:)`` replaces. Connections are made while the plan is built, before any
    /// task runs; never during an ``emit(_:timestamp:)`` (debug builds check this).
    private final class Delivery {
        let send: (Element, Timestamp) -> Void
        init(_ send: @escaping (Element, Timestamp) -> Void) { self.send = send }
    }
    /// Keeps the current delivery alive.
    private var deliveryOwner = Delivery { _, _ in }
    /// The current delivery, reached per record without a reference-count pair. A closure
    /// read from a `var` is retained around each call (the call could replace it): an atomic
    /// increment and decrement per record and operator, a good part of a chain's cost. A
    /// closure in a `let` of an object the caller holds guaranteed is called as it is; an
    /// unmanaged reference gives that guarantee (``deliveryOwner`` keeps the box alive).
    private var delivery: Unmanaged<Delivery>
    /// Receivers of watermarks and end of input only (the side outputs of this step):
    /// they get the step's time but not its records.
    private var controlTargets: [(watermark: (Timestamp) -> Void, endOfInput: () -> Void)] = []
    /// Records emitted (for metrics).
    public let recordsOut: Counter

    /// Creates an emitter that counts into `recordsOut`.
    public init(recordsOut: Counter = Counter()) {
        self.recordsOut = recordsOut
        delivery = .passUnretained(deliveryOwner)
    }

    #if DEBUG
    /// Set once a record has been emitted: connecting after that is a wiring bug.
    private var emitted = false
    #endif

    /// Adds a downstream handler (while the job is wired, before any record).
    public func connect(_ handler: ElementHandler<Element>) {
        #if DEBUG
        assert(!emitted, "an emitter was connected after records flowed through it")
        #endif
        targets.append(handler)
        switch targets.count {
        case 1:
            deliveryOwner = Delivery(handler.element)
        case 2:
            // The common fan-out (a stream feeding two steps) without iterating an array.
            let (first, second) = (targets[0].element, targets[1].element)
            deliveryOwner = Delivery { v, ts in
                first(v, ts)
                second(v, ts)
            }
        default:
            let elements = targets.map(\.element)
            deliveryOwner = Delivery { v, ts in for e in elements { e(v, ts) } }
        }
        delivery = .passUnretained(deliveryOwner)
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
        #if DEBUG
        emitted = true
        #endif
        delivery._withUnsafeGuaranteedRef { $0.send(value, timestamp) }
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
