/// Groups a keyed stream into windows, aggregates each window incrementally and emits
/// results when the trigger fires (Flink's `WindowOperator`).
///
/// Per element: the assigner names its windows; for merging (session) assigners the
/// element's window merges with the key's intersecting windows (their accumulators and
/// trigger state merge too). An element whose windows are all past the watermark plus
/// the allowed lateness is late: it goes to the late-data side output, or is counted and
/// dropped when there is none. A window's state is cleared at its cleanup time (end plus
/// allowed lateness).
///
/// All state (accumulators, trigger state, session sets) lives in the keyed state
/// backend, per key group, so it is snapshotted and restored like any keyed state.
///
/// Thread safety: owned by one task.
public final class WindowOperator<Key: StreamKey, Assigner: WindowAssigner, Trig: Trigger, Agg: AggregateFunction> {
    public typealias Input = Agg.Input
    public typealias Result = WindowResult<Key, Agg.Result>

    let assigner: Assigner
    let trigger: Trig
    let aggregate: Agg
    let allowedLateness: Int64
    let lateTag: OutputTag<Input>?
    let keyOf: (Input) -> Key
    let backend: KeyedStateBackend<Key>
    let timers: InternalTimerService<Key, TimeWindow>
    let output: Emitter<Result>
    let sideOutputs: SideOutputs
    let contents: KeyedStateTable<Key, WindowMap<Agg.Accumulator>>
    let triggerStates: KeyedStateTable<Key, WindowMap<TriggerState>>
    let sessions: KeyedStateTable<Key, [TimeWindow]>
    /// Event-time session windows with the default trigger take a faster path (see
    /// `WindowOperator+EventTimeSessions.swift`) that keeps each session in one slot.
    let usesSessionFastPath: Bool
    /// Set for built-in tumbling or sliding event-time windows with the default trigger and
    /// no allowed lateness: see `processEventTimeElement`.
    let eventTimeLayout: WindowLayout?
    let sessionSlots: KeyedStateTable<Key, SessionSlots<Agg.Accumulator>>
    /// Whether every timer the operator holds follows from its window state, so that
    /// checkpoints leave timers out and restore rebuilds them (see `rebuildTimersFromState()`).
    let timersFromState: Bool
    /// Whether the operator can rebuild, from restored windows, the timers of a checkpoint
    /// that left them out: also with allowed lateness, which only adds cleanup timers.
    let canRebuildTimers: Bool
    /// Set once, in `init`, and never reassigned: `contextRef` borrows it.
    private var context: TriggerContext!
    /// `context` reached without reference counting: a class reference read from a stored
    /// property is retained and released around each use, an atomic pair per element.
    private var contextRef: Unmanaged<TriggerContext>!
    private var currentWindow = TimeWindow(start: 0, end: 0)

    let recordsIn: Counter
    let lateRecords: Counter
    let windowsFired: Counter

