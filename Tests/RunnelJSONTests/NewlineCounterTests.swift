@testable import RunnelJSON
import CSimdjson
import Testing

@Suite("NewlineCounter")
struct NewlineCounterTests {
    /// Lines of random lengths, some long (runs without a newline longer than the byte
    /// count's chunks) and some empty in long runs (more newlines in a row than a byte
    /// lane can count), over 1 MiB in all (more than one `pread` of the fallback).
    static func contents() -> [UInt8] {
        var generator = SeededGenerator(seed: 5)
        var bytes: [UInt8] = []
        while bytes.count < 1_300_000 {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0: bytes += [UInt8](repeating: 0x0A, count: Int.random(in: 200...900, using: &generator))
            case 1: bytes += [UInt8](repeating: UInt8(ascii: "x"), count: Int.random(in: 0...3_000, using: &generator)) + [0x0A]
            default: bytes += [UInt8](repeating: UInt8(ascii: "y"), count: Int.random(in: 0...60, using: &generator)) + [0x0A]
            }
        }
        return bytes
    }

    @Test("counts the newlines of any range exactly, mapped a window at a time or read: unaligned ends, dense and sparse runs, ranges past the end of the file",
          arguments: [(true, 64 << 20), (true, 10_000), (false, 64 << 20)])
    func countsExactly(mapping: Bool, window: Int) throws {
        let bytes = Self.contents()
        let file = try TemporaryFile(contents: bytes)
        let counter = try NewlineCounter(path: file.path, mapWindow: window)
        func reference(_ range: Range<Int64>) -> Int64 {
            let upper = min(Int(range.upperBound), bytes.count)
            let lower = min(Int(range.lowerBound), upper)
            return Int64(bytes[lower..<upper].lazy.filter { $0 == 0x0A }.count)
        }
        let size = Int64(bytes.count)
        var ranges: [Range<Int64>] = [0..<size, 0..<0, 1..<size, (size - 1)..<size, 4_095..<4_097, 4_096..<8_192,
                                      0..<(size + 10_000), (size - 5_000)..<(size + 70_000)]
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<100 {
            let a = Int64.random(in: 0...size, using: &generator), b = Int64.random(in: 0...size, using: &generator)
            ranges.append(min(a, b)..<max(a, b))
        }
        for range in ranges {
            #expect(try counter.count(in: range, mapping: mapping) == reference(range), "range \(range)")
        }
    }

    @Test("the vectorized byte count around its chunk and vector sizes, for any byte value")
    func byteCount() {
        for value: UInt8 in [0x0A, 0x00, 0x8A, 0xFF] {
            for length in [0, 1, 15, 16, 17, 239, 240, 241, 254, 255, 256, 257, 480, 510, 4_096, 10_007] {
                // Every byte equal (the densest case), then every third.
                let all = [UInt8](repeating: value, count: length)
                let some = (0..<length).map { $0 % 3 == 0 ? value : value &+ 1 }
                #expect(all.withUnsafeBytes { runnel_count_byte($0.baseAddress, length, value) } == length)
                #expect(some.withUnsafeBytes { runnel_count_byte($0.baseAddress, length, value) } == (length + 2) / 3)
            }
        }
    }
}
