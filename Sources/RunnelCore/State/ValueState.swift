/// A single value per key (Flink's `ValueState`).
///
/// Obtain one from a runtime context while opening an operator, keep it in a property,
/// and read or write ``value`` while processing: it always refers to the current key.
///
/// The handle hides the key type behind closures formed where the key type is concrete:
/// calls through a generic class hierarchy would run unspecialized generic code, once
/// per element.
///
/// A handle is a plain value that refers to its accessors without owning them: the state
/// backend owns them, for as long as the operator lives, and they refer to the backend
/// without owning it (no cycle, and no reference counting per access). A function keeps
/// its handle in a `var` set in `open`, and a class reference read from a `var` is retained
/// and released around every use, an atomic pair per record; a handle is not. Copies of a
/// handle are the same state; a handle must not be used after the ``KeyedStateBackend``
/// that made it is deallocated (debug builds check this).
public struct ValueState<Value> {
    /// The accessors, formed where the key type is concrete.
    final class Accessors {
        let load: () -> Value?
        let store: (Value?) -> Void
        let exchange: (Value) -> Value?
        let putIfAbsent: (Value) -> Value?
        let update: (() -> Value, (inout Value) -> Void) -> Void

        init<Key: StreamKey>(backend: KeyedStateBackend<Key>, table: KeyedStateTable<Key, Value>, ttl: StateTTL?) {
            // The backend owns these closures: they must not own it (nor count references to
            // it on every access).
            let backend = Unmanaged.passUnretained(backend)
            load = { backend._withUnsafeGuaranteedRef { table.read($0, ttl: ttl) } }
            store = { value in
                backend._withUnsafeGuaranteedRef { if let value { table.write($0, ttl: ttl, value) } else { table.remove($0) } }
            }
            exchange = { value in backend._withUnsafeGuaranteedRef { table.exchange($0, ttl: ttl, value) } }
            putIfAbsent = { value in backend._withUnsafeGuaranteedRef { table.insertIfAbsent($0, ttl: ttl, value) } }
            update = { initial, body in backend._withUnsafeGuaranteedRef { table.modify($0, ttl: ttl, initial: initial, body) } }
        }
    }

    /// The accessors, kept alive by the backend (``KeyedStateBackend/valueState(_:)``).
    private let accessors: Unmanaged<Accessors>
    #if DEBUG
    /// Catches a handle used after its backend (and so its accessors) went away.
    private weak var liveAccessors: Accessors?
    #endif

    init(_ accessors: Accessors) {
        self.accessors = .passUnretained(accessors)
        #if DEBUG
        liveAccessors = accessors
        #endif
    }

    @inline(__always)
    private func with<R>(_ body: (Accessors) -> R) -> R {
        #if DEBUG
        assert(liveAccessors != nil, "a ValueState handle was used after its KeyedStateBackend was deallocated")
        #endif
        return accessors._withUnsafeGuaranteedRef(body)
    }

    /// The current key's value, `nil` when unset or expired; setting `nil` clears it.
    public var value: Value? {
        get { with { $0.load() } }
        nonmutating set { with { $0.store(newValue) } }
    }

    /// Updates the current key's value in place (one lookup), starting from `initial` when unset.
    public func modify(default initial: @autoclosure () -> Value, _ body: (inout Value) -> Void) {
        withoutActuallyEscaping(initial) { initial in
            withoutActuallyEscaping(body) { body in with { $0.update(initial, body) } }
        }
    }

    /// Sets the current key's value and returns the previous one (`nil` when unset or expired), with one lookup.
    @discardableResult
    public func replace(with newValue: Value) -> Value? { with { $0.exchange(newValue) } }

    /// Stores `newValue` when the current key has no value (or an expired one) and returns
    /// `nil`; otherwise returns the value and leaves it, and its TTL, untouched. One lookup.
    @discardableResult
    public func setIfAbsent(_ newValue: Value) -> Value? { with { $0.putIfAbsent(newValue) } }

    /// Removes the current key's value.
    public func clear() { with { $0.store(nil) } }
}
