import RunnelCore
import Testing

@Suite("Snapshot encoding")
struct BinaryCodecTests {
    func roundTrip<T: StateCodable & Equatable>(_ value: T) throws -> T {
        var writer = BinaryWriter()
        writer.write(value)
        var reader = BinaryReader(writer.bytes)
        let back: T = try reader.read()
        #expect(reader.isAtEnd)
        return back
    }

    @Test("a recycled buffer is written in place: its storage is reused, not reallocated")
    func recycledBufferKeepsItsStorage() {
        var buffer = [UInt8](repeating: 7, count: 1 << 20)
        let address = buffer.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
        buffer.removeAll(keepingCapacity: true)
        var writer = BinaryWriter(reusing: consume buffer)
        writer.writeVarUInt(300)
        #expect(writer.count == 2)
        #expect(writer.bytes.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) } == address)
    }

    @Test("scalars, strings and collections round-trip")
    func roundTrips() throws {
        for v in [0, 1, -1, 63, -64, 64, Int.max, Int.min, 1 << 40] { #expect(try roundTrip(v) == v) }
        for v: Int64 in [0, -5, .max, .min] { #expect(try roundTrip(v) == v) }
        for v: UInt64 in [0, 127, 128, .max] { #expect(try roundTrip(v) == v) }
        for v in [0.0, -0.5, .infinity, 1e300, .leastNonzeroMagnitude] { #expect(try roundTrip(v) == v) }
        #expect(try roundTrip(Double.nan).isNaN)
        for v in [true, false] { #expect(try roundTrip(v) == v) }
        for v in ["", "p-375", "héllo 世界 🎉", String(repeating: "x", count: 1000)] { #expect(try roundTrip(v) == v) }
        #expect(try roundTrip(Optional<String>.none) == nil)
        #expect(try roundTrip(Optional("a")) == "a")
        #expect(try roundTrip([1, 2, 3]) == [1, 2, 3])
        #expect(try roundTrip(Set(["a", "b"])) == Set(["a", "b"]))
        #expect(try roundTrip(["k": [1, 2], "l": []]) == ["k": [1, 2], "l": []])
        #expect(try roundTrip(TimeWindow(start: -60_000, end: 1_700_000_000_000)) == TimeWindow(start: -60_000, end: 1_700_000_000_000))
    }

    @Test("small values take few bytes")
    func compact() {
        var writer = BinaryWriter()
        writer.write(true)
        writer.write(5)
        writer.write(Optional<Int>.none)
        #expect(writer.bytes == [1, 10, 0])
    }

    @Test("every truncation of an encoding is an error, never a crash")
    func truncations() {
        var writer = BinaryWriter()
        writer.write(["key": ["a", "b"], "other": ["héllo"]])
        writer.write(Int64.min)
        let full = writer.bytes
        for length in 0..<full.count {
            var reader = BinaryReader(Array(full[0..<length]))
            #expect(throws: SnapshotDecodingError.self) {
                let _: [String: [String]] = try reader.read()
                let _: Int64 = try reader.read()
            }
        }
    }

    @Test("malformed bytes are rejected with a reason")
    func malformed() {
        var bad = BinaryReader([2])
        #expect(throws: SnapshotDecodingError.self) { let _: Bool = try bad.read() }
        var overlong = BinaryReader(Array(repeating: 0xFF, count: 11))
        #expect(throws: SnapshotDecodingError.self) { _ = try overlong.readVarUInt() }
        var invalidUTF8 = BinaryReader([2, 0xC3, 0x28])
        #expect(throws: SnapshotDecodingError.self) { _ = try invalidUTF8.readString() }
        var hugeCount = BinaryReader([0xFF, 0xFF, 0xFF, 0x7F])
        #expect(throws: SnapshotDecodingError.self) { let _: [Int] = try hugeCount.read() }
    }
}
