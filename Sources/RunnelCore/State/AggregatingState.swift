/// An accumulator per key that inputs are added into (Flink's `AggregatingState`).
public final class AggregatingState<Input, Result> {
    private let load: () -> Result?
    private let addOne: (Input) -> Void
    private let removeAll: () -> Void

    init<Key: StreamKey, Function: AggregateFunction>(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Function.Accumulator>,
                                                      ttl: StateTTL?, function: Function)
    where Function.Input == Input, Function.Result == Result {
        load = { [backend] in table.read(backend, ttl: ttl).map(function.result) }
        addOne = { [backend] value in
            table.modify(backend, ttl: ttl, initial: function.createAccumulator) { function.add(value, to: &$0) }
        }
        removeAll = { [backend] in table.remove(backend) }
    }

    /// The aggregate's result for the current key, `nil` when nothing was added.
    public var result: Result? { load() }
    /// Adds one input to the current key's accumulator.
    public func add(_ value: Input) { addOne(value) }
    /// Removes the current key's accumulator.
    public func clear() { removeAll() }
}
