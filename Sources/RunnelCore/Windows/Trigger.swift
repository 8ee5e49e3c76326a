/// What a trigger decides for a window.
public struct TriggerResult: Sendable, Hashable {
    /// Emit the window's current result.
    public var fire: Bool
    /// Discard the window's contents.
    public var purge: Bool
    /// The firing is a partial, early result of a window that is still open.
    public var isEarly: Bool

    /// Do nothing.
    public static let `continue` = TriggerResult(fire: false, purge: false, isEarly: false)
    /// Emit the result.
    public static let fire = TriggerResult(fire: true, purge: false, isEarly: false)
    /// Emit a partial result of a still-open window.
    public static let fireEarly = TriggerResult(fire: true, purge: false, isEarly: true)
    /// Discard the contents.
    public static let purge = TriggerResult(fire: false, purge: true, isEarly: false)
    /// Emit, then discard.
    public static let fireAndPurge = TriggerResult(fire: true, purge: true, isEarly: false)
}

/// Two integers of per-window state a trigger may keep (counts, next firing times).
///
/// Triggers hold no state of their own (they are shared by every key and window); the
/// window operator stores this per key and window, snapshots it, and merges it when
/// session windows merge.
public struct TriggerState: Sendable, Hashable {
    /// First slot.
    public var a: Int64 = 0
    /// Second slot.
    public var b: Int64 = 0
    /// Both slots zero.
    public init(a: Int64 = 0, b: Int64 = 0) {
        self.a = a
        self.b = b
    }
}

/// Decides when a window emits its result (Flink's `Trigger`).
///
/// Every callback gets a context scoped to the current key and window: its clocks, its
/// timers and its ``TriggerState``.
public protocol Trigger: Sendable {
    /// An element was added to the window.
    func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult
    /// An event-time timer registered for the window fired.
    func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult
    /// A processing-time timer registered for the window fired.
    func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult
    /// Windows merged into `window`; `context.state` holds their merged state. Re-register timers here.
    func onMerge(window: TimeWindow, context: TriggerContext)
    /// Combines the state of two windows that merge.
    func mergeState(_ a: TriggerState, _ b: TriggerState) -> TriggerState
    /// The window is being discarded: delete its timers.
    func clear(window: TimeWindow, context: TriggerContext)
    /// Whether the trigger reads or writes ``TriggerContext/state`` (stateless triggers
    /// save the window operator a state lookup per element).
    var keepsState: Bool { get }
}

extension Trigger {
    /// Default: the trigger may keep state.
    public var keepsState: Bool { true }

    /// Default: keep the first window's state.
    public func mergeState(_ a: TriggerState, _ b: TriggerState) -> TriggerState { a }
}

/// The per-call view a trigger has of its key and window.
public final class TriggerContext {
    let registerEventTimer: (Timestamp) -> Void
    let deleteEventTimer: (Timestamp) -> Void
    let registerProcessingTimer: (Timestamp) -> Void
    let deleteProcessingTimer: (Timestamp) -> Void
    let watermark: () -> Timestamp
    let processingTime: () -> Timestamp
    /// The trigger's state for the current key and window.
    public var state = TriggerState()
    /// In `onElement`: whether this element created the window's state (its first element,
    /// or the first after the window was cleared). Triggers register their timers then, and
    /// the operator spares a timer-set lookup per element.
    public internal(set) var isFirstElement = false

    init(registerEventTimer: @escaping (Timestamp) -> Void, deleteEventTimer: @escaping (Timestamp) -> Void,
         registerProcessingTimer: @escaping (Timestamp) -> Void, deleteProcessingTimer: @escaping (Timestamp) -> Void,
         watermark: @escaping () -> Timestamp, processingTime: @escaping () -> Timestamp) {
        self.registerEventTimer = registerEventTimer
        self.deleteEventTimer = deleteEventTimer
        self.registerProcessingTimer = registerProcessingTimer
        self.deleteProcessingTimer = deleteProcessingTimer
        self.watermark = watermark
        self.processingTime = processingTime
    }

    /// The operator's current watermark.
    public var currentWatermark: Timestamp { watermark() }
    /// The task's processing time.
    public var currentProcessingTime: Timestamp { processingTime() }
    /// Registers an event-time timer for the current key and window.
    public func registerEventTimeTimer(_ time: Timestamp) { registerEventTimer(time) }
    /// Deletes an event-time timer of the current key and window.
    public func deleteEventTimeTimer(_ time: Timestamp) { deleteEventTimer(time) }
    /// Registers a processing-time timer for the current key and window.
    public func registerProcessingTimeTimer(_ time: Timestamp) { registerProcessingTimer(time) }
    /// Deletes a processing-time timer of the current key and window.
    public func deleteProcessingTimeTimer(_ time: Timestamp) { deleteProcessingTimer(time) }
}
