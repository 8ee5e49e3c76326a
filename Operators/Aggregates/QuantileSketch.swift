import Histogram
import RunnelCore

/// A mergeable sketch of a distribution of non-negative integers — durations in
/// milliseconds, sizes in bytes — answering quantiles (p50, p90, p99) within 1 % relative
/// error in a few kilobytes, whatever the number of values.
///
/// For window and session aggregates whose partial results merge (session windows merge,
/// per-minute aggregates are folded across subtasks): merging two sketches gives exactly the
/// sketch of all their values. Built on HdrHistogram (`hdrhistogram-swift`, two significant
/// digits, growing as larger values arrive).
///
/// Checkpoints hold the non-empty buckets: a value and its count each, in ascending order.
public struct QuantileSketch: Sendable {
    private var histogram: Histogram<UInt64>

    /// An empty sketch.
    public init() {
        histogram = Histogram(numberOfSignificantValueDigits: .two)
    }

    /// The number of values recorded.
    public var count: UInt64 { histogram.totalCount }

    /// Whether no value was recorded.
    public var isEmpty: Bool { histogram.totalCount == 0 }

    /// Records `value` (`count` times).
    public mutating func record(_ value: UInt64, count: UInt64 = 1) {
        _ = histogram.record(value, count: count)
    }

    /// Adds every value of `other`.
    public mutating func merge(_ other: QuantileSketch) {
        histogram.add(other.histogram)
    }

    /// The value at quantile `q` (0 to 1): at least a fraction `q` of the values are at or
    /// below it, within the sketch's precision; 0 when empty.
    public func quantile(_ q: Double) -> UInt64 {
        precondition((0...1).contains(q), "a quantile is between 0 and 1")
        return isEmpty ? 0 : histogram.valueAtPercentile(q * 100)
    }

    /// The largest value recorded (within the sketch's precision); 0 when empty.
    public var max: UInt64 { isEmpty ? 0 : histogram.max }

    /// The non-empty buckets, as (a value of the bucket, count), ascending.
    var buckets: [(value: UInt64, count: UInt64)] {
        histogram.recordedValues().map { ($0.value, $0.count) }
    }
}

extension QuantileSketch: Equatable {
    /// Equal when they hold the same counts in the same buckets.
    public static func == (a: QuantileSketch, b: QuantileSketch) -> Bool {
        a.count == b.count && a.buckets.elementsEqual(b.buckets) { $0 == $1 }
    }
}

extension QuantileSketch: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        let buckets = self.buckets
        writer.writeVarUInt(UInt64(buckets.count))
        for bucket in buckets {
            writer.writeVarUInt(bucket.value)
            writer.writeVarUInt(bucket.count)
        }
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        let count = try reader.readCount()
        for _ in 0..<count {
            let value = try reader.readVarUInt()
            let times = try reader.readVarUInt()
            guard times > 0 else { throw SnapshotDecodingError.malformed("an empty bucket in a quantile sketch", offset: reader.offset) }
            record(value, count: times)
        }
    }
}
