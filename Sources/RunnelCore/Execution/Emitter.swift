/// The typed entry points of an operator within a chain: where an upstream operator in the
/// same task hands it records, watermarks and the end of input, by direct calls.
///
/// A record reaches an operator in one of two ways. Given (``element``), the operator owns
/// it: an operator that keeps records (an exchange's batch, a process function) keeps that
/// one without a copy. Lent (``lentElement``), the caller keeps it: an operator that only
/// reads records (a window's aggregate, a map, a sink) reads it in place, and one that keeps
/// records copies it. An emitter feeding several operators lends a record to all but the
/// last and gives it to the last (``Emitter/emit(_:timestamp:)``), so a record is copied
/// only where an operator before the last keeps it. (A copy retains every id the record
/// holds; for a record that crossed threads, that is also the first touch of those ids'
/// memory on the consuming core.)
public struct ElementHandler<Element> {
    /// Processes one record that it is given (and owns).
    public let element: (consuming Element, Timestamp) -> Void
    /// Processes one record lent for the call.
    public let lentElement: (borrowing Element, Timestamp) -> Void
    /// Processes a watermark (already the minimum over the operator's inputs).
    public let watermark: (Timestamp) -> Void
    /// Processes the end of input: flush and finish.
    public let endOfInput: () -> Void
    /// Whether this is a keyed operator's handler, with the two entry points below.
    public let isKeyed: Bool
    /// For a keyed operator: processes one record of a keyed exchange whose key's stable
    /// hash the sender computed (``StreamItem/keyHashes(_:)``), so the key is not hashed
    /// twice. Otherwise it hands the record to `element`.
    public let hashedElement: (consuming Element, Timestamp, UInt64) -> Void
    /// For a keyed operator: starts loading into the cache the state that a record with this
    /// key hash will touch. The input gate calls it a few records ahead of processing, so
    /// that the memory latency of a large state table overlaps the records in between.
    /// Otherwise it does nothing.
    ///
    /// (These two are not optional: a closure of a generic type kept in an `Optional` is
    /// stored at the most general abstraction, and every call then goes through a
    /// reabstraction thunk, ~20 instructions.)
    public let prefetch: (UInt64) -> Void

