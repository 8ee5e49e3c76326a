/// A custom operator on a keyed stream (Flink's `KeyedProcessFunction`).
///
/// Call order for each subtask: ``open(_:)`` once (declare state there and keep the
/// handles), then ``processElement(_:context:out:)`` per element and
/// ``onTimer(_:context:out:)`` per due timer, interleaved in time order; state handles
/// always refer to the key of the element or timer at hand. The context is valid only
/// during the call.
///
/// Instances are created per subtask (the builder takes an autoclosure), so a function may
/// keep mutable properties without locks.
public protocol KeyedProcessFunction: AnyObject {
    /// The key type of the stream.
    associatedtype Key: StreamKey
    /// The elements processed.
    associatedtype Input
    /// The elements emitted.
    associatedtype Output

    /// Declares state and prepares the subtask.
    func open(_ context: KeyedRuntimeContext<Key>) throws
    /// Processes one element. The function owns it (`consuming`): emitting it on its last
    /// use moves it downstream without a copy. A function declared with a plain (borrowed)
    /// parameter conforms as well.
    func processElement(_ value: consuming Input, context: KeyedProcessContext<Key, Output>, out: Collector<Output>)
    /// Handles a timer registered earlier for the current key.
    func onTimer(_ time: Timestamp, context: KeyedProcessContext<Key, Output>, out: Collector<Output>)
}

extension KeyedProcessFunction {
    /// Default: no state to declare.
    public func open(_ context: KeyedRuntimeContext<Key>) throws {}
    /// Default: no timers.
    public func onTimer(_ time: Timestamp, context: KeyedProcessContext<Key, Output>, out: Collector<Output>) {}
}

/// Which clock fired a timer.
public enum TimeDomain: Sendable, Hashable {
    /// A watermark passed the timer.
    case eventTime
    /// The wall clock reached the timer.
    case processingTime
}

/// The call-scoped context of a ``KeyedProcessFunction``: the current key and timestamp,
/// time, timers and side outputs.
public final class KeyedProcessContext<Key: StreamKey, Output> {
    let timers: InternalTimerService<Key, NoNamespace>
    let backend: KeyedStateBackend<Key>
    let sideOutputs: SideOutputs
    let droppedSideOutput: Counter
    /// The timestamp of the element, or the time of the firing timer.
    public internal(set) var timestamp: Timestamp = 0
    /// Within `onTimer`, which clock fired it; `nil` in `processElement`.
    public internal(set) var timeDomain: TimeDomain?

    init(timers: InternalTimerService<Key, NoNamespace>, backend: KeyedStateBackend<Key>, sideOutputs: SideOutputs, droppedSideOutput: Counter) {
        self.timers = timers
        self.backend = backend
        self.sideOutputs = sideOutputs
        self.droppedSideOutput = droppedSideOutput
    }

    /// The key of the element or timer at hand.
    public var currentKey: Key { backend.currentKey }
    /// The operator's current watermark.
    public var currentWatermark: Timestamp { timers.currentWatermark }
    /// The task's processing time.
    public var currentProcessingTime: Timestamp { timers.currentProcessingTime }

    /// Registers an event-time timer for the current key (once per time).
    public func registerEventTimeTimer(_ time: Timestamp) {
        timers.registerEventTimeTimer(time, key: backend.currentHashedKey, namespace: NoNamespace())
    }
    /// Deletes an event-time timer of the current key.
    public func deleteEventTimeTimer(_ time: Timestamp) {
        timers.deleteEventTimeTimer(time, key: backend.currentHashedKey, namespace: NoNamespace())
    }
    /// Registers a processing-time timer for the current key (once per time).
    public func registerProcessingTimeTimer(_ time: Timestamp) {
        timers.registerProcessingTimeTimer(time, key: backend.currentHashedKey, namespace: NoNamespace())
    }
    /// Deletes a processing-time timer of the current key.
    public func deleteProcessingTimeTimer(_ time: Timestamp) {
        timers.deleteProcessingTimeTimer(time, key: backend.currentHashedKey, namespace: NoNamespace())
    }

    /// Emits to a side output (with the current timestamp).
    public func output<T>(_ tag: OutputTag<T>, _ value: consuming T) {
        if let e = sideOutputs.emitter(for: tag) {
            e.emit(consume value, timestamp: timestamp)
        } else {
            droppedSideOutput.increment()
        }
    }
}