    /// Creates the operator.
    /// - Parameters:
    ///   - allowedLateness: milliseconds after a window's end during which late elements still update it.
    ///   - lateTag: where late elements go; when `nil` they are counted (`late_records`) and dropped.
    public init(assigner: Assigner, trigger: Trig, aggregate: Agg, allowedLateness: Int64 = 0,
                lateTag: OutputTag<Input>? = nil, keyOf: @escaping (Input) -> Key,
                setup: OperatorSetup, output: Emitter<Result>) throws {
        precondition(allowedLateness >= 0)
        self.assigner = assigner
        self.trigger = trigger
        self.aggregate = aggregate
        self.allowedLateness = assigner.isEventTime ? allowedLateness : 0
        self.lateTag = lateTag
        self.keyOf = keyOf
        self.output = output
        self.sideOutputs = setup.sideOutputs
        // The fast path handles no allowed lateness: with lateness, fired sessions can still
        // grow and late sessions fire at once, which the general path implements.
        let usesSessionFastPath = assigner.isMerging && assigner.isEventTime && Trig.self == EventTimeTrigger.self
            && allowedLateness == 0
        let eventTimeDefault = !assigner.isMerging && assigner.isEventTime && Trig.self == EventTimeTrigger.self
        let timersFromState = usesSessionFastPath || (eventTimeDefault && allowedLateness == 0)
        self.usesSessionFastPath = usesSessionFastPath
        self.eventTimeLayout = eventTimeDefault && allowedLateness == 0 ? WindowLayout(assigner) : nil
        self.timersFromState = timersFromState
        self.canRebuildTimers = usesSessionFastPath || eventTimeDefault
        // Timers that follow from the windows are registered once each (see
        // `registerCleanupTimer`) and checked against the state when they fire, so their
        // queue keeps no set of them.
        let timers = InternalTimerService<Key, TimeWindow>(processingTimeService: setup.processingTime,
                                                           eventTimersDistinctByConstruction: timersFromState)
        self.timers = timers
        let clock = setup.processingTime
        let backend = KeyedStateBackend<Key>(
            assignment: setup.assignment, keyGroups: setup.keyGroups,
            processingTime: { clock.currentTime }, eventTime: { [timers] in timers.currentWatermark })
        self.backend = backend
        self.contents = backend.table(named: "window-contents", ttl: nil, of: WindowMap<Agg.Accumulator>.self)
        self.triggerStates = backend.table(named: "window-trigger-state", ttl: nil, of: WindowMap<TriggerState>.self)
        self.sessions = backend.table(named: "window-sessions", ttl: nil, of: [TimeWindow].self)
        // Read and written on every element, for keys it mostly holds: entries in the probe
        // table, with a key's first session in its entry (``SessionSlots``), so that the slot
        // the input gate prefetches is all an element reads of the table.
        self.sessionSlots = backend.table(named: "window-session-slots", ttl: nil, of: SessionSlots<Agg.Accumulator>.self,
                                          layout: .inline)
        self.recordsIn = setup.counter("records_in")
        self.lateRecords = setup.counter("late_records")
        self.windowsFired = setup.counter("windows_fired")
        // The trigger context is private to this operator and only called while it runs, so
        // its closures need no reference counting on `self` (unowned(unsafe)).
        self.context = TriggerContext(
            registerEventTimer: { [unowned(unsafe) self] t in self.timers.registerEventTimeTimer(t, key: self.backend.currentHashedKey, namespace: self.currentWindow) },
            deleteEventTimer: { [unowned(unsafe) self] t in self.timers.deleteEventTimeTimer(t, key: self.backend.currentHashedKey, namespace: self.currentWindow) },
            registerProcessingTimer: { [unowned(unsafe) self] t in self.timers.registerProcessingTimeTimer(t, key: self.backend.currentHashedKey, namespace: self.currentWindow) },
            deleteProcessingTimer: { [unowned(unsafe) self] t in self.timers.deleteProcessingTimeTimer(t, key: self.backend.currentHashedKey, namespace: self.currentWindow) },
            watermark: { [timers] in timers.currentWatermark },
            processingTime: { clock.currentTime })
        self.contextRef = .passUnretained(self.context)
        timers.onEventTime = { [unowned self] t in self.onTimer(t, domain: .eventTime) }
        timers.onProcessingTime = { [unowned self] t in self.onTimer(t, domain: .processingTime) }
        try KeyedOperatorSnapshot.restore(setup: setup, backend: backend, timers: timers,
                                          rebuildTimers: canRebuildTimers ? { [unowned self] in self.rebuildTimersFromState() } : nil)
        KeyedOperatorSnapshot.register(setup: setup, backend: backend, timers: timers, timersFromState: timersFromState)
    }

    /// Registers the timers the restored window state implies, when the checkpoint left
    /// them out (written under `timersFromState`).
    ///
    /// - Non-merging event-time windows with the default trigger: written without allowed
    ///   lateness, a window exists in state from its first element until its one timer, at
    ///   its end (firing and cleanup at once), fires; so every window in state had that
    ///   timer. Restored with allowed lateness, its cleanup timer comes after it.
    /// - The event-time session fast path: each session slot's live timer is `timerAt`
    ///   (timers it left behind on merges are ignored when they fire). Its namespace was
    ///   the session's window when registered, which the slot's window now covers, as
    ///   `onSessionTimer` requires.
    ///
    /// Every one of those timers is after the watermark of the subtask that held the state
    /// (a timer at or before it has fired and cleared or re-armed its window), so none fires
    /// twice. Timers make up a large part of what a checkpoint of such an operator would
    /// otherwise encode, and freezing them costs the task a copy of each timer partition it
    /// touches after a checkpoint.
    private func rebuildTimersFromState() {
        if usesSessionFastPath {
            for group in sessionSlots.groups {
                group.forEach { key, entry in
                    let hashed = HashedKey(key)
                    entry.value.forEach { slot in
                        timers.registerEventTimeTimer(slot.timerAt, key: hashed, namespace: slot.window)
                    }
                }
            }
        } else {
            for group in contents.groups {
                group.forEach { key, entry in
                    let hashed = HashedKey(key)
                    for window in entry.value.keys {
                        timers.registerEventTimeTimer(window.maxTimestamp, key: hashed, namespace: window)
                        // Once when they coincide (no allowed lateness): the queue may not
                        // deduplicate.
                        if cleanupTime(window) != window.maxTimestamp {
                            timers.registerEventTimeTimer(cleanupTime(window), key: hashed, namespace: window)
                        }
                    }
                }
            }
        }
    }

