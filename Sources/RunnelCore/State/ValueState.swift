/// A single value per key (Flink's `ValueState`).
///
/// Obtain one from a runtime context while opening an operator, keep it in a property,
/// and read or write ``value`` while processing: it always refers to the current key.
///
/// The handle hides the key type behind closures formed where the key type is concrete:
/// calls through a generic class hierarchy would run unspecialized generic code, once
/// per element. The closures hold the backend strongly (the backend never references its
/// handles, so there is no cycle), which spares a reference-count pair per access.
public final class ValueState<Value> {
    private let load: () -> Value?
    private let store: (Value?) -> Void
    private let exchange: (Value) -> Value?
    private let putIfAbsent: (Value) -> Value?
    private let update: (() -> Value, (inout Value) -> Void) -> Void

    init<Key: StreamKey>(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Value>, ttl: StateTTL?) {
        load = { [backend] in table.read(backend, ttl: ttl) }
        store = { [backend] value in
            if let value { table.write(backend, ttl: ttl, value) } else { table.remove(backend) }
        }
        exchange = { [backend] value in table.exchange(backend, ttl: ttl, value) }
        putIfAbsent = { [backend] value in table.insertIfAbsent(backend, ttl: ttl, value) }
        update = { [backend] initial, body in table.modify(backend, ttl: ttl, initial: initial, body) }
    }

    /// The current key's value, `nil` when unset or expired; setting `nil` clears it.
    public var value: Value? {
        get { load() }
        set { store(newValue) }
    }

    /// Updates the current key's value in place (one lookup), starting from `initial` when unset.
    public func modify(default initial: @autoclosure () -> Value, _ body: (inout Value) -> Void) {
        withoutActuallyEscaping(initial) { initial in
            withoutActuallyEscaping(body) { body in update(initial, body) }
        }
    }

    /// Sets the current key's value and returns the previous one (`nil` when unset or expired), with one lookup.
    @discardableResult
    public func replace(with newValue: Value) -> Value? { exchange(newValue) }

    /// Stores `newValue` when the current key has no value (or an expired one) and returns
    /// `nil`; otherwise returns the value and leaves it, and its TTL, untouched. One lookup.
    @discardableResult
    public func setIfAbsent(_ newValue: Value) -> Value? { putIfAbsent(newValue) }

    /// Removes the current key's value.
    public func clear() { store(nil) }
}
