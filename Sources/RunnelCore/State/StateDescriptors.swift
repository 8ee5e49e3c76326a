/// Declares a value state: one optional value per key.
public struct ValueStateDescriptor<Value>: Sendable {
    /// The state's name, unique within its operator (it keys the state in snapshots).
    public let name: String
    /// Optional time-to-live of entries.
    public let ttl: StateTTL?
    /// Creates a descriptor.
    public init(_ name: String, of type: Value.Type = Value.self, ttl: StateTTL? = nil) {
        self.name = name
        self.ttl = ttl
    }
}

/// Declares a list state: an ordered list of values per key.
public struct ListStateDescriptor<Element>: Sendable {
    /// The state's name, unique within its operator.
    public let name: String
    /// Optional time-to-live (the whole list ages as one entry).
    public let ttl: StateTTL?
    /// Creates a descriptor.
    public init(_ name: String, of type: Element.Type = Element.self, ttl: StateTTL? = nil) {
        self.name = name
        self.ttl = ttl
    }
}

/// Declares a map state: a dictionary per key.
public struct MapStateDescriptor<MapKey: Hashable, MapValue>: Sendable {
    /// The state's name, unique within its operator.
    public let name: String
    /// Optional time-to-live (the whole map ages as one entry).
    public let ttl: StateTTL?
    /// Creates a descriptor.
    public init(_ name: String, key: MapKey.Type = MapKey.self, value: MapValue.Type = MapValue.self, ttl: StateTTL? = nil) {
        self.name = name
        self.ttl = ttl
    }
}

/// Declares a reducing state: values added to it are folded with `reduce`.
public struct ReducingStateDescriptor<Value>: Sendable {
    /// The state's name, unique within its operator.
    public let name: String
    /// Combines the stored value with a new one.
    public let reduce: @Sendable (Value, Value) -> Value
    /// Optional time-to-live of entries.
    public let ttl: StateTTL?
    /// Creates a descriptor.
    public init(_ name: String, ttl: StateTTL? = nil, reduce: @escaping @Sendable (Value, Value) -> Value) {
        self.name = name
        self.reduce = reduce
        self.ttl = ttl
    }
}

/// Declares an aggregating state: inputs are added into an accumulator by an
/// ``AggregateFunction``; reading yields the function's result.
public struct AggregatingStateDescriptor<Function: AggregateFunction>: Sendable {
    /// The state's name, unique within its operator.
    public let name: String
    /// The aggregate function.
    public let function: Function
    /// Optional time-to-live of entries.
    public let ttl: StateTTL?
    /// Creates a descriptor.
    public init(_ name: String, function: Function, ttl: StateTTL? = nil) {
        self.name = name
        self.function = function
        self.ttl = ttl
    }
}
