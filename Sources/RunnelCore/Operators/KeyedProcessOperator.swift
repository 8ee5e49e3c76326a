/// Runs a ``KeyedProcessFunction`` on one subtask: sets the current key, hands elements
/// and due timers to the function, and forwards watermarks after the timers they fire.
///
/// Thread safety: owned by one task.
public final class KeyedProcessOperator<Function: KeyedProcessFunction> {
    typealias Key = Function.Key
    let function: Function
    let keyOf: (Function.Input) -> Key
    let backend: KeyedStateBackend<Key>
    let timers: InternalTimerService<Key, NoNamespace>
    let context: KeyedProcessContext<Key, Function.Output>
    let collector: Collector<Function.Output>
    let output: Emitter<Function.Output>
    let recordsIn: Counter

    /// Creates and opens the operator.
    public init(function: Function, keyOf: @escaping (Function.Input) -> Function.Key, setup: OperatorSetup, output: Emitter<Function.Output>) throws {
        self.function = function
        self.keyOf = keyOf
        self.output = output
        let timers = InternalTimerService<Key, NoNamespace>(processingTimeService: setup.processingTime)
        self.timers = timers
        let clock = setup.processingTime
        self.backend = KeyedStateBackend(
            assignment: setup.assignment, keyGroups: setup.keyGroups,
            processingTime: { clock.currentTime }, eventTime: { [timers] in timers.currentWatermark })
        self.context = KeyedProcessContext(timers: timers, backend: backend, sideOutputs: setup.sideOutputs,
                                           droppedSideOutput: setup.counter("side_output_dropped"))
        self.collector = Collector(output)
        self.recordsIn = setup.counter("records_in")
        timers.onEventTime = { [unowned self] t in self.fire(t, .eventTime) }
        timers.onProcessingTime = { [unowned self] t in self.fire(t, .processingTime) }
        try function.open(KeyedRuntimeContext(setup: setup, stateBackend: backend))
        try KeyedOperatorSnapshot.restore(setup: setup, backend: backend, timers: timers)
        KeyedOperatorSnapshot.register(setup: setup, backend: backend, timers: timers)
    }

    /// The operator's input entry points; they keep the operator alive (nothing else holds it).
    public var handler: ElementHandler<Function.Input> {
        ElementHandler(
            element: { v, ts in self.processElement(consume v, ts) },
            watermark: { wm in self.processWatermark(wm) },
            endOfInput: { self.finish() },
            hashedElement: { v, ts, hash in self.processElement(consume v, ts, keyHash: hash) },
            prefetch: { hash in self.backend.prefetch(keyHash: hash) }
        )
    }

    /// The state backend (for inspection and snapshots).
    public var stateBackend: KeyedStateBackend<Function.Key> { backend }
    /// The timer service (for inspection and snapshots).
    public var timerService: InternalTimerService<Function.Key, NoNamespace> { timers }

    func processElement(_ value: consuming Function.Input, _ ts: Timestamp) {
        let key = HashedKey(keyOf(value))
        processElement(consume value, ts, key: key)
    }

    /// A record of a keyed exchange: the sender hashed the same key (`keyOf` is the keyed
    /// stream's key function on both sides).
    func processElement(_ value: consuming Function.Input, _ ts: Timestamp, keyHash: UInt64) {
        let key = keyOf(value)
        assert(key.stableHash == keyHash, "the key hash carried by a record differs from its key's")
        processElement(consume value, ts, key: HashedKey(key, hash: keyHash))
    }

    @inline(__always)
    private func processElement(_ value: consuming Function.Input, _ ts: Timestamp, key: HashedKey<Key>) {
        recordsIn.increment()
        backend.setCurrentKey(key)
        backend.currentTimestamp = ts
        context.timestamp = ts
        context.timeDomain = nil
        collector.timestamp = ts
        function.processElement(consume value, context: context, out: collector)
    }

    func processWatermark(_ wm: Timestamp) {
        guard wm > timers.currentWatermark else { return }
        timers.advanceWatermark(to: wm)
        backend.sweepExpiredEntries()
        output.emitWatermark(wm)
    }

    func finish() {
        // End of a bounded input: every processing-time timer is due as well.
        timers.fireAllProcessingTimeTimers()
        output.emitEndOfInput()
    }

    private func fire(_ timer: InternalTimer<Key, NoNamespace>, _ domain: TimeDomain) {
        backend.setCurrentKey(timer.hashedKey)
        backend.currentTimestamp = timer.time
        // Event-time TTL is judged at the timer's time: the final watermark (end of time)
        // must not make every entry look expired to the timers it fires.
        if domain == .eventTime { backend.expiryTimeOverride = timer.time }
        defer { backend.expiryTimeOverride = nil }
        context.timestamp = timer.time
        context.timeDomain = domain
        collector.timestamp = timer.time
        function.onTimer(timer.time, context: context, out: collector)
    }
}
