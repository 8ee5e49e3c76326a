import Foundation
import RunnelHTTP
import RunnelTesting
import Testing

/// gzip request bodies: round trips through the system's gzip, the size limit against
/// bodies that expand hugely, and corrupt input.
@Suite struct GzipDecoderTests {
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] { try SystemGzip.compress(bytes) }

    @Test("what gzip compressed comes back", arguments: [0, 1, 100, 200_000])
    func roundTrip(count: Int) throws {
        let original = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 / 7) }
        #expect(try GzipDecoder.decompress(try Self.gzip(original), limit: 1 << 20) == original)
    }

    @Test("a small body that expands beyond the limit is refused; corrupt or truncated data too")
    func limitsAndCorruption() throws {
        let bomb = try Self.gzip([UInt8](repeating: 0, count: 5_000_000))
        #expect(bomb.count < 10_000)
        #expect(throws: GzipDecoder.Failure.tooLarge(limit: 1_000_000)) { try GzipDecoder.decompress(bomb, limit: 1_000_000) }
        let good = try Self.gzip(Array("hello, world\n".utf8))
        #expect(throws: GzipDecoder.Failure.self) { try GzipDecoder.decompress(Array(good.prefix(good.count - 6)), limit: 1_000) }
        var flipped = good
        flipped[flipped.count / 2] ^= 0xFF
        #expect(throws: GzipDecoder.Failure.self) { try GzipDecoder.decompress(flipped, limit: 1_000) }
        #expect(throws: GzipDecoder.Failure.self) { try GzipDecoder.decompress(Array("not gzip".utf8), limit: 1_000) }
        #expect(throws: GzipDecoder.Failure.self) { try GzipDecoder.decompress(good + [1, 2, 3], limit: 1_000) }
    }
}
