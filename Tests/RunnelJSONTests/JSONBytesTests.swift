import RunnelJSON
import Testing

@Suite("JSONBytes")
struct JSONBytesTests {
    @Test("equal compares every byte and the length", arguments: [
        ("post_viewed", true), ("post_viewee", false), ("Post_viewed", false), ("post_viewed_", false),
        ("post_viewe", false), ("", false),
    ])
    func equal(candidate: String, expected: Bool) {
        var copy = candidate
        #expect(copy.withUTF8 { JSONBytes.equal(UnsafeRawBufferPointer($0), "post_viewed") } == expected)
    }

    @Test("empty equals empty")
    func empty() {
        #expect(JSONBytes.equal(UnsafeRawBufferPointer(start: nil, count: 0), ""))
    }

    @Test("string gives the same String as String(decoding:as:), repairs included", arguments: [
        [], Array("u".utf8), Array("u-16872".utf8), Array("fifteen-bytes!!".utf8), Array("sixteen-bytes!!!".utf8),
        Array("s-9f078b87-ab3f-4135-a130-845867f27f64".utf8), Array("café".utf8), Array("日本語".utf8),
        [0x61, 0xFF, 0x62], [0xC3], [0xE6, 0x97], Array(repeating: 0x80, count: 15),
    ] as [[UInt8]])
    func string(bytes: [UInt8]) {
        let made = bytes.withUnsafeBytes { JSONBytes.string($0) }
        let reference = String(decoding: bytes, as: UTF8.self)
        #expect(made == reference)
        #expect(Array(made.utf8) == Array(reference.utf8))
    }

    @Test("small ASCII strings are the standard library's own, bit for bit, at every length and offset, whatever bytes surround them")
    func smallASCIIStrings() {
        var generator = SeededGenerator(seed: 31)
        for count in 1...15 {
            for offset in 0..<8 {
                // Bytes around the string are 0xFF (and non-ASCII): none may leak into it.
                var buffer = [UInt8](repeating: 0xFF, count: offset + count + 16)
                for i in 0..<count { buffer[offset + i] = UInt8.random(in: 0x00...0x7F, using: &generator) }
                let bytes = Array(buffer[offset..<(offset + count)])
                let made = buffer.withUnsafeBytes { JSONBytes.smallASCIIString($0.baseAddress! + offset, count: count) }
                let reference = String(decoding: bytes, as: UTF8.self)
                guard let made else {
                    Issue.record("no small string for \(bytes)")
                    continue
                }
                #expect(unsafeBitCast(made, to: (UInt64, UInt64).self) == unsafeBitCast(reference, to: (UInt64, UInt64).self))
                #expect(made == reference)
                #expect(made.hashValue == reference.hashValue)
                #expect(Array(made.utf8) == bytes)
                #expect(made.count == reference.count)
                #expect(made.uppercased() == reference.uppercased())
                var grown = made
                grown += "-and-more-than-fifteen-bytes"
                #expect(grown == reference + "-and-more-than-fifteen-bytes")
            }
        }
    }

    @Test("bytes that are not all ASCII get no small string", arguments: [
        Array("café".utf8), [0x80], Array("u-1687\u{7F}".utf8) + [0xC3, 0xA9], [0x61, 0xFF, 0x62],
        Array(repeating: 0x61, count: 14) + [0x80], [0x80] + Array(repeating: 0x61, count: 14),
    ] as [[UInt8]])
    func nonASCIIBytes(bytes: [UInt8]) {
        #expect(bytes.withUnsafeBytes { JSONBytes.smallASCIIString($0.baseAddress!, count: bytes.count) } == nil)
        let made = bytes.withUnsafeBytes { JSONBytes.string($0) }
        #expect(made == String(decoding: bytes, as: UTF8.self))
    }
}