    /// The operator's input entry points; they keep the operator alive (nothing else holds it).
    public var handler: ElementHandler<Input> {
        ElementHandler(
            element: { v, ts in self.processElement(v, ts) },
            lentElement: { v, ts in self.processElement(v, ts) },
            watermark: { wm in self.processWatermark(wm) },
            endOfInput: { self.finish() },
            hashedElement: { v, ts, hash in self.processElement(v, ts, keyHash: hash) },
            prefetch: { hash in self.prefetch(keyHash: hash) }
        )
    }

    /// The state backend (for inspection and snapshots).
    public var stateBackend: KeyedStateBackend<Key> { backend }
    /// The timer service (for inspection and snapshots).
    public var timerService: InternalTimerService<Key, TimeWindow> { timers }

    // MARK: Elements

    func processElement(_ value: Input, _ ts: Timestamp) {
        processElement(value, ts, key: HashedKey(keyOf(value)))
    }

    /// Starts loading the state an element with this key hash reads first: its sessions on
    /// the event-time session path, else its windows' contents (not every table of the
    /// backend: the others are not read per element, or are empty).
    private func prefetch(keyHash: UInt64) {
        if usesSessionFastPath {
            backend.prefetch(keyHash: keyHash, in: sessionSlots)
        } else {
            backend.prefetch(keyHash: keyHash, in: contents)
        }
    }

    /// A record of a keyed exchange: the sender hashed the same key (`keyOf` is the keyed
    /// stream's key function on both sides).
    func processElement(_ value: Input, _ ts: Timestamp, keyHash: UInt64) {
        let key = keyOf(value)
        assert(key.stableHash == keyHash, "the key hash carried by a record differs from its key's")
        processElement(value, ts, key: HashedKey(key, hash: keyHash))
    }

    @inline(__always)
    private func processElement(_ value: Input, _ ts: Timestamp, key: HashedKey<Key>) {
        recordsIn.increment()
        // The two paths without a trigger context give their state and timers the key
        // itself: setting it as the backend's current key copied it (for a heap string, an
        // atomic retain and a release of the key it replaced) and looked up its key group
        // for nothing else.
        if usesSessionFastPath {
            processSessionElement(value, ts, key: key)
            return
        }
        if let layout = eventTimeLayout {
            processEventTimeElement(value, ts, key: key, layout: layout)
            return
        }
        backend.setCurrentKey(key)
        let now = assigner.isEventTime ? 0 : timers.currentProcessingTime
        var accepted = false
        assigner.assignWindows(timestamp: ts, processingTime: now) { window in
            let target: TimeWindow
            if assigner.isMerging {
                guard let merged = addToSessions(window) else { return }
                target = merged
            } else {
                if isLate(window) { return }
                target = window
            }
            accepted = true
            let aggregate = self.aggregate
            let isNewWindow = contents.modify(backend, ttl: nil, initial: { WindowMap() }) { windows -> Bool in
                var created = false
                aggregate.add(value, to: &windows[target, default: { created = true; return aggregate.createAccumulator() }()])
                return created
            }
            // A window's cleanup timer is registered once, when its state is created (not at
            // all with timers from state: it is then the end timer the trigger registers).
            if isNewWindow { registerCleanupTimer(target) }
            contextRef._withUnsafeGuaranteedRef { $0.isFirstElement = isNewWindow }
            let result = withTrigger(target) { trigger.onElement(timestamp: ts, window: target, context: $0) }
            contextRef._withUnsafeGuaranteedRef { $0.isFirstElement = false }
            handle(result, window: target, kind: result.isEarly ? .early : (assigner.isEventTime && target.maxTimestamp <= timers.currentWatermark ? .late : .onTime))
        }
        if !accepted && assigner.isEventTime { dropIfLate(value, ts) }
    }

    /// An element that no window took: late when its time plus the allowed lateness is at or
    /// before the watermark (then counted, and lent to the late-data side output if any).
    func dropIfLate(_ value: Input, _ ts: Timestamp) {
        guard ts.addingClamped(allowedLateness) <= timers.currentWatermark else { return }
        lateRecords.increment()
        if let lateTag, let e = sideOutputs.emitter(for: lateTag) { e.lend(value, timestamp: ts) }
    }

