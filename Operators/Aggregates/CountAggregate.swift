import RunnelCore

/// Counts elements.
public struct CountAggregate<Element>: AggregateFunction, Sendable {
    /// Creates the aggregate.
    public init() {}
    public func createAccumulator() -> Int { 0 }
    public func add(_ value: Element, to accumulator: inout Int) { accumulator += 1 }
    public func merge(_ other: Int, into accumulator: inout Int) { accumulator += other }
    public func result(_ accumulator: Int) -> Int { accumulator }
}

/// Sums a numeric projection of the elements.
public struct SumAggregate<Element, Value: AdditiveArithmetic & Sendable>: AggregateFunction, Sendable {
    let value: @Sendable (Element) -> Value
    /// Creates the aggregate summing `value(element)`.
    public init(_ value: @escaping @Sendable (Element) -> Value) { self.value = value }
    public func createAccumulator() -> Value { .zero }
    public func add(_ element: Element, to accumulator: inout Value) { accumulator += value(element) }
    public func merge(_ other: Value, into accumulator: inout Value) { accumulator += other }
    public func result(_ accumulator: Value) -> Value { accumulator }
}
