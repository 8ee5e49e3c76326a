import RunnelCheckpoint

/// One append to a ``DurableLog``: a header and a payload of records, each a line ending in
/// `\n`.
///
/// On disk (little-endian): magic `RLF1` (4 bytes), payload length (4), record count (4),
/// reserved zero (4), then the XXH3-64 checksum (8) of the first 16 header bytes and the
/// payload, then the payload. A frame is valid only whole and with its checksum: a write
/// torn by a crash, or bytes damaged later, are seen as such.
public enum LogFrame {
    /// Bytes of the header.
    public static let headerSize = 24
    /// `RLF1`.
    static let magic: UInt32 = 0x3146_4C52
    /// The largest payload a frame may hold.
    public static let maximumPayload = 1 << 30

    /// What a header says.
    public struct Header: Equatable, Sendable {
        /// Bytes of payload after the header.
        public var payloadLength: Int
        /// Records (lines) in the payload.
        public var records: Int
        /// The checksum the payload must match.
        var checksum: UInt64
    }

    /// The header for `payload` holding `records` lines.
    static func header(for payload: UnsafeRawBufferPointer, records: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: headerSize)
        store(magic, at: 0, in: &bytes)
        store(UInt32(payload.count), at: 4, in: &bytes)
        store(UInt32(records), at: 8, in: &bytes)
        let checksum = bytes.withUnsafeBytes { XXHash64.hash(pieces: [UnsafeRawBufferPointer(rebasing: $0[0..<16]), payload]) }
        for i in 0..<8 { bytes[16 + i] = UInt8(truncatingIfNeeded: checksum >> (8 * UInt64(i))) }
        return bytes
    }

    /// The header in `bytes` (``headerSize`` of them), or nil when they are not one.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer) -> Header? {
        guard bytes.count >= headerSize, load(bytes, 0) == magic, load(bytes, 12) == 0 else { return nil }
        let length = Int(load(bytes, 4))
        guard length <= maximumPayload else { return nil }
        var checksum: UInt64 = 0
        for i in 0..<8 { checksum |= UInt64(bytes[16 + i]) << (8 * UInt64(i)) }
        return Header(payloadLength: length, records: Int(load(bytes, 8)), checksum: checksum)
    }

    /// Whether `payload` is the one `header` (whose raw bytes are `headerBytes`) describes.
    static func matches(_ header: Header, headerBytes: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) -> Bool {
        payload.count == header.payloadLength
            && XXHash64.hash(pieces: [UnsafeRawBufferPointer(rebasing: headerBytes[0..<16]), payload]) == header.checksum
    }

    /// The length (header and payload) of the whole, intact frame starting at `offset` in
    /// `bytes`, or nil when none starts there.
    static func wholeFrameLength(in bytes: UnsafeRawBufferPointer, at offset: Int) -> Int? {
        guard offset + headerSize <= bytes.count else { return nil }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + headerSize)])
        guard let header = parseHeader(headerBytes), offset + headerSize + header.payloadLength <= bytes.count else { return nil }
        let start = offset + headerSize
        let payload = UnsafeRawBufferPointer(rebasing: bytes[start..<(start + header.payloadLength)])
        return matches(header, headerBytes: headerBytes, payload: payload) ? headerSize + header.payloadLength : nil
    }

    private static func store(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    private static func load(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        return value
    }
}
