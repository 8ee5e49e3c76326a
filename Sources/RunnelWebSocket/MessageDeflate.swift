import CZlib
import Synchronization

/// Compresses and decompresses single WebSocket messages for permessage-deflate (RFC 7692
/// §7.2) with zlib's raw DEFLATE, each message on its own (no context takeover).
///
/// zlib streams are costly to set up (a compressor allocates ~256 KiB), so they are kept
/// in a process-wide pool and reset between messages rather than created per message or
/// per connection: no connection holds one while it is idle.
public enum MessageDeflate {
    /// Why a compressed message could not be read.
    public enum Failure: Error, Equatable, Sendable {
        /// Not valid DEFLATE data.
        case invalid(String)
        /// Larger than the limit once decompressed.
        case tooLarge(limit: Int)
    }

    /// The empty stored block that ends a sync-flushed DEFLATE stream; the sender removes
    /// it and the receiver appends it again (RFC 7692 §7.2.1, §7.2.2).
    static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// A message's compressed payload (without the final empty block).
    public static func compress(_ payload: some Collection<UInt8>, windowBits: Int = 15) -> [UInt8] {
        let deflater = pool.withLock { $0.takeDeflater(windowBits: windowBits) } ?? Deflater(windowBits: windowBits)
        defer { pool.withLock { $0.give(deflater) } }
        return deflater.compress(Array(payload))
    }

    /// A compressed message's payload, at most `limit` bytes of it.
    public static func decompress(_ compressed: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        let inflater = pool.withLock { $0.takeInflater() } ?? Inflater()
        defer { pool.withLock { $0.give(inflater) } }
        return try inflater.decompress(compressed + tail, limit: limit)
    }

    // MARK: The pool

    private static let pool = Mutex(Pool())

    private struct Pool: ~Copyable {
        /// Idle streams kept per kind at most (a few per thread that compresses).
        static let capacity = 8
        var deflaters: [Int: [Deflater]] = [:]
        var inflaters: [Inflater] = []

        mutating func takeDeflater(windowBits: Int) -> Deflater? { deflaters[windowBits]?.popLast() }
        mutating func takeInflater() -> Inflater? { inflaters.popLast() }

        mutating func give(_ deflater: Deflater) {
            if deflaters[deflater.windowBits, default: []].count < Self.capacity { deflaters[deflater.windowBits, default: []].append(deflater) }
        }

        mutating func give(_ inflater: Inflater) {
            if inflaters.count < Self.capacity { inflaters.append(inflater) }
        }
    }

    /// One zlib compressor. `@unchecked Sendable`: used by one thread at a time, handed
    /// between threads only through the pool's lock. The `z_stream` lives at a fixed
    /// address because zlib's state points back at it.
    final class Deflater: @unchecked Sendable {
        let windowBits: Int
        private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

        init(windowBits: Int) {
            self.windowBits = windowBits
            stream.initialize(to: z_stream())
            let status = runnel_deflate_init_raw(stream, Z_DEFAULT_COMPRESSION, Int32(windowBits))
            precondition(status == Z_OK, "deflateInit2 failed (\(status)): out of memory?")
        }

        deinit {
            deflateEnd(stream)
            stream.deallocate()
        }

        func compress(_ input: [UInt8]) -> [UInt8] {
            deflateReset(stream)
            // The bound of a finished stream, plus the sync flush's empty block and a margin.
            var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, UInt(input.count))) + 16)
            var produced = 0
            input.withUnsafeBufferPointer { source in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.pointee.avail_in = UInt32(source.count)
                while true {
                    if produced == output.count { output.append(contentsOf: repeatElement(0, count: output.count)) }
                    output.withUnsafeMutableBufferPointer { target in
                        stream.pointee.next_out = target.baseAddress! + produced
                        stream.pointee.avail_out = UInt32(target.count - produced)
                        _ = deflate(stream, Z_SYNC_FLUSH)
                        produced = target.count - Int(stream.pointee.avail_out)
                    }
                    // Done when all input is taken and zlib had room to spare.
                    if stream.pointee.avail_in == 0 && produced < output.count { break }
                }
            }
            output.removeSubrange(produced...)
            if output.count >= 4 && Array(output.suffix(4)) == MessageDeflate.tail { output.removeLast(4) }
            return output
        }
    }

    /// One zlib decompressor (raw DEFLATE, 15-bit window: it reads data written with any
    /// window). Thread-safety as ``Deflater``.
    final class Inflater: @unchecked Sendable {
        private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

        init() {
            stream.initialize(to: z_stream())
            let status = runnel_inflate_init_raw(stream, 15)
            precondition(status == Z_OK, "inflateInit2 failed (\(status)): out of memory?")
        }

        deinit {
            inflateEnd(stream)
            stream.deallocate()
        }

        func decompress(_ input: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
            inflateReset(stream)
            var output: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: min(max(input.count * 4, 4096), 256 * 1024))
            var status = Z_OK
            var tooLarge = false
            input.withUnsafeBufferPointer { source in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.pointee.avail_in = UInt32(source.count)
                while true {
                    var produced = 0
                    chunk.withUnsafeMutableBufferPointer { target in
                        stream.pointee.next_out = target.baseAddress
                        stream.pointee.avail_out = UInt32(target.count)
                        status = inflate(stream, Z_SYNC_FLUSH)
                        produced = target.count - Int(stream.pointee.avail_out)
                    }
                    if output.count + produced > limit {
                        tooLarge = true
                        return
                    }
                    output.append(contentsOf: chunk[0..<produced])
                    // A final block (BFINAL) may end the data before the appended tail.
                    if status == Z_STREAM_END { return }
                    guard status == Z_OK || status == Z_BUF_ERROR else { return }
                    // Done when the input is used up and zlib did not fill the chunk.
                    if stream.pointee.avail_in == 0 && produced < chunk.count { return }
                    if status == Z_BUF_ERROR && produced == 0 { return }
                }
            }
            if tooLarge { throw .tooLarge(limit: limit) }
            guard status == Z_OK || status == Z_STREAM_END || (status == Z_BUF_ERROR && stream.pointee.avail_in == 0) else {
                throw .invalid(stream.pointee.msg.map { String(cString: $0) } ?? "corrupt DEFLATE data (zlib status \(status))")
            }
            if status == Z_BUF_ERROR && stream.pointee.avail_in != 0 {
                throw .invalid("corrupt DEFLATE data")
            }
            return output
        }
    }
}
