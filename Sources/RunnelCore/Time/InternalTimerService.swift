/// Event-time and processing-time timers of one keyed operator subtask.
///
/// Event-time timers fire as the operator's watermark passes them, in time order;
/// processing-time timers fire from the task's ``ProcessingTimeService``. Before each
/// firing the operator makes the timer's key current, so user code sees its state.
///
/// Thread safety: owned by one subtask; used only on its thread.
public final class InternalTimerService<Key: StreamKey, Namespace: StreamKey> {
    /// A fired timer is handed to this callback (set by the owning operator).
    public typealias Callback = (InternalTimer<Key, Namespace>) -> Void

    private let eventTimers: TimerQueue<Key, Namespace>
    private let processingTimers = TimerQueue<Key, Namespace>()
    private var scheduledProcessingTime: Timestamp?
    /// The operator's current watermark.
    public private(set) var currentWatermark: Timestamp = Watermark.initial
    /// The clock and scheduler of the task.
    public let processingTimeService: any ProcessingTimeService
    var onEventTime: Callback = { _ in }
    var onProcessingTime: Callback = { _ in }

    /// Creates a timer service on a task's processing-time service.
    public convenience init(processingTimeService: any ProcessingTimeService) {
        self.init(processingTimeService: processingTimeService, eventTimersDistinctByConstruction: false)
    }

    /// Creates a timer service whose event-time timers are kept without set semantics
    /// (`TimerQueue(deduplicates: false)`), for an owner that registers each event-time
    /// timer at most once while it is pending and checks its state when one fires (deleting
    /// does nothing, so a deleted timer still fires): a window operator whose timers follow
    /// from its windows, whose default trigger deletes a window's timer only once it has
    /// fired.
    init(processingTimeService: any ProcessingTimeService, eventTimersDistinctByConstruction: Bool) {
        self.processingTimeService = processingTimeService
        eventTimers = TimerQueue(deduplicates: !eventTimersDistinctByConstruction)
    }

    /// The current processing time.
    public var currentProcessingTime: Timestamp { processingTimeService.currentTime }

    /// Registers an event-time timer.
    public func registerEventTimeTimer(_ time: Timestamp, key: HashedKey<Key>, namespace: Namespace) {
        eventTimers.insert(InternalTimer(time: time, key: key, namespace: namespace))
    }

    /// Deletes an event-time timer (no effect if absent; none at all on a service made with
    /// `eventTimersDistinctByConstruction`, whose owner ignores unwanted timers as they fire).
    public func deleteEventTimeTimer(_ time: Timestamp, key: HashedKey<Key>, namespace: Namespace) {
        eventTimers.remove(InternalTimer(time: time, key: key, namespace: namespace))
    }

    /// Registers a processing-time timer.
    public func registerProcessingTimeTimer(_ time: Timestamp, key: HashedKey<Key>, namespace: Namespace) {
        guard processingTimers.insert(InternalTimer(time: time, key: key, namespace: namespace)) else { return }
        scheduleProcessingCallback()
    }

    /// Deletes a processing-time timer (no effect if absent).
    public func deleteProcessingTimeTimer(_ time: Timestamp, key: HashedKey<Key>, namespace: Namespace) {
        processingTimers.remove(InternalTimer(time: time, key: key, namespace: namespace))
    }

    /// The number of registered timers (event time, processing time).
    public var timerCounts: (eventTime: Int, processingTime: Int) { (eventTimers.count, processingTimers.count) }

    /// All registered event-time timers (for snapshots).
    public var eventTimeTimers: Set<InternalTimer<Key, Namespace>> { eventTimers.timers }
    /// All registered processing-time timers (for snapshots).
    public var processingTimeTimers: Set<InternalTimer<Key, Namespace>> { processingTimers.timers }

    /// The registered timers of both domains, frozen for a snapshot encoded elsewhere.
    func frozenTimers() -> (eventTime: [KeyGroupMap<InternalTimer<Key, Namespace>, Void>],
                            processingTime: [KeyGroupMap<InternalTimer<Key, Namespace>, Void>]) {
        (eventTimers.frozenTimers(), processingTimers.frozenTimers())
    }

    /// Sets the watermark restored from a checkpoint, without firing timers (the run that
    /// wrote the checkpoint fired every timer up to it).
    public func restoreWatermark(_ watermark: Timestamp) {
        currentWatermark = max(currentWatermark, watermark)
    }

    /// Advances the watermark and fires every event-time timer at or before it, in time order.
    public func advanceWatermark(to watermark: Timestamp) {
        currentWatermark = watermark
        while let timer = eventTimers.popDue(atOrBefore: watermark) {
            onEventTime(timer)
        }
    }

    /// Fires every processing-time timer due at `now` (also used by the end-of-input flush).
    public func advanceProcessingTime(to now: Timestamp) {
        while let timer = processingTimers.popDue(atOrBefore: now) {
            onProcessingTime(timer)
        }
        scheduleProcessingCallback()
    }

    /// Fires every processing-time timer registered now, once (end of a bounded input).
    /// Timers registered while these fire are not fired: a timer that re-registers itself
    /// periodically would otherwise keep the flush going forever.
    public func fireAllProcessingTimeTimers() {
        var due: [InternalTimer<Key, Namespace>] = []
        while let timer = processingTimers.popDue(atOrBefore: Watermark.endOfTime) { due.append(timer) }
        for timer in due { onProcessingTime(timer) }
    }

    private func scheduleProcessingCallback() {
        guard let next = processingTimers.earliest else { return }
        if let scheduled = scheduledProcessingTime, scheduled <= next { return }
        scheduledProcessingTime = next
        processingTimeService.schedule(at: next) { [weak self] now in
            guard let self else { return }
            if self.scheduledProcessingTime == next { self.scheduledProcessingTime = nil }
            self.advanceProcessingTime(to: max(now, next))
        }
    }
}
