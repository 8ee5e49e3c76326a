/// An exact set of distinct values for aggregates (distinct viewers, distinct posts):
/// a small inline array while it holds few values, a hash set beyond that.
///
/// Window and session accumulators usually see a handful of distinct values; a `Set`
/// per accumulator paid an allocation, a SipHash per insert and rehashing as it grew,
/// which was a visible share of per-element cost. Equality checks on a few short values
/// are cheaper than hashing them.
public struct DistinctValues<Value: Hashable & Sendable>: Sendable, Hashable {
    private var small: [Value] = []
    private var large: Set<Value>?

    /// Values kept in the array before switching to a set.
    public static var inlineLimit: Int { 16 }

    /// An empty set.
    public init() {}

    /// The number of distinct values.
    public var count: Int { large?.count ?? small.count }

    /// Adds a value (no effect if present).
    public mutating func insert(_ value: Value) {
        if large != nil {
            large!.insert(value)
            return
        }
        if small.contains(value) { return }
        if small.count < Self.inlineLimit {
            if small.isEmpty { small.reserveCapacity(4) }
            small.append(value)
        } else {
            var set = Set(small)
            set.insert(value)
            large = set
            small = []
        }
    }

    /// Adds every value of `other`.
    public mutating func formUnion(_ other: DistinctValues) {
        if let otherLarge = other.large {
            for v in otherLarge { insert(v) }
        } else {
            for v in other.small { insert(v) }
        }
    }

    /// Whether `value` is in the set.
    public func contains(_ value: Value) -> Bool {
        large?.contains(value) ?? small.contains(value)
    }

    /// The values, in no particular order.
    public var values: [Value] { large.map(Array.init) ?? small }

    public static func == (a: DistinctValues, b: DistinctValues) -> Bool {
        a.count == b.count && Set(a.values) == Set(b.values)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(Set(values))
    }
}