    /// Creates the handler of an operator that keeps the records it is given: a lent record
    /// is copied, then given.
    public init(
        element: @escaping (consuming Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void
    ) {
        self.init(element: element, lentElement: { v, ts in element(copy v, ts) }, watermark: watermark, endOfInput: endOfInput)
    }

    /// Creates the handler of an operator that only reads records: a record it is given is
    /// read as a lent one, then dropped.
    public init(
        lentElement: @escaping (borrowing Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void
    ) {
        self.init(element: { v, ts in lentElement(v, ts) }, lentElement: lentElement, watermark: watermark, endOfInput: endOfInput)
    }

    /// Creates a handler with both record entry points (for an operator that passes records
    /// on: it gives on what it is given, and lends on what it is lent).
    public init(
        element: @escaping (consuming Element, Timestamp) -> Void,
        lentElement: @escaping (borrowing Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void
    ) {
        self.element = element
        self.lentElement = lentElement
        self.watermark = watermark
        self.endOfInput = endOfInput
        self.isKeyed = false
        self.hashedElement = { value, ts, _ in element(value, ts) }
        self.prefetch = { _ in }
    }

    /// Creates a keyed operator's handler: both record entry points, watermark and end of
    /// input, and the two entry points that take key hashes.
    public init(
        element: @escaping (consuming Element, Timestamp) -> Void,
        lentElement: @escaping (borrowing Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void,
        hashedElement: @escaping (consuming Element, Timestamp, UInt64) -> Void,
        prefetch: @escaping (UInt64) -> Void
    ) {
        self.element = element
        self.lentElement = lentElement
        self.watermark = watermark
        self.endOfInput = endOfInput
        self.isKeyed = true
        self.hashedElement = hashedElement
        self.prefetch = prefetch
    }

    /// Creates the keyed handler of an operator that keeps the records it is given (a lent
    /// record is copied, then given).
    public init(
        element: @escaping (consuming Element, Timestamp) -> Void,
        watermark: @escaping (Timestamp) -> Void,
        endOfInput: @escaping () -> Void,
        hashedElement: @escaping (consuming Element, Timestamp, UInt64) -> Void,
        prefetch: @escaping (UInt64) -> Void
    ) {
        self.init(element: element, lentElement: { v, ts in element(copy v, ts) }, watermark: watermark,
                  endOfInput: endOfInput, hashedElement: hashedElement, prefetch: prefetch)
    }
}

/// The output of one operator: it forwards records, watermarks and end-of-input to every
/// downstream handler (chained operators or exchange senders).
///
/// Thread safety: owned by one task; used only on its thread.
public final class Emitter<Element> {
    private var targets: [ElementHandler<Element>] = []
    /// All element targets composed into two closures (for records given and records lent),
    /// held by an immutable box that ``connect(_:)`` replaces. Connections are made while the
    /// plan is built, before any task runs; never during an ``emit(_:timestamp:)`` (debug
    /// builds check this).
    private final class Delivery {
        /// Delivers a record the emitter is given.
        let send: (consuming Element, Timestamp) -> Void
        /// Delivers a record lent to the emitter.
        let lend: (borrowing Element, Timestamp) -> Void
        init(send: @escaping (consuming Element, Timestamp) -> Void, lend: @escaping (borrowing Element, Timestamp) -> Void) {
            self.send = send
            self.lend = lend
        }
    }
    /// Keeps the current delivery alive.
    private var deliveryOwner = Delivery(send: { _, _ in }, lend: { _, _ in })
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
        // Every target but the last is lent a record the emitter is given; the last is given
        // it. (Targets get records in the order they were connected.)
        switch targets.count {
        case 1:
            deliveryOwner = Delivery(send: handler.element, lend: handler.lentElement)
        case 2:
            // The common fan-out (a stream feeding two steps) without iterating an array.
            let (lendFirst, giveSecond, lendSecond) = (targets[0].lentElement, targets[1].element, targets[1].lentElement)
            deliveryOwner = Delivery(
                send: { v, ts in
                    lendFirst(v, ts)
                    giveSecond(consume v, ts)
                },
                lend: { v, ts in
                    lendFirst(v, ts)
                    lendSecond(v, ts)
                })
        default:
            let lends = targets.map(\.lentElement)
            let lendsBeforeLast = Array(lends.dropLast())
            let giveLast = targets[targets.count - 1].element
            deliveryOwner = Delivery(
                send: { v, ts in
                    for lend in lendsBeforeLast { lend(v, ts) }
                    giveLast(consume v, ts)
                },
                lend: { v, ts in for lend in lends { lend(v, ts) } })
        }
        delivery = .passUnretained(deliveryOwner)
    }

    /// Adds a receiver of watermarks and end of input only.
    public func connectControl(watermark: @escaping (Timestamp) -> Void, endOfInput: @escaping () -> Void) {
        controlTargets.append((watermark, endOfInput))
    }

    /// Whether anything is connected.
    public var isConnected: Bool { !targets.isEmpty }

    /// Emits a record the caller gives up: lent to every target but the last, and given to
    /// the last.
    public func emit(_ value: consuming Element, timestamp: Timestamp) {
        recordsOut.increment()
        #if DEBUG
        emitted = true
        #endif
        // Moved into an optional and out again inside the closure: a non-escaping closure
        // borrows what it captures, so the parameter itself could not be consumed there.
        var record: Element? = consume value
        delivery._withUnsafeGuaranteedRef { $0.send(record.take().unsafelyUnwrapped, timestamp) }
    }

    /// Emits a record the caller keeps: lent to every target.
    public func lend(_ value: Element, timestamp: Timestamp) {
        recordsOut.increment()
        #if DEBUG
        emitted = true
        #endif
        // A plain (borrowed) parameter rather than a `borrowing` one: the closure may capture
        // it, as a borrow. (A `borrowing` parameter cannot be captured, and the ways around
        // that cost more: `withUnsafePointer(to:)` copies the record into a temporary, and
        // `takeUnretainedValue()` retains and releases the delivery box, ~1 % of a
        // pass-through query.)
        delivery._withUnsafeGuaranteedRef { $0.lend(value, timestamp) }
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
    /// (A record passed on its last use is handed downstream without a copy.)
    public func collect(_ value: consuming Element) { emitter.emit(consume value, timestamp: timestamp) }
    /// Emits a record with an explicit timestamp.
    public func collect(_ value: consuming Element, timestamp: Timestamp) { emitter.emit(consume value, timestamp: timestamp) }
}
