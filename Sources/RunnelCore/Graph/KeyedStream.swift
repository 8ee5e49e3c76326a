/// A stream partitioned by key (Flink's `KeyedStream`): keyed state and timers are
/// available to the steps that follow.
public struct KeyedStream<Key: StreamKey, Element> {
    let stream: DataStream<Element>
    let key: @Sendable (Element) -> Key

    var hashEdge: GraphEdge {
        let key = self.key
        return TypedEdge<Element>(from: stream.node, keyHash: { key($0).stableHash })
    }

    /// Runs a custom ``KeyedProcessFunction``; `function` is evaluated once per subtask.
    public func process<F: KeyedProcessFunction>(_ name: String, _ function: @escaping @autoclosure @Sendable () -> F) -> DataStream<F.Output>
    where F.Input == Element, F.Key == Key {
        let key = self.key
        return stream.transform(name, inputs: [hashEdge]) { setup, out in
            try KeyedProcessOperator(function: function(), keyOf: key, setup: setup, output: out).handler
        }
    }

    /// A rolling reduce: emits the running reduction per key after every element.
    public func reduce(_ name: String, _ combine: @escaping @Sendable (Element, Element) -> Element) -> DataStream<Element> {
        process(name, RollingReduceFunction<Key, Element>(combine: combine))
    }

    /// Groups each key's elements into windows.
    public func window<A: WindowAssigner>(_ assigner: A) -> WindowedStream<Key, Element, A, EventTimeTrigger> where A: WindowAssigner {
        WindowedStream(keyed: self, assigner: assigner, trigger: EventTimeTrigger(), allowedLateness: 0, lateTag: nil)
    }
}

/// Keeps a running reduction per key and emits it after each element.
final class RollingReduceFunction<Key: StreamKey, Element>: KeyedProcessFunction {
    let combine: @Sendable (Element, Element) -> Element
    var state: ValueState<Element>!

    init(combine: @escaping @Sendable (Element, Element) -> Element) { self.combine = combine }

    func open(_ context: KeyedRuntimeContext<Key>) throws {
        state = context.state(ValueStateDescriptor<Element>("rolling-reduce"))
    }

    func processElement(_ value: Element, context: KeyedProcessContext<Key, Element>, out: Collector<Element>) {
        let next = state.value.map { combine($0, value) } ?? value
        state.value = next
        out.collect(next)
    }
}
