/// How values of one type are written to and read from a checkpoint: the ``StateCodable``
/// conformance of the type, found once when a state, key or timer table is snapshotted
/// or restored.
///
/// Operators are generic over user types that need not be `StateCodable`; such a type
/// has no serializer, and a checkpoint of its state fails with a message naming the type
/// instead of silently losing it.
public struct StateSerializer<Value>: Sendable {
    /// Appends a value.
    public let encode: @Sendable (Value, inout BinaryWriter) -> Void
    /// Appends the value stored at an address, without copying it out first: entries of
    /// frozen tables are encoded where they lie (timers, grouped by key group as pointers
    /// into their tables, rather than copied into per-group arrays).
    public let encodeInPlace: @Sendable (UnsafePointer<Value>, inout BinaryWriter) -> Void
    /// Reads a value.
    public let decode: @Sendable (inout BinaryReader) throws -> Value
    /// Writes the value stored at an address straight into memory, when the type is
    /// ``RawStateEncodable``: the target and its free capacity in, the length written out
    /// (nil when it does not fit).
    public let encodeRawInPlace: (@Sendable (UnsafePointer<Value>, UnsafeMutableRawPointer, Int) -> Int?)?

    /// A serializer from two functions.
    public init(encode: @escaping @Sendable (Value, inout BinaryWriter) -> Void,
                decode: @escaping @Sendable (inout BinaryReader) throws -> Value) {
        self.encode = encode
        self.encodeInPlace = { pointer, writer in encode(pointer.pointee, &writer) }
        self.decode = decode
        self.encodeRawInPlace = nil
    }

    private init(encode: @escaping @Sendable (Value, inout BinaryWriter) -> Void,
                 encodeInPlace: @escaping @Sendable (UnsafePointer<Value>, inout BinaryWriter) -> Void,
                 decode: @escaping @Sendable (inout BinaryReader) throws -> Value,
                 encodeRawInPlace: (@Sendable (UnsafePointer<Value>, UnsafeMutableRawPointer, Int) -> Int?)? = nil) {
        self.encode = encode
        self.encodeInPlace = encodeInPlace
        self.decode = decode
        self.encodeRawInPlace = encodeRawInPlace
    }

    /// The serializer of `Value` if it conforms to ``StateCodable``, else nil.
    ///
    /// The conformance is looked up once, here; the closures then call it directly (casting
    /// each value to an existential looked the conformance up again for every entry, which
    /// showed in checkpoint profiles).
    public static var ofCodable: StateSerializer<Value>? {
        guard let codable = Value.self as? any StateCodable.Type else { return nil }
        return serializer(through: codable)
    }

    private static func serializer<C: StateCodable>(through type: C.Type) -> StateSerializer<Value> {
        guard Value.self == C.self else {
            // A subclass of a codable class: cast each value.
            return StateSerializer(
                encode: { value, writer in (value as! C).encode(to: &writer) },
                decode: { reader in try C(from: &reader) as! Value })
        }
        // The same type under two names: reinterpret, no runtime cast.
        return StateSerializer(
            encode: { value, writer in unsafeBitCast(value, to: C.self).encode(to: &writer) },
            encodeInPlace: { pointer, writer in
                UnsafeRawPointer(pointer).assumingMemoryBound(to: C.self).pointee.encode(to: &writer)
            },
            decode: { reader in unsafeBitCast(try C(from: &reader), to: Value.self) },
            encodeRawInPlace: (C.self as? any RawStateEncodable.Type).map { rawEncoder(through: $0) })
    }

    /// Writes values of `Value`, which is `R`, straight into memory.
    private static func rawEncoder<R: RawStateEncodable>(through type: R.Type)
        -> @Sendable (UnsafePointer<Value>, UnsafeMutableRawPointer, Int) -> Int? {
        { pointer, target, capacity in
            UnsafeRawPointer(pointer).assumingMemoryBound(to: R.self).pointee.encodeRaw(to: target, capacity: capacity)
        }
    }
}

/// A state, key or timer cannot be snapshotted because its type has no ``StateCodable``
/// conformance.
public struct StateNotSerializable: Error, CustomStringConvertible {
    /// What could not be written (e.g. `state 'seen'`).
    public var what: String
    /// The type lacking a conformance.
    public var type: String

    public var description: String { "\(what) holds values of type \(type), which does not conform to StateCodable" }
}
