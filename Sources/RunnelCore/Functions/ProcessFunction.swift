/// A custom operator on a non-keyed stream: per-element logic with access to time and
/// side outputs (Flink's `ProcessFunction`, without keyed state or timers).
public protocol ProcessFunction: AnyObject {
    /// The elements processed.
    associatedtype Input
    /// The elements emitted.
    associatedtype Output

    /// Prepares the subtask.
    func open(_ setup: OperatorSetup) throws
    /// Processes one element. The function owns it (`consuming`): emitting it on its last
    /// use moves it downstream without a copy. A function declared with a plain (borrowed)
    /// parameter conforms as well.
    func processElement(_ value: consuming Input, context: ProcessContext, out: Collector<Output>)
}

extension ProcessFunction {
    /// Default: nothing to prepare.
    public func open(_ setup: OperatorSetup) throws {}
}

/// The call-scoped context of a ``ProcessFunction``.
public final class ProcessContext {
    let sideOutputs: SideOutputs
    let droppedSideOutput: Counter
    /// The element's timestamp.
    public internal(set) var timestamp: Timestamp = 0
    /// The operator's current watermark.
    public internal(set) var currentWatermark: Timestamp = Watermark.initial

    init(sideOutputs: SideOutputs, droppedSideOutput: Counter) {
        self.sideOutputs = sideOutputs
        self.droppedSideOutput = droppedSideOutput
    }

    /// Emits to a side output (with the element's timestamp).
    public func output<T>(_ tag: OutputTag<T>, _ value: consuming T) {
        if let e = sideOutputs.emitter(for: tag) {
            e.emit(consume value, timestamp: timestamp)
        } else {
            droppedSideOutput.increment()
        }
    }
}
