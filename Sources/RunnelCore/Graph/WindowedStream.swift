/// A keyed stream grouped into windows, awaiting its aggregation (Flink's `WindowedStream`).
///
/// Processing-time assigners default to ``ProcessingTimeTrigger`` unless a trigger is set.
public struct WindowedStream<Key: StreamKey, Element, Assigner: WindowAssigner, Trig: Trigger> {
    let keyed: KeyedStream<Key, Element>
    let assigner: Assigner
    let trigger: Trig
    let allowedLateness: Int64
    let lateTag: OutputTag<Element>?
    var triggerWasSet = false

    /// Replaces the trigger.
    public func trigger<T: Trigger>(_ trigger: T) -> WindowedStream<Key, Element, Assigner, T> {
        var w = WindowedStream<Key, Element, Assigner, T>(keyed: keyed, assigner: assigner, trigger: trigger,
                                                          allowedLateness: allowedLateness, lateTag: lateTag)
        w.triggerWasSet = true
        return w
    }

    /// Keeps windows open for late elements this long after they fire (event time only).
    public func allowedLateness(_ lateness: Duration) -> WindowedStream {
        var w = WindowedStream(keyed: keyed, assigner: assigner, trigger: trigger, allowedLateness: lateness.milliseconds, lateTag: lateTag)
        w.triggerWasSet = triggerWasSet
        return w
    }

    /// Sends elements that arrive too late for every window they belong to to `tag`.
    public func sideOutputLateData(_ tag: OutputTag<Element>) -> WindowedStream {
        var w = WindowedStream(keyed: keyed, assigner: assigner, trigger: trigger, allowedLateness: allowedLateness, lateTag: tag)
        w.triggerWasSet = triggerWasSet
        return w
    }

    /// Aggregates each window incrementally; emits a ``WindowResult`` per firing.
    public func aggregate<A: AggregateFunction>(_ name: String, _ function: A) -> DataStream<WindowResult<Key, A.Result>>
    where A.Input == Element {
        let (assigner, trigger, lateness, lateTag, key) = (self.assigner, self.trigger, allowedLateness, self.lateTag, keyed.key)
        let useProcessingTrigger = !assigner.isEventTime && !triggerWasSet
        return keyed.stream.transform(name, inputs: [keyed.hashEdge]) { setup, out in
            if useProcessingTrigger {
                return try WindowOperator(assigner: assigner, trigger: ProcessingTimeTrigger(), aggregate: function, allowedLateness: lateness,
                                      lateTag: lateTag, keyOf: key, setup: setup, output: out).handler
            }
            return try WindowOperator(assigner: assigner, trigger: trigger, aggregate: function, allowedLateness: lateness,
                                  lateTag: lateTag, keyOf: key, setup: setup, output: out).handler
        }
    }

    /// Reduces each window's elements with `combine`.
    public func reduce(_ name: String, _ combine: @escaping @Sendable (Element, Element) -> Element) -> DataStream<WindowResult<Key, Element>> {
        aggregate(name, ReduceAggregate(combine)).map("\(name)#unwrap") { r in
            WindowResult(key: r.key, window: r.window, value: r.value!, firing: r.firing)
        }
    }

    /// Hands all of a window's elements to `function` when it fires (Flink's
    /// `ProcessWindowFunction`); `function` emits through its last argument.
    public func process<Out>(_ name: String,
                             _ function: @escaping @Sendable (_ key: Key, _ window: TimeWindow, _ elements: [Element], _ firing: FiringKind, _ out: (Out) -> Void) -> Void)
    -> DataStream<Out> {
        aggregate("\(name)#collect", CollectingAggregate<Element>()).flatMap(name) { r, emit in
            function(r.key, r.window, r.value, r.firing, emit)
        }
    }
}
