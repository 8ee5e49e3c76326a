/// A ``StateCodable`` type that can also write its encoding straight into memory: the same
/// bytes as ``StateCodable/encode(to:)``, without going through a ``BinaryWriter``.
///
/// The checkpoint writer encodes the entries of keyed-state tables — often millions per
/// checkpoint — into a scratch buffer through this, and appends the buffer to the writer
/// in large pieces. Appending field by field to the writer's array (a capacity and
/// uniqueness check per field) made encoding the largest cost of checkpointing a job
/// every second. Conforming is optional: a type without it is encoded the usual way.
public protocol RawStateEncodable: StateCodable {
    /// Writes the encoding at `target` if it fits in `capacity` bytes and returns its length;
    /// nil when it does not fit (what was written at `target` is then meaningless).
    func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int?
}

/// The primitive encodings of ``BinaryWriter``, written to memory.
public enum RawEncoding {
    /// The longest varint (a 64-bit value).
    public static let maxVarIntLength = 10

    /// Writes `value` as an unsigned LEB128 varint at `target` (room for
    /// ``maxVarIntLength`` bytes needed); returns its length.
    @inline(__always)
    public static func varUInt(_ value: UInt64, to target: UnsafeMutableRawPointer) -> Int {
        var rest = value
        var i = 0
        while rest >= 0x80 {
            target.storeBytes(of: UInt8(truncatingIfNeeded: rest) | 0x80, toByteOffset: i, as: UInt8.self)
            rest >>= 7
            i += 1
        }
        target.storeBytes(of: UInt8(rest), toByteOffset: i, as: UInt8.self)
        return i + 1
    }

    /// Writes `value` zigzag-encoded as a varint (as ``BinaryWriter/writeVarInt(_:)``).
    @inline(__always)
    public static func varInt(_ value: Int64, to target: UnsafeMutableRawPointer) -> Int {
        varUInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: target)
    }

    /// Writes `value` as 8 little-endian bytes (as ``BinaryWriter/writeFixed(_:)-(UInt64)``).
    @inline(__always)
    public static func fixed(_ value: UInt64, to target: UnsafeMutableRawPointer) -> Int {
        target.storeBytes(of: value.littleEndian, as: UInt64.self)
        return 8
    }

    /// Writes a keyed-state entry as a full snapshot block holds it — the key, the TTL stamp
    /// (zigzag varint), the value — if it fits in `capacity`; returns its length, nil when it
    /// does not fit.
    @inline(__always)
    public static func entry<Key, Value>(key: UnsafePointer<Key>, stamp: Int64, value: UnsafePointer<Value>,
                                         _ rawKey: (UnsafePointer<Key>, UnsafeMutableRawPointer, Int) -> Int?,
                                         _ rawValue: (UnsafePointer<Value>, UnsafeMutableRawPointer, Int) -> Int?,
                                         to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        guard let k = rawKey(key, target, capacity) else { return nil }
        var at = k
        guard capacity - at >= maxVarIntLength else { return nil }
        at += varInt(stamp, to: target + at)
        guard let v = rawValue(value, target + at, capacity - at) else { return nil }
        return at + v
    }

    /// Writes a length-prefixed run of bytes (as ``BinaryWriter/writeBytes(_:)-(UnsafeRawBufferPointer)``)
    /// if it fits in `capacity`.
    @inline(__always)
    public static func bytes(_ raw: UnsafeRawBufferPointer, to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        guard capacity >= raw.count + maxVarIntLength else { return nil }
        let prefix = varUInt(UInt64(raw.count), to: target)
        if raw.count > 0 { (target + prefix).copyMemory(from: raw.baseAddress!, byteCount: raw.count) }
        return prefix + raw.count
    }
}

extension Bool: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        guard capacity >= 1 else { return nil }
        target.storeBytes(of: self ? 1 : 0, as: UInt8.self)
        return 1
    }
}

extension Int: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        capacity >= RawEncoding.maxVarIntLength ? RawEncoding.varInt(Int64(self), to: target) : nil
    }
}

extension Int64: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        capacity >= RawEncoding.maxVarIntLength ? RawEncoding.varInt(self, to: target) : nil
    }
}

extension UInt64: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        capacity >= RawEncoding.maxVarIntLength ? RawEncoding.varUInt(self, to: target) : nil
    }
}

extension Double: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        capacity >= 8 ? RawEncoding.fixed(bitPattern, to: target) : nil
    }
}

extension String: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        // Borrowed where the string is contiguous UTF-8 (native strings are).
        withUTF8Bytes { RawEncoding.bytes($0, to: target, capacity: capacity) }
    }
}
