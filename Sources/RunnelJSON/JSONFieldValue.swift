/// The value of one extracted top-level field, as a non-owning view.
///
/// Strings are exposed as raw UTF-8 bytes that point into the parser's own
/// string buffer, so reading a field never allocates; call `stringValue` (or
/// `String(decoding:as:)`) only when an owned `String` is really needed. Any
/// pointer obtained here is valid until the next `parse` on the same
/// `JSONLineParser`, or its deinitialization.
public enum JSONFieldValue {
    /// The key did not occur in the object.
    case missing
    /// The value was the literal `null`.
    case null
    /// A string: its unescaped UTF-8 bytes (already validated as UTF-8).
    case string(UnsafeRawBufferPointer)
    /// A number written as an integer literal (no fraction or exponent) that fits in `Int64`.
    case integer(Int64)
    /// Any other number (fractions, exponents, integers beyond `Int64`), as the nearest `Double`.
    case number(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// An object or an array; it was validated but is not extracted.
    case other

    /// True for `.missing` and `.null`: the common "absent" test for optional fields.
    @inlinable
    public var isMissingOrNull: Bool {
        switch self {
        case .missing, .null: return true
        default: return false
        }
    }

    /// The string's bytes, or nil if the value is not a string.
    @inlinable
    public var stringBytes: UnsafeRawBufferPointer? {
        if case .string(let bytes) = self { return bytes }
        return nil
    }

    /// An owned copy of the string, or nil if the value is not a string. Allocates
    /// for strings longer than the small-string limit (15 UTF-8 bytes).
    @inlinable
    public var stringValue: String? {
        if case .string(let bytes) = self { return JSONBytes.string(bytes) }
        return nil
    }

    /// The value as a `Double` for either kind of number, or nil otherwise.
    @inlinable
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: return nil
        }
    }

    /// The value if it is an integer literal that fits `Int64`, or nil otherwise.
    @inlinable
    public var int64Value: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The value if it is a boolean, or nil otherwise.
    @inlinable
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// True if the value is a string whose bytes equal `literal`; compares bytes
    /// in place so that fixed vocabularies can be matched without allocating.
    @inlinable
    public func stringEquals(_ literal: StaticString) -> Bool {
        guard case .string(let bytes) = self else { return false }
        return JSONBytes.equal(bytes, literal)
    }
}