    /// Adds the element's window to the current key's sessions, merging intersecting ones.
    /// Returns the window that now holds the element, or `nil` when it is a new, late window.
    ///
    /// State is updated in place (no copy of the key's windows or accumulators): this runs
    /// for nearly every element of a session stream, since each one extends its session.
    private func addToSessions(_ window: TimeWindow) -> TimeWindow? {
        // Fast path: the window lies inside an existing one (no change at all).
        if let windows = sessions.read(backend, ttl: nil) {
            for existing in windows where existing.start <= window.start && window.end <= existing.end {
                return existing
            }
        }
        var merged = window
        var mergedAway: [TimeWindow] = []
        let late = isLate(window)
        let accepted = sessions.modify(backend, ttl: nil, initial: { [] }) { windows -> Bool in
            var changed = true
            while changed {
                changed = false
                windows.removeAll { existing in
                    guard existing.intersects(merged) else { return false }
                    merged = merged.cover(existing)
                    mergedAway.append(existing)
                    changed = true
                    return true
                }
            }
            if mergedAway.isEmpty && late { return false }
            windows.append(merged)
            return true
        }
        guard accepted else {
            if sessions.read(backend, ttl: nil)?.isEmpty ?? false { sessions.remove(backend) }
            return nil
        }
        if mergedAway.isEmpty { return merged }

        // Merge: retire the old windows' timers and trigger state, combine accumulators.
        var mergedTriggerState: TriggerState?
        let storedTriggerStates = triggerStates.read(backend, ttl: nil)
        for old in mergedAway {
            currentWindow = old
            context.state = storedTriggerStates?[old] ?? TriggerState()
            trigger.clear(window: old, context: context)
            deleteCleanupTimer(old)
            mergedTriggerState = mergedTriggerState.map { trigger.mergeState($0, context.state) } ?? context.state
        }
        if storedTriggerStates != nil {
            let emptied = triggerStates.modify(backend, ttl: nil, initial: { WindowMap() }) { map -> Bool in
                for old in mergedAway { map.removeValue(forKey: old) }
                return map.isEmpty
            }
            if emptied { triggerStates.remove(backend) }
        }
        let aggregate = self.aggregate
        contents.modify(backend, ttl: nil, initial: { WindowMap() }) { map in
            var combined: Agg.Accumulator?
            for old in mergedAway {
                guard let acc = map.removeValue(forKey: old) else { continue }
                if combined == nil { combined = acc } else { aggregate.merge(acc, into: &combined!) }
            }
            if let combined { map[merged] = combined }
        }
        registerCleanupTimer(merged)
        currentWindow = merged
        context.state = mergedTriggerState ?? TriggerState()
        trigger.onMerge(window: merged, context: context)
        if context.state != TriggerState() {
            let state = context.state
            triggerStates.modify(backend, ttl: nil, initial: { WindowMap() }) { $0[merged] = state }
        }
        return merged
    }

    // MARK: Time

    func processWatermark(_ wm: Timestamp) {
        guard wm > timers.currentWatermark else { return }
        timers.advanceWatermark(to: wm)
        output.emitWatermark(wm)
    }

    func finish() {
        // End of a bounded input: processing-time windows and timers are due as well.
        timers.fireAllProcessingTimeTimers()
        output.emitEndOfInput()
    }

    private func onTimer(_ timer: InternalTimer<Key, TimeWindow>, domain: TimeDomain) {
        backend.setCurrentKey(timer.hashedKey)
        let window = timer.namespace
        if usesSessionFastPath {
            onSessionTimer(timer)
            return
        }
        if eventTimeLayout != nil && domain == .eventTime {
            onEventTimeWindowTimer(timer)
            return
        }
        if assigner.isMerging {
            guard let windows = sessions.read(backend, ttl: nil), windows.contains(window) else { return }
        }
        let result = withTrigger(window) {
            domain == .eventTime
                ? trigger.onEventTime(timer.time, window: window, context: $0)
                : trigger.onProcessingTime(timer.time, window: window, context: $0)
        }
        let kind: FiringKind = result.isEarly ? .early : (timer.time == window.maxTimestamp ? .onTime : .late)
        // At or after the cleanup time: a window restored from a checkpoint written with more
        // allowed lateness carries its cleanup timer at the old, later time, and must still
        // be cleared by it.
        let isCleanup = (domain == .eventTime) == assigner.isEventTime && timer.time >= cleanupTime(window)
        let taken = handle(result, window: window, kind: kind, contentsEnd: isCleanup)
        if isCleanup { clearAllState(window, contentsTaken: taken) }
    }

    // MARK: Helpers

