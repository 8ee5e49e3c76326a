/// Appends values to a byte buffer in Runnel's snapshot encoding: little-endian fixed-width
/// integers and floats, LEB128 variable-length integers (zigzag for signed ones), and
/// length-prefixed byte strings.
///
/// The encoding is what checkpoint files hold (see `docs/CHECKPOINTS.md`); it is written
/// here rather than with `Codable` because snapshots of millions of keys must encode in
/// well under a second, and a keyed `Encoder` spends most of its time on keys and
/// containers. Types opt in through ``StateCodable``.
public struct BinaryWriter: Sendable {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// Creates an empty writer with room for `capacity` bytes.
    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A writer that appends to `buffer`'s storage, emptied (a recycled buffer: see
    /// ``SnapshotBuffers``).
    ///
    /// `buffer` is consumed: were the caller's reference still alive, the storage would not
    /// be uniquely referenced, and emptying it would allocate a fresh buffer of the same
    /// capacity — every page faulted in again, which is what recycling is for avoiding.
    public init(reusing buffer: consuming [UInt8]) {
        bytes = consume buffer
        bytes.removeAll(keepingCapacity: true)
    }

    /// Makes room for `capacity` bytes in all (no effect when there is room already).
    /// - Complexity: O(count) when it reallocates, else O(1).
    public mutating func reserveCapacity(_ capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// The number of bytes written.
    public var count: Int { bytes.count }

    /// Starts a length-prefixed run whose length is not known yet, written in place rather
    /// than in a separate buffer that is then copied: reserves a 5-byte varint, filled by
    /// ``endLengthPrefixed(_:)``. The padded varint (continuation bits on leading zero
    /// groups) reads like any other; it allows runs of up to 32 GiB.
    public mutating func beginLengthPrefixed() -> Int {
        let at = bytes.count
        bytes.append(contentsOf: [0x80, 0x80, 0x80, 0x80, 0x00] as [UInt8])
        return at
    }

    /// Fills in the length of the run started at `at` (returned by ``beginLengthPrefixed()``).
    public mutating func endLengthPrefixed(_ at: Int) {
        let length = UInt64(bytes.count - at - 5)
        precondition(length < 1 << 35, "length-prefixed run of \(length) bytes exceeds 32 GiB")
        for i in 0..<4 { bytes[at + i] = UInt8(truncatingIfNeeded: length >> UInt64(7 * i)) & 0x7F | 0x80 }
        bytes[at + 4] = UInt8(truncatingIfNeeded: length >> 28)
    }

    /// Appends one byte. (Named apart from ``write(_:)`` so that an integer literal never
    /// silently becomes a varint `Int`, or the other way round.)
    public mutating func writeByte(_ byte: UInt8) {
        bytes.append(byte)
    }

    /// Appends `value` as 8 little-endian bytes.
    public mutating func writeFixed(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends `value` as 4 little-endian bytes.
    public mutating func writeFixed(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Appends `value` as an unsigned LEB128 varint (1 to 10 bytes).
    public mutating func writeVarUInt(_ value: UInt64) {
        if value < 0x80 {
            // One byte: lengths of ids and small counts, the common case.
            bytes.append(UInt8(truncatingIfNeeded: value))
            return
        }
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Appends `value` zigzag-encoded as a varint (small magnitudes take few bytes).
    public mutating func writeVarInt(_ value: Int64) {
        writeVarUInt(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    /// Appends a double as its 8-byte IEEE 754 bit pattern.
    public mutating func writeDouble(_ value: Double) {
        writeFixed(value.bitPattern)
    }

    /// Appends bytes already in the snapshot encoding (no length prefix): what
    /// ``RawStateEncodable`` values wrote into a scratch buffer.
    public mutating func appendEncoded(_ raw: UnsafeRawBufferPointer) {
        bytes.append(contentsOf: raw)
    }

    /// Appends a length-prefixed run of bytes.
    public mutating func writeBytes(_ raw: UnsafeRawBufferPointer) {
        writeVarUInt(UInt64(raw.count))
        bytes.append(contentsOf: raw)
    }

    /// Appends a length-prefixed run of bytes.
    public mutating func writeBytes(_ raw: [UInt8]) {
        raw.withUnsafeBytes { writeBytes($0) }
    }

    /// Appends a string as length-prefixed UTF-8.
    public mutating func writeString(_ value: String) {
        // Borrowed, not copied (a copy would retain the string's storage).
        value.withUTF8Bytes { writeBytes($0) }
    }

    /// Appends a value that knows its own encoding.
    public mutating func write<T: StateCodable>(_ value: T) {
        value.encode(to: &self)
    }
}
