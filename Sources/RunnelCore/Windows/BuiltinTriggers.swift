/// Fires once the watermark passes the end of the window; with allowed lateness, fires
/// again for each late element. The default trigger of event-time windows.
public struct EventTimeTrigger: Trigger {
    /// Creates the trigger.
    public init() {}
    public var keepsState: Bool { false }

    public func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        if window.maxTimestamp <= context.currentWatermark { return .fire }
        if context.isFirstElement { context.registerEventTimeTimer(window.maxTimestamp) }
        return .continue
    }
    public func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        time == window.maxTimestamp ? .fire : .continue
    }
    public func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult { .continue }
    public func onMerge(window: TimeWindow, context: TriggerContext) {
        if window.maxTimestamp > context.currentWatermark { context.registerEventTimeTimer(window.maxTimestamp) }
    }
    public func clear(window: TimeWindow, context: TriggerContext) { context.deleteEventTimeTimer(window.maxTimestamp) }
}

/// Fires when the processing-time clock passes the end of the window. The default
/// trigger of processing-time windows.
public struct ProcessingTimeTrigger: Trigger {
    /// Creates the trigger.
    public init() {}
    public var keepsState: Bool { false }

    public func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        if context.isFirstElement { context.registerProcessingTimeTimer(window.maxTimestamp) }
        return .continue
    }
    public func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult { .continue }
    public func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        time == window.maxTimestamp ? .fire : .continue
    }
    public func onMerge(window: TimeWindow, context: TriggerContext) { context.registerProcessingTimeTimer(window.maxTimestamp) }
    public func clear(window: TimeWindow, context: TriggerContext) { context.deleteProcessingTimeTimer(window.maxTimestamp) }
}

/// Fires every `count` elements of a window (state slot `a` holds the running count).
public struct CountTrigger: Trigger {
    /// Elements per firing.
    public let count: Int64
    /// Creates the trigger.
    public init(_ count: Int) {
        precondition(count > 0)
        self.count = Int64(count)
    }

    public func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        context.state.a += 1
        if context.state.a >= count {
            context.state.a = 0
            return .fire
        }
        return .continue
    }
    public func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult { .continue }
    public func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult { .continue }
    public func onMerge(window: TimeWindow, context: TriggerContext) {}
    public func mergeState(_ a: TriggerState, _ b: TriggerState) -> TriggerState { TriggerState(a: a.a + b.a) }
    public func clear(window: TimeWindow, context: TriggerContext) {}
}

/// An event-time trigger that also emits the partial result of an open window every
/// `interval` of processing time while new elements arrive: live counts before the
/// final result. Early results are marked ``TriggerResult/isEarly``.
///
/// Early firings are aligned to multiples of `interval` and coalesced: a window fires
/// early at most once per interval, and only if it changed since its last firing.
/// State: slot `a` is the time of the pending early timer (0 if none), slot `b` is 1 when
/// elements arrived since the last early firing.
public struct EarlyFiringTrigger: Trigger {
    /// Milliseconds between early firings.
    public let interval: Int64
    private let final = EventTimeTrigger()

    /// Creates the trigger.
    public init(every interval: Duration) {
        precondition(interval > .zero)
        self.interval = interval.milliseconds
    }

    public func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        let result = final.onElement(timestamp: timestamp, window: window, context: context)
        if result.fire { return result }
        context.state.b = 1
        if context.state.a == 0 {
            let now = context.currentProcessingTime
            let next = now - now % interval + interval
            context.state.a = next
            context.registerProcessingTimeTimer(next)
        }
        return .continue
    }
    public func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        final.onEventTime(time, window: window, context: context)
    }
    public func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        guard time == context.state.a else { return .continue }
        context.state.a = 0
        guard context.state.b == 1 else { return .continue }
        context.state.b = 0
        return .fireEarly
    }
    public func onMerge(window: TimeWindow, context: TriggerContext) {
        final.onMerge(window: window, context: context)
        if context.state.a != 0 { context.registerProcessingTimeTimer(context.state.a) }
    }
    public func mergeState(_ a: TriggerState, _ b: TriggerState) -> TriggerState {
        let next: Int64 = a.a == 0 ? b.a : (b.a == 0 ? a.a : min(a.a, b.a))
        return TriggerState(a: next, b: max(a.b, b.b))
    }
    public func clear(window: TimeWindow, context: TriggerContext) {
        final.clear(window: window, context: context)
        if context.state.a != 0 { context.deleteProcessingTimeTimer(context.state.a) }
    }
}
