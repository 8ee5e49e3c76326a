/// Runs a ``ProcessFunction`` on one subtask.
///
/// Thread safety: owned by one task.
public final class ProcessOperator<Function: ProcessFunction> {
    let function: Function
    let context: ProcessContext
    let collector: Collector<Function.Output>
    let output: Emitter<Function.Output>
    let recordsIn: Counter

    /// Creates and opens the operator.
    public init(function: Function, setup: OperatorSetup, output: Emitter<Function.Output>) throws {
        self.function = function
        self.output = output
        self.context = ProcessContext(sideOutputs: setup.sideOutputs, droppedSideOutput: setup.counter("side_output_dropped"))
        self.collector = Collector(output)
        self.recordsIn = setup.counter("records_in")
        try function.open(setup)
    }

    /// The operator's input entry points; they keep the operator alive (nothing else holds it).
    public var handler: ElementHandler<Function.Input> {
        ElementHandler(
            element: { v, ts in
                self.recordsIn.increment()
                self.context.timestamp = ts
                self.collector.timestamp = ts
                self.function.processElement(consume v, context: self.context, out: self.collector)
            },
            watermark: { wm in
                self.context.currentWatermark = wm
                self.output.emitWatermark(wm)
            },
            endOfInput: { self.output.emitEndOfInput() }
        )
    }
}
