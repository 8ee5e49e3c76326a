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
}
