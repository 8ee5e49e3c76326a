/// A value per key that new values are folded into (Flink's `ReducingState`).
public final class ReducingState<Value> {
    private let load: () -> Value?
    private let addOne: (Value) -> Void
    private let removeAll: () -> Void

    init<Key: StreamKey>(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Value>, ttl: StateTTL?,
                         reduce: @escaping @Sendable (Value, Value) -> Value) {
        load = { [backend] in table.read(backend, ttl: ttl) }
        addOne = { [backend] value in
            if let current = table.read(backend, ttl: ttl) {
                table.write(backend, ttl: ttl, reduce(current, value))
            } else {
                table.write(backend, ttl: ttl, value)
            }
        }
        removeAll = { [backend] in table.remove(backend) }
    }

    /// The current key's reduced value, `nil` when nothing was added.
    public var value: Value? { load() }
    /// Folds `value` into the current key's value.
    public func add(_ value: Value) { addOne(value) }
    /// Removes the current key's value.
    public func clear() { removeAll() }
}