    private func withTrigger(_ window: TimeWindow, _ body: (TriggerContext) -> TriggerResult) -> TriggerResult {
        currentWindow = window
        return contextRef._withUnsafeGuaranteedRef { context in
            guard trigger.keepsState else {
                context.state = TriggerState()
                return body(context)
            }
            let before = triggerStates.read(backend, ttl: nil)?[window] ?? TriggerState()
            context.state = before
            let result = body(context)
            if context.state != before {
                let state = context.state
                let emptied = triggerStates.modify(backend, ttl: nil, initial: { WindowMap() }) { map -> Bool in
                    map[window] = state == TriggerState() ? nil : state
                    return map.isEmpty
                }
                if emptied { triggerStates.remove(backend) }
            }
            return result
        }
    }

    /// Fires and/or purges `window` as `result` says. `contentsEnd`: the window's contents
    /// are cleared right after (its cleanup time has come). Returns whether the contents
    /// were taken out of state (nothing is left of them to clear).
    @discardableResult
    private func handle(_ result: TriggerResult, window: TimeWindow, kind: FiringKind, contentsEnd: Bool = false) -> Bool {
        guard result.fire || result.purge else { return false }
        // Contents about to go are moved out of state rather than copied: a copy of the
        // key's windows and of the accumulator retains everything they hold (a distinct
        // set's buffers, strings), to release it all again a moment later.
        if result.purge || contentsEnd {
            guard let acc = takeContents(window) else { return true }
            if result.fire { fire(window, acc, kind: kind) }
            return true
        }
        guard let acc = contents.read(backend, ttl: nil)?[window] else { return false }
        if result.fire { fire(window, acc, kind: kind) }
        return false
    }

    private func fire(_ window: TimeWindow, _ acc: Agg.Accumulator, kind: FiringKind) {
        windowsFired.increment()
        output.emit(WindowResult(key: backend.currentKey, window: window, value: aggregate.result(acc), firing: kind),
                    timestamp: window.maxTimestamp)
    }

    /// Removes `window`'s contents from the current key's state and returns them.
    /// One lookup: the key's windows are not created when absent, and are removed in the
    /// same probe when this was the last one.
    func takeContents(_ window: TimeWindow) -> Agg.Accumulator? {
        contents.modifyExisting(backend, ttl: nil) { map in
            let taken = map.removeValue(forKey: window)
            return (taken, map.isEmpty)
        } ?? nil
    }

    /// Clears everything `window` holds for the current key; `contentsTaken`: its contents
    /// are gone already (fired at their cleanup time).
    private func clearAllState(_ window: TimeWindow, contentsTaken: Bool = false) {
        if !contentsTaken { _ = takeContents(window) }
        _ = withTrigger(window) { ctx in
            trigger.clear(window: window, context: ctx)
            ctx.state = TriggerState()
            return .continue
        }
        if assigner.isMerging, var windows = sessions.read(backend, ttl: nil) {
            windows.removeAll { $0 == window }
            if windows.isEmpty { sessions.remove(backend) } else { sessions.write(backend, ttl: nil, windows) }
        }
    }

    func cleanupTime(_ window: TimeWindow) -> Timestamp {
        window.maxTimestamp.addingClamped(allowedLateness)
    }

    func isLate(_ window: TimeWindow) -> Bool {
        assigner.isEventTime && cleanupTime(window) <= timers.currentWatermark
    }

    private func registerCleanupTimer(_ window: TimeWindow) {
        // With timers from state (the default event-time trigger, no allowed lateness) the
        // cleanup time is the window's end, whose timer the trigger registers on the same
        // first element; the queue does not deduplicate, so it is registered once.
        if timersFromState { return }
        if assigner.isEventTime {
            timers.registerEventTimeTimer(cleanupTime(window), key: backend.currentHashedKey, namespace: window)
        } else {
            timers.registerProcessingTimeTimer(cleanupTime(window), key: backend.currentHashedKey, namespace: window)
        }
    }

    private func deleteCleanupTimer(_ window: TimeWindow) {
        if assigner.isEventTime {
            timers.deleteEventTimeTimer(cleanupTime(window), key: backend.currentHashedKey, namespace: window)
        } else {
            timers.deleteProcessingTimeTimer(cleanupTime(window), key: backend.currentHashedKey, namespace: window)
        }
    }
}

extension Int64 {
    /// `self + other`, clamped to `Int64.max` instead of trapping on overflow.
    func addingClamped(_ other: Int64) -> Int64 {
        let (r, o) = addingReportingOverflow(other)
        return o ? .max : r
    }
}
