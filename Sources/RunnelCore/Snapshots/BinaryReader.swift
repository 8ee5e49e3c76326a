/// Reads values in the encoding of ``BinaryWriter`` from a byte buffer, checking every
/// length: a truncated or corrupt snapshot gives a ``SnapshotDecodingError``, never a crash
/// or an out-of-bounds read.
public struct BinaryReader {
    private let bytes: [UInt8]
    /// The offset of the next unread byte.
    public private(set) var offset: Int

    /// Reads `bytes` from the start.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
    }

    /// Bytes not read yet.
    public var remaining: Int { bytes.count - offset }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { offset == bytes.count }

    private mutating func need(_ n: Int, _ what: StaticString) throws {
        guard n >= 0, n <= remaining else { throw SnapshotDecodingError.truncated(what: "\(what)", offset: offset) }
    }

    /// Reads one byte.
    public mutating func readByte() throws -> UInt8 {
        try need(1, "byte")
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads 8 little-endian bytes.
    public mutating func readFixed64() throws -> UInt64 {
        try need(8, "64-bit value")
        var value: UInt64 = 0
        for i in (0..<8).reversed() { value = value << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return value
    }

    /// Reads 4 little-endian bytes.
    public mutating func readFixed32() throws -> UInt32 {
        try need(4, "32-bit value")
        var value: UInt32 = 0
        for i in (0..<4).reversed() { value = value << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return value
    }

    /// Reads an unsigned LEB128 varint.
    public mutating func readVarUInt() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw SnapshotDecodingError.malformed("varint overflows 64 bits", offset: offset - 1) }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            if shift > 63 { throw SnapshotDecodingError.malformed("varint longer than 10 bytes", offset: offset - 1) }
        }
    }

    /// Reads a zigzag varint.
    public mutating func readVarInt() throws -> Int64 {
        let raw = try readVarUInt()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// Reads a count (a varint that must fit the bytes left, at `minimumSize` bytes each).
    public mutating func readCount(minimumSize: Int = 1) throws -> Int {
        let raw = try readVarUInt()
        guard raw <= UInt64(remaining / max(minimumSize, 1)) || (raw == 0) else {
            throw SnapshotDecodingError.malformed("count \(raw) exceeds the bytes left", offset: offset)
        }
        return Int(raw)
    }

    /// Reads a double from its bit pattern.
    public mutating func readDouble() throws -> Double {
        Double(bitPattern: try readFixed64())
    }

    /// Reads a length-prefixed run of bytes.
    public mutating func readBytes() throws -> [UInt8] {
        let count = try readCount()
        try need(count, "byte string")
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// Reads a length-prefixed byte string and hands it to `body` in place, without copying.
    public mutating func withByteString<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let count = try readCount()
        try need(count, "byte string")
        defer { offset += count }
        return try bytes.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[offset..<(offset + count)])) }
    }

    /// Reads length-prefixed UTF-8 (invalid UTF-8 is an error, not repaired).
    public mutating func readString() throws -> String {
        let count = try readCount()
        try need(count, "string")
        let start = offset
        offset += count
        guard let text = bytes.withUnsafeBufferPointer({ String(validating: UnsafeBufferPointer(rebasing: $0[start..<(start + count)]), as: UTF8.self) }) else {
            throw SnapshotDecodingError.malformed("invalid UTF-8 in a string", offset: start)
        }
        return text
    }

    /// Reads a value that knows its own encoding.
    public mutating func read<T: StateCodable>(_ type: T.Type = T.self) throws -> T {
        try T(from: &self)
    }
}

/// Why snapshot bytes could not be decoded.
public enum SnapshotDecodingError: Error, Equatable, CustomStringConvertible {
    /// The bytes end inside a value.
    case truncated(what: String, offset: Int)
    /// A value is not valid.
    case malformed(String, offset: Int)

    public var description: String {
        switch self {
        case .truncated(let what, let offset): return "snapshot truncated: a \(what) at byte \(offset) runs past the end"
        case .malformed(let why, let offset): return "snapshot malformed at byte \(offset): \(why)"
        }
    }
}
