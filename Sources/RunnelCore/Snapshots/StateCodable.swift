/// A value that can be written to and read back from a checkpoint.
///
/// Keyed state values, keys, window accumulators and timer namespaces are snapshotted
/// through this protocol (Flink's `TypeSerializer`). Encodings must be deterministic in
/// content (decoding gives an equal value) but need not be canonical. Conformances are
/// provided for the standard scalar types, `String`, optionals, arrays, sets, dictionaries
/// and the engine's own types; a custom accumulator conforms by writing its fields in a
/// fixed order:
///
/// ```swift
/// extension Averages: StateCodable {
///     func encode(to writer: inout BinaryWriter) { writer.write(sum); writer.write(count) }
///     init(from reader: inout BinaryReader) throws { sum = try reader.read(); count = try reader.read() }
/// }
/// ```
/// (`SendableMetatype`: serializers made from a conformance are shared with the checkpoint
/// writer's thread.)
public protocol StateCodable: SendableMetatype {
    /// Appends the value's encoding.
    func encode(to writer: inout BinaryWriter)
    /// Reads a value written by ``encode(to:)``.
    init(from reader: inout BinaryReader) throws
}

extension Bool: StateCodable {
    public func encode(to writer: inout BinaryWriter) { writer.writeByte(self ? 1 : 0) }
    public init(from reader: inout BinaryReader) throws {
        switch try reader.readByte() {
        case 0: self = false
        case 1: self = true
        case let other: throw SnapshotDecodingError.malformed("boolean byte \(other)", offset: reader.offset - 1)
        }
    }
}

extension Int: StateCodable {
    public func encode(to writer: inout BinaryWriter) { writer.writeVarInt(Int64(self)) }
    public init(from reader: inout BinaryReader) throws {
        let value = try reader.readVarInt()
        guard let fitted = Int(exactly: value) else {
            throw SnapshotDecodingError.malformed("integer \(value) does not fit Int", offset: reader.offset)
        }
        self = fitted
    }
}

extension Int64: StateCodable {
    public func encode(to writer: inout BinaryWriter) { writer.writeVarInt(self) }
    public init(from reader: inout BinaryReader) throws { self = try reader.readVarInt() }
}

extension UInt64: StateCodable {
    public func encode(to writer: inout BinaryWriter) { writer.writeVarUInt(self) }
    public init(from reader: inout BinaryReader) throws { self = try reader.readVarUInt() }
}

extension Double: StateCodable {
    public func encode(to writer: inout BinaryWriter) { writer.writeDouble(self) }
    public init(from reader: inout BinaryReader) throws { self = try reader.readDouble() }
}

extension String: StateCodable {
    public func encode(to writer: inout BinaryWriter) { writer.writeString(self) }
    public init(from reader: inout BinaryReader) throws { self = try reader.readString() }
}

extension Optional: StateCodable where Wrapped: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        switch self {
        case .none: writer.writeByte(0)
        case .some(let value):
            writer.writeByte(1)
            value.encode(to: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws {
        switch try reader.readByte() {
        case 0: self = .none
        case 1: self = .some(try Wrapped(from: &reader))
        case let other: throw SnapshotDecodingError.malformed("optional tag \(other)", offset: reader.offset - 1)
        }
    }
}

extension Array: StateCodable where Element: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        // Elements are encoded where they lie: `for element in self` copies each one out,
        // retaining (and then releasing) everything it holds — for window state, every
        // session's accumulator and set, once per checkpoint, and on objects the tasks are
        // touching at the same time.
        withUnsafeBufferPointer { elements in
            for i in elements.indices { elements[i].encode(to: &writer) }
        }
    }

    public init(from reader: inout BinaryReader) throws {
        let count = try reader.readCount()
        self = []
        reserveCapacity(count)
        for _ in 0..<count { append(try Element(from: &reader)) }
    }
}

extension ContiguousArray: StateCodable where Element: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        withUnsafeBufferPointer { elements in
            for i in elements.indices { elements[i].encode(to: &writer) }
        }
    }
    public init(from reader: inout BinaryReader) throws { self = ContiguousArray(try [Element](from: &reader)) }
}

extension Set: StateCodable where Element: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        for element in self { element.encode(to: &writer) }
    }

    public init(from reader: inout BinaryReader) throws {
        let count = try reader.readCount()
        self = Set(minimumCapacity: count)
        for _ in 0..<count { insert(try Element(from: &reader)) }
    }
}

extension Dictionary: StateCodable where Key: StateCodable, Value: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        for (key, value) in self {
            key.encode(to: &writer)
            value.encode(to: &writer)
        }
    }

    public init(from reader: inout BinaryReader) throws {
        let count = try reader.readCount(minimumSize: 2)
        self = Dictionary(minimumCapacity: count)
        for _ in 0..<count {
            let key = try Key(from: &reader)
            self[key] = try Value(from: &reader)
        }
    }
}

extension TimeWindow: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarInt(start)
        writer.writeVarInt(end)
    }

    public init(from reader: inout BinaryReader) throws {
        self.init(start: try reader.readVarInt(), end: try reader.readVarInt())
    }
}

extension NoNamespace: StateCodable {
    public func encode(to writer: inout BinaryWriter) {}
    public init(from reader: inout BinaryReader) throws { self.init() }
}
