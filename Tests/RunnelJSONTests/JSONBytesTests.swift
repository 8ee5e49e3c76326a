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
}
