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
    let contents: KeyedStateTable<Key, [TimeWindow: Agg.Accumulator]>
    let triggerStates: KeyedStateTable<Key, [TimeWindow: TriggerState]>
    let sessions: KeyedStateTable<Key, [TimeWindow]>
    private var context: TriggerContext!
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
                setup: OperatorSetup, output: Emitter<Result>) {
        precondition(allowedLateness >= 0)
        self.assigner = assigner
        self.trigger = trigger
        self.aggregate = aggregate
        self.allowedLateness = assigner.isEventTime ? allowedLateness : 0
        self.lateTag = lateTag
        self.keyOf = keyOf
        self.output = output
        self.sideOutputs = setup.sideOutputs
        let timers = InternalTimerService<Key, TimeWindow>(processingTimeService: setup.processingTime)
        self.timers = timers
        let clock = setup.processingTime
        let backend = KeyedStateBackend<Key>(
            assignment: setup.assignment, keyGroups: setup.keyGroups,
            processingTime: { clock.currentTime }, eventTime: { [unowned timers] in timers.currentWatermark })
        self.backend = backend
        self.contents = backend.table(named: "window-contents", ttl: nil, of: [TimeWindow: Agg.Accumulator].self)
        self.triggerStates = backend.table(named: "window-trigger-state", ttl: nil, of: [TimeWindow: TriggerState].self)
        self.sessions = backend.table(named: "window-sessions", ttl: nil, of: [TimeWindow].self)
        self.recordsIn = setup.counter("records_in")
        self.lateRecords = setup.counter("late_records")
        self.windowsFired = setup.counter("windows_fired")
        self.context = TriggerContext(
            registerEventTimer: { [unowned self] t in self.timers.registerEventTimeTimer(t, key: self.backend.currentKey, namespace: self.currentWindow) },
            deleteEventTimer: { [unowned self] t in self.timers.deleteEventTimeTimer(t, key: self.backend.currentKey, namespace: self.currentWindow) },
            registerProcessingTimer: { [unowned self] t in self.timers.registerProcessingTimeTimer(t, key: self.backend.currentKey, namespace: self.currentWindow) },
            deleteProcessingTimer: { [unowned self] t in self.timers.deleteProcessingTimeTimer(t, key: self.backend.currentKey, namespace: self.currentWindow) },
            watermark: { [unowned timers] in timers.currentWatermark },
            processingTime: { clock.currentTime })
        timers.onEventTime = { [unowned self] t in self.onTimer(t, domain: .eventTime) }
        timers.onProcessingTime = { [unowned self] t in self.onTimer(t, domain: .processingTime) }
    }

    /// The operator's input entry points; they keep the operator alive (nothing else holds it).
    public var handler: ElementHandler<Input> {
        ElementHandler(
            element: { v, ts in self.processElement(v, ts) },
            watermark: { wm in self.processWatermark(wm) },
            endOfInput: { self.finish() }
        )
    }

    /// The state backend (for inspection and snapshots).
    public var stateBackend: KeyedStateBackend<Key> { backend }
    /// The timer service (for inspection and snapshots).
    public var timerService: InternalTimerService<Key, TimeWindow> { timers }

    // MARK: Elements

    func processElement(_ value: Input, _ ts: Timestamp) {
        recordsIn.increment()
        backend.setCurrentKey(keyOf(value))
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
            contents.modify(backend, ttl: nil, initial: { [:] }) { windows in
                aggregate.add(value, to: &windows[target, default: aggregate.createAccumulator()])
            }
            let result = withTrigger(target) { trigger.onElement(timestamp: ts, window: target, context: $0) }
            handle(result, window: target, kind: result.isEarly ? .early : (assigner.isEventTime && target.maxTimestamp <= timers.currentWatermark ? .late : .onTime))
            registerCleanupTimer(target)
        }
        if !accepted && assigner.isEventTime && ts.addingClamped(allowedLateness) <= timers.currentWatermark {
            lateRecords.increment()
            if let lateTag, let e = sideOutputs.emitter(for: lateTag) { e.emit(value, timestamp: ts) }
        }
    }

    /// Adds the element's window to the current key's sessions, merging intersecting ones.
    /// Returns the window that now holds the element, or `nil` when it is a new, late window.
    private func addToSessions(_ window: TimeWindow) -> TimeWindow? {
        var windows = sessions.read(backend, ttl: nil) ?? []
        var merged = window
        var mergedAway: [TimeWindow] = []
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
        if mergedAway.isEmpty {
            if isLate(window) { return nil }
            windows.append(window)
            sessions.write(backend, ttl: nil, windows)
            return window
        }
        if mergedAway.count == 1 && mergedAway[0] == merged {
            return merged
        }
        // Merge: retire the old windows' timers and trigger state, combine accumulators.
        var mergedTriggerState: TriggerState?
        var mergedAccumulator: Agg.Accumulator?
        var windowContents = contents.read(backend, ttl: nil) ?? [:]
        var windowTriggerStates = triggerStates.read(backend, ttl: nil) ?? [:]
        for old in mergedAway {
            currentWindow = old
            context.state = windowTriggerStates[old] ?? TriggerState()
            trigger.clear(window: old, context: context)
            deleteCleanupTimer(old)
            mergedTriggerState = mergedTriggerState.map { trigger.mergeState($0, context.state) } ?? context.state
            windowTriggerStates.removeValue(forKey: old)
            if let acc = windowContents.removeValue(forKey: old) {
                if mergedAccumulator == nil {
                    mergedAccumulator = acc
                } else {
                    aggregate.merge(acc, into: &mergedAccumulator!)
                }
            }
        }
        if let mergedAccumulator { windowContents[merged] = mergedAccumulator }
        currentWindow = merged
        context.state = mergedTriggerState ?? TriggerState()
        trigger.onMerge(window: merged, context: context)
        if context.state != TriggerState() { windowTriggerStates[merged] = context.state }
        store(windowContents, in: contents)
        store(windowTriggerStates, in: triggerStates)
        windows.append(merged)
        sessions.write(backend, ttl: nil, windows)
        return merged
    }

    private func store<V>(_ map: [TimeWindow: V], in table: KeyedStateTable<Key, [TimeWindow: V]>) {
        if map.isEmpty { table.remove(backend) } else { table.write(backend, ttl: nil, map) }
    }

    // MARK: Time

    func processWatermark(_ wm: Timestamp) {
        guard wm > timers.currentWatermark else { return }
        timers.advanceWatermark(to: wm)
        output.emitWatermark(wm)
    }

    func finish() {
        // End of a bounded input: processing-time windows and timers are due as well.
        timers.advanceProcessingTime(to: Watermark.endOfTime)
        output.emitEndOfInput()
    }

    private func onTimer(_ timer: InternalTimer<Key, TimeWindow>, domain: TimeDomain) {
        backend.setCurrentKey(timer.key)
        let window = timer.namespace
        if assigner.isMerging {
            guard let windows = sessions.read(backend, ttl: nil), windows.contains(window) else { return }
        }
        let result = withTrigger(window) {
            domain == .eventTime
                ? trigger.onEventTime(timer.time, window: window, context: $0)
                : trigger.onProcessingTime(timer.time, window: window, context: $0)
        }
        let kind: FiringKind = result.isEarly ? .early : (timer.time == window.maxTimestamp ? .onTime : .late)
        handle(result, window: window, kind: kind)
        let isCleanup = (domain == .eventTime) == assigner.isEventTime && timer.time == cleanupTime(window)
        if isCleanup { clearAllState(window) }
    }

    // MARK: Helpers

    private func withTrigger(_ window: TimeWindow, _ body: (TriggerContext) -> TriggerResult) -> TriggerResult {
        currentWindow = window
        let before = triggerStates.read(backend, ttl: nil)?[window] ?? TriggerState()
        context.state = before
        let result = body(context)
        if context.state != before {
            let state = context.state
            let emptied = triggerStates.modify(backend, ttl: nil, initial: { [:] }) { map -> Bool in
                map[window] = state == TriggerState() ? nil : state
                return map.isEmpty
            }
            if emptied { triggerStates.remove(backend) }
        }
        return result
    }

    private func handle(_ result: TriggerResult, window: TimeWindow, kind: FiringKind) {
        guard result.fire || result.purge else { return }
        guard let acc = contents.read(backend, ttl: nil)?[window] else { return }
        if result.fire {
            windowsFired.increment()
            output.emit(WindowResult(key: backend.currentKey, window: window, value: aggregate.result(acc), firing: kind),
                        timestamp: window.maxTimestamp)
        }
        if result.purge { removeContents(window) }
    }

    private func removeContents(_ window: TimeWindow) {
        let emptied = contents.modify(backend, ttl: nil, initial: { [:] }) { map -> Bool in
            map.removeValue(forKey: window)
            return map.isEmpty
        }
        if emptied { contents.remove(backend) }
    }

    private func clearAllState(_ window: TimeWindow) {
        removeContents(window)
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

    private func cleanupTime(_ window: TimeWindow) -> Timestamp {
        window.maxTimestamp.addingClamped(allowedLateness)
    }

    private func isLate(_ window: TimeWindow) -> Bool {
        assigner.isEventTime && cleanupTime(window) <= timers.currentWatermark
    }

    private func registerCleanupTimer(_ window: TimeWindow) {
        if assigner.isEventTime {
            timers.registerEventTimeTimer(cleanupTime(window), key: backend.currentKey, namespace: window)
        } else {
            timers.registerProcessingTimeTimer(cleanupTime(window), key: backend.currentKey, namespace: window)
        }
    }

    private func deleteCleanupTimer(_ window: TimeWindow) {
        if assigner.isEventTime {
            timers.deleteEventTimeTimer(cleanupTime(window), key: backend.currentKey, namespace: window)
        } else {
            timers.deleteProcessingTimeTimer(cleanupTime(window), key: backend.currentKey, namespace: window)
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
