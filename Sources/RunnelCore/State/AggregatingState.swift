/// An accumulator per key that inputs are added into (Flink's `AggregatingState`).
public class AggregatingState<Input, Result> {
    init() {}
    /// The aggregate's result for the current key, `nil` when nothing was added.
    public var result: Result? { fatalError("abstract") }
    /// Adds one input to the current key's accumulator.
    public func add(_ value: Input) { fatalError("abstract") }
    /// Removes the current key's accumulator.
    public func clear() { fatalError("abstract") }
}

final class KeyedAggregatingState<Key: StreamKey, Function: AggregateFunction>: AggregatingState<Function.Input, Function.Result> {
    unowned let backend: KeyedStateBackend<Key>
    let table: KeyedStateTable<Key, Function.Accumulator>
    let ttl: StateTTL?
    let function: Function

    init(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Function.Accumulator>, ttl: StateTTL?, function: Function) {
        self.backend = backend
        self.table = table
        self.ttl = ttl
        self.function = function
    }

    override var result: Function.Result? { table.read(backend, ttl: ttl).map(function.result) }
    override func add(_ value: Function.Input) {
        let function = self.function
        table.modify(backend, ttl: ttl, initial: function.createAccumulator) { function.add(value, to: &$0) }
    }
    override func clear() { table.remove(backend) }
}
