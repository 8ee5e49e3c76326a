/// Incremental aggregation with mergeable accumulators (Flink's `AggregateFunction`).
///
/// The accumulator is a value type updated in place (`inout`), so adding an element costs
/// no allocation for accumulators of fixed size. `merge` is what lets session windows
/// combine when an element bridges two of them.
public protocol AggregateFunction: Sendable {
    /// The elements added.
    associatedtype Input
    /// The running state of one aggregation.
    associatedtype Accumulator
    /// What the aggregation yields.
    associatedtype Result

    /// A new, empty accumulator.
    func createAccumulator() -> Accumulator
    /// Adds one element.
    func add(_ value: Input, to accumulator: inout Accumulator)
    /// Folds `other` into `accumulator` (both cover disjoint sets of elements).
    func merge(_ other: Accumulator, into accumulator: inout Accumulator)
    /// The result of an accumulator; may be called many times (early firings).
    func result(_ accumulator: Accumulator) -> Result
}

/// An aggregate that keeps every element, for process-window functions that must see them all.
public struct CollectingAggregate<Element>: AggregateFunction, Sendable {
    /// Creates the aggregate.
    public init() {}
    public func createAccumulator() -> [Element] { [] }
    public func add(_ value: Element, to accumulator: inout [Element]) { accumulator.append(value) }
    public func merge(_ other: [Element], into accumulator: inout [Element]) { accumulator.append(contentsOf: other) }
    public func result(_ accumulator: [Element]) -> [Element] { accumulator }
}

/// An aggregate from a binary reduce function (Flink's `ReduceFunction` on a window).
public struct ReduceAggregate<Value>: AggregateFunction, Sendable {
    let reduce: @Sendable (Value, Value) -> Value
    /// Creates the aggregate.
    public init(_ reduce: @escaping @Sendable (Value, Value) -> Value) { self.reduce = reduce }
    public func createAccumulator() -> Value? { nil }
    public func add(_ value: Value, to accumulator: inout Value?) {
        accumulator = accumulator.map { reduce($0, value) } ?? value
    }
    public func merge(_ other: Value?, into accumulator: inout Value?) {
        guard let other else { return }
        accumulator = accumulator.map { reduce($0, other) } ?? other
    }
    public func result(_ accumulator: Value?) -> Value? { accumulator }
}
