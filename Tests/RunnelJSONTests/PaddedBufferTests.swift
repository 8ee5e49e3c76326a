import RunnelJSON
import Testing

@Suite("PaddedBuffer")
struct PaddedBufferTests {
    /// The padding after the logical end must always be zero.
    func paddingIsZero(_ buffer: PaddedBuffer) -> Bool {
        (0..<PaddedBuffer.padding).allSatisfy { buffer.baseAddress.load(fromByteOffset: buffer.count + $0, as: UInt8.self) == 0 }
    }

    @Test("append, grow, shift and clear keep the zeroed padding")
    func invariants() {
        let buffer = PaddedBuffer(capacity: 4)
        #expect(PaddedBuffer.padding >= 64)
        #expect(paddingIsZero(buffer))
        buffer.append("hello, world")
        #expect(Array(buffer.bytes) == Array("hello, world".utf8))
        #expect(paddingIsZero(buffer))
        buffer.removeFirst(7)
        #expect(Array(buffer.bytes) == Array("world".utf8))
        #expect(paddingIsZero(buffer))
        let written = buffer.appendUninitialized(minimumFree: 1000) { free in
            #expect(free.count >= 1000)
            for index in 0..<3 { free[index] = 0x21 }
            return 3
        }
        #expect(written == 3)
        #expect(Array(buffer.bytes) == Array("world!!!".utf8))
        #expect(paddingIsZero(buffer))
        buffer.removeAll()
        #expect(buffer.count == 0)
        #expect(paddingIsZero(buffer))
        #expect(buffer.capacity >= 1000)
    }
}
