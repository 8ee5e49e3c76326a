/// A single value per key (Flink's `ValueState`).
///
/// Obtain one from a runtime context while opening an operator, keep it in a property,
/// and read or write ``value`` while processing: it always refers to the current key.
public class ValueState<Value> {
    init() {}
    /// The current key's value, `nil` when unset or expired; setting `nil` clears it.
    public var value: Value? {
        get { fatalError("abstract") }
        set { fatalError("abstract") }
    }
    /// Updates the current key's value in place, starting from `initial` when unset.
    @discardableResult
    public func modify<R>(default initial: @autoclosure () -> Value, _ body: (inout Value) -> R) -> R { fatalError("abstract") }
    /// Removes the current key's value.
    public func clear() { value = nil }
}

final class KeyedValueState<Key: StreamKey, Value>: ValueState<Value> {
    unowned let backend: KeyedStateBackend<Key>
    let table: KeyedStateTable<Key, Value>
    let ttl: StateTTL?

    init(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Value>, ttl: StateTTL?) {
        self.backend = backend
        self.table = table
        self.ttl = ttl
    }

    override var value: Value? {
        get { table.read(backend, ttl: ttl) }
        set {
            if let newValue { table.write(backend, ttl: ttl, newValue) } else { table.remove(backend) }
        }
    }

    override func modify<R>(default initial: @autoclosure () -> Value, _ body: (inout Value) -> R) -> R {
        table.modify(backend, ttl: ttl, initial: initial, body)
    }
}
