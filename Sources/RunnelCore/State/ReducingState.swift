/// A value per key that new values are folded into (Flink's `ReducingState`).
public class ReducingState<Value> {
    init() {}
    /// The current key's reduced value, `nil` when nothing was added.
    public var value: Value? { fatalError("abstract") }
    /// Folds `value` into the current key's value.
    public func add(_ value: Value) { fatalError("abstract") }
    /// Removes the current key's value.
    public func clear() { fatalError("abstract") }
}

final class KeyedReducingState<Key: StreamKey, Value>: ReducingState<Value> {
    unowned let backend: KeyedStateBackend<Key>
    let table: KeyedStateTable<Key, Value>
    let ttl: StateTTL?
    let reduce: @Sendable (Value, Value) -> Value

    init(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Value>, ttl: StateTTL?, reduce: @escaping @Sendable (Value, Value) -> Value) {
        self.backend = backend
        self.table = table
        self.ttl = ttl
        self.reduce = reduce
    }

    override var value: Value? { table.read(backend, ttl: ttl) }
    override func add(_ value: Value) {
        if let current = table.read(backend, ttl: ttl) {
            table.write(backend, ttl: ttl, reduce(current, value))
        } else {
            table.write(backend, ttl: ttl, value)
        }
    }
    override func clear() { table.remove(backend) }
}
