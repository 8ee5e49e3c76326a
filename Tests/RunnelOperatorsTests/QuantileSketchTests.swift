import Foundation
import RunnelCore
import RunnelOperators
import Testing

/// Quantiles within the sketch's precision, exact merging, checkpoint round trips.
@Suite struct QuantileSketchTests {
    /// A deterministic generator: the stable hash's mixer over a counter.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 1
            return StableHash.mix(state)
        }
        /// Log-uniform over 1...10^7: durations from a millisecond to hours.
        mutating func duration() -> UInt64 {
            UInt64(pow(10, 7 * Double(next() >> 11) / Double(1 << 53))).clamped(1)
        }
    }

    @Test("quantiles are within 1 % of the exact ones", arguments: [1, 2, 3])
    func quantilesWithinPrecision(seed: UInt64) {
        var random = Random(state: seed)
        var sketch = QuantileSketch()
        var values: [UInt64] = []
        for _ in 0..<50_000 {
            let value = random.duration()
            values.append(value)
            sketch.record(value)
        }
        values.sort()
        #expect(sketch.count == 50_000)
        for q in [0.5, 0.9, 0.99] {
            let exact = Double(values[Int((q * Double(values.count)).rounded(.up)) - 1])
            let estimate = Double(sketch.quantile(q))
            #expect(abs(estimate - exact) <= 0.01 * exact + 1, "q \(q): \(estimate) against \(exact)")
        }
        #expect(sketch.max >= values.last! && Double(sketch.max) <= Double(values.last!) * 1.01)
    }

    @Test("merging two sketches gives the sketch of all their values; an empty sketch answers 0")
    func mergeIsExact() {
        var random = Random(state: 9)
        var all = QuantileSketch(), left = QuantileSketch(), right = QuantileSketch()
        for i in 0..<10_000 {
            let value = random.duration()
            all.record(value)
            if i % 3 == 0 { left.record(value) } else { right.record(value) }
        }
        var merged = left
        merged.merge(right)
        #expect(merged == all)
        #expect(merged != left)
        #expect(QuantileSketch().quantile(0.5) == 0 && QuantileSketch().isEmpty)
    }

    @Test("a sketch survives its checkpoint encoding; an empty bucket is refused")
    func roundTrip() throws {
        var random = Random(state: 4)
        var sketch = QuantileSketch()
        for _ in 0..<5_000 { sketch.record(random.duration(), count: 1 + random.next() % 3) }
        var writer = BinaryWriter()
        sketch.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        let decoded = try QuantileSketch(from: &reader)
        #expect(decoded == sketch && reader.isAtEnd)
        #expect(decoded.quantile(0.9) == sketch.quantile(0.9))

        var bad = BinaryWriter()
        bad.writeVarUInt(1); bad.writeVarUInt(100); bad.writeVarUInt(0)
        var badReader = BinaryReader(bad.bytes)
        #expect(throws: SnapshotDecodingError.self) { try QuantileSketch(from: &badReader) }
    }
}

private extension UInt64 {
    func clamped(_ low: UInt64) -> UInt64 { Swift.max(self, low) }
}
