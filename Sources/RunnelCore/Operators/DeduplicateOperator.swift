/// Keeps the first element of each key and drops the later ones while the key is
/// remembered: the built-in deduplication step (``KeyedStream/deduplicate(_:ttl:duplicatesTag:)``),
/// Flink SQL's keep-first-row deduplication.
///
/// A key is remembered for a time-to-live from its first element: one `Bool` entry per key
/// in the value state `seen`, with that TTL. A later element of the key does not refresh
/// it. With an event-time TTL the result is deterministic under replay: a key is forgotten
/// once the watermark is `ttl` past its first element's timestamp.
///
/// What a ``KeyedProcessFunction`` doing the same (RunnelOperators' `Deduplicate`) pays per
/// element and this operator does not: setting the backend's current key (a copy of the key
/// kept until the next element), the function's context and collector, and the value-state
/// handle's indirections. Here an element costs one table lookup, under the key hash the
/// exchange carried; with an event-time TTL, the expiry limit is computed once per
/// watermark, not per element. Its table is prefetched as a keyed process operator's are
/// (from the size of the state, judged as keys are processed).
///
/// Its state and snapshot format are those of a keyed process operator whose function
/// declares that value state, so a checkpoint of a step run by either restores into the
/// other (at any parallelism).
///
/// Thread safety: owned by one task.
final class DeduplicateOperator<Key: StreamKey, Element> {
    let keyOf: (Element) -> Key
    let ttl: StateTTL
    let backend: KeyedStateBackend<Key>
    /// Holds no timers; it keeps the operator's watermark and the snapshot format of keyed
    /// operators (state, then timers).
    let timers: InternalTimerService<Key, NoNamespace>
    let seen: KeyedStateTable<Key, Bool>
    let output: Emitter<Element>
    let duplicatesTag: OutputTag<Element>?
    /// Looked up per duplicate, not at creation: side outputs are connected after operators
    /// are made. (Duplicates are rare; a lookup is a dictionary read.)
    let sideOutputs: SideOutputs
    let droppedSideOutput: Counter
    let processingTime: any ProcessingTimeService
    let recordsIn: Counter
    let duplicates: Counter
    /// For an event-time TTL: the refresh time at or before which an entry has expired at
    /// the current watermark (nil before the first watermark: nothing has expired).
    private var eventTimeLimit: Timestamp?

    /// The name of the value state holding the keys seen (as the `Deduplicate` function
    /// names it, for checkpoints either can restore).
    static var stateName: String { "seen" }

    /// Creates the operator and restores its state when the job restores a checkpoint.
    init(ttl: StateTTL, duplicatesTag: OutputTag<Element>?, keyOf: @escaping (Element) -> Key,
         setup: OperatorSetup, output: Emitter<Element>) throws {
        self.keyOf = keyOf
        self.ttl = ttl
        self.output = output
        self.duplicatesTag = duplicatesTag
        self.sideOutputs = setup.sideOutputs
        self.droppedSideOutput = setup.counter("side_output_dropped")
        let clock = setup.processingTime
        self.processingTime = clock
        let timers = InternalTimerService<Key, NoNamespace>(processingTimeService: clock)
        self.timers = timers
        self.backend = KeyedStateBackend(
            assignment: setup.assignment, keyGroups: setup.keyGroups,
            processingTime: { clock.currentTime }, eventTime: { [timers] in timers.currentWatermark })
        self.seen = backend.table(named: Self.stateName, ttl: ttl, of: Bool.self)
        self.recordsIn = setup.counter("records_in")
        self.duplicates = setup.counter("duplicates")
        try KeyedOperatorSnapshot.restore(setup: setup, backend: backend, timers: timers)
        KeyedOperatorSnapshot.register(setup: setup, backend: backend, timers: timers)
        updateEventTimeLimit()
    }

    /// The operator's input entry points; they keep the operator alive (nothing else holds it).
    var handler: ElementHandler<Element> {
        ElementHandler(
            element: { v, ts in self.processElement(consume v, ts, keyHash: nil) },
            watermark: { wm in self.processWatermark(wm) },
            endOfInput: { self.output.emitEndOfInput() },
            hashedElement: { v, ts, hash in self.processElement(consume v, ts, keyHash: hash) },
            prefetch: { hash in self.backend.prefetch(keyHash: hash, in: self.seen) }
        )
    }

    /// Passes `value` on when its key has no live entry (and records one), else drops it.
    /// `keyHash` is the key's stable hash when the sender computed it.
    @inline(__always)
    func processElement(_ value: consuming Element, _ ts: Timestamp, keyHash: UInt64?) {
        recordsIn.increment()
        let k = keyOf(value)
        let hash = keyHash ?? k.stableHash
        assert(k.stableHash == hash, "the key hash carried by a record differs from its key's")
        let key = HashedKey(k, hash: hash)
        let stamp: Timestamp
        let limit: Timestamp?
        if ttl.timeDomain == .eventTime {
            (stamp, limit) = (ts, eventTimeLimit)
        } else {
            let now = processingTime.currentTime
            (stamp, limit) = (now, now &- ttl.milliseconds)
        }
        let group = backend.ownedLocalGroup(forHash: hash)
        if seen.insertIfAbsent(key, localGroup: group, stamp: stamp, expiredAtOrBefore: limit, true) == nil {
            output.emit(consume value, timestamp: ts)
        } else {
            duplicates.increment()
            guard let duplicatesTag else { return }
            if let sideOutput = sideOutputs.emitter(for: duplicatesTag) {
                sideOutput.emit(consume value, timestamp: ts)
            } else {
                droppedSideOutput.increment()
            }
        }
    }

    /// Judges event-time expiry at the operator's watermark, as the state backend does.
    private func updateEventTimeLimit() {
        let watermark = timers.currentWatermark
        guard ttl.timeDomain == .eventTime, watermark != Watermark.initial else { return }
        eventTimeLimit = watermark &- ttl.milliseconds
    }

    func processWatermark(_ wm: Timestamp) {
        guard wm > timers.currentWatermark else { return }
        timers.advanceWatermark(to: wm)
        updateEventTimeLimit()
        backend.sweepExpiredEntries()
        output.emitWatermark(wm)
    }
}
