import CZlib

/// Decompresses gzip request bodies (`Content-Encoding: gzip`) with zlib, refusing output
/// beyond a limit so that a small body cannot expand into gigabytes (a "zip bomb").
public enum GzipDecoder {
    /// Why a body could not be decompressed.
    public enum Failure: Error, Equatable, Sendable {
        /// Not a valid gzip stream (400).
        case invalid(String)
        /// More than the limit once decompressed (413).
        case tooLarge(limit: Int)
    }

    /// The decompressed bytes of `compressed`, at most `limit` of them.
    public static func decompress(_ compressed: [UInt8], limit: Int) throws(Failure) -> [UInt8] {
        var stream = z_stream()
        guard runnel_inflate_init_gzip(&stream) == Z_OK else { throw .invalid("zlib could not start") }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var input = compressed
        var status = Z_OK
        var tooLarge = false
        input.withUnsafeMutableBufferPointer { source in
            stream.next_in = source.baseAddress
            stream.avail_in = UInt32(source.count)
            repeat {
                chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_out = target.baseAddress
                    stream.avail_out = UInt32(target.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                if output.count + produced > limit {
                    tooLarge = true
                    return
                }
                output.append(contentsOf: chunk[0..<produced])
            } while status == Z_OK
        }
        if tooLarge { throw .tooLarge(limit: limit) }
        guard status == Z_STREAM_END else {
            throw .invalid(stream.msg.map { String(cString: $0) } ?? "truncated or corrupt gzip data (zlib status \(status))")
        }
        guard stream.avail_in == 0 else { throw .invalid("bytes after the gzip stream") }
        return output
    }
}
