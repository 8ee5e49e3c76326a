@testable import RunnelJSON
import Testing

@Suite("NewlineCounter")
struct NewlineCounterTests {
    @Test("counts the newlines of any range exactly: unaligned starts and ends, long runs, ranges past the end of the file")
    func countsExactly() throws {
        var generator = SeededGenerator(seed: 5)
        // ~300 KiB of lines of random lengths (some long, so runs without a newline pass 255 bytes).
        var bytes: [UInt8] = []
        while bytes.count < 300_000 {
            let length = Int.random(in: 0...(Bool.random(using: &generator) ? 40 : 2_000), using: &generator)
            bytes += [UInt8](repeating: UInt8(ascii: "x"), count: length) + [0x0A]
        }
        let file = try TemporaryFile(contents: bytes)
        let counter = try NewlineCounter(path: file.path)
        func reference(_ range: Range<Int64>) -> Int64 {
            let upper = min(Int(range.upperBound), bytes.count)
            let lower = min(Int(range.lowerBound), upper)
            return Int64(bytes[lower..<upper].lazy.filter { $0 == 0x0A }.count)
        }
        let size = Int64(bytes.count)
        var ranges: [Range<Int64>] = [0..<size, 0..<0, 1..<size, (size - 1)..<size, 4_095..<4_097, 4_096..<8_192, 0..<(size + 10_000)]
        for _ in 0..<200 {
            let a = Int64.random(in: 0...size, using: &generator), b = Int64.random(in: 0...size, using: &generator)
            ranges.append(min(a, b)..<max(a, b))
        }
        for range in ranges {
            #expect(try counter.count(in: range) == reference(range), "range \(range)")
        }
    }
}
