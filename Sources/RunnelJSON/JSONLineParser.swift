import CSimdjson

/// Parses one JSON object per call (typically one NDJSON line), extracting only
/// the top-level fields named by a `JSONKeySet`: a single validating forward pass
/// in the C shim handles the common case, and simdjson's On Demand API decides
/// every line the fast pass is not certain about (so every error comes from simdjson).
///
/// The object's fields are walked once; wanted fields are copied into slots and
/// every other value is still fully validated, so a line is either a
/// well-formed object or reported as malformed. The parser reuses its buffers,
/// so steady-state parsing performs no allocation.
///
/// Not thread-safe and deliberately not `Sendable`: keep one parser per thread.
///
/// ## Padding
/// simdjson reads input in 64-byte blocks and may read past the end of the
/// line. Every `line` given to `parse` must therefore be followed by at least
/// `JSONLineParser.requiredPadding` bytes of *readable* memory (never
/// written, contents irrelevant). Lines inside a `PaddedBuffer`, including
/// those handed out by `NDJSONFileReader`, always satisfy this; for other
/// memory, copy the line into a `PaddedBuffer` first.
public final class JSONLineParser {
    /// Readable bytes required after the end of every line passed to `parse`.
    public static let requiredPadding = Int(RUNNEL_JSON_PADDING)

    private let handle: OpaquePointer
    private let slots: UnsafeMutablePointer<runnel_json_slot>
    /// Number of slots holding results of the last parse; 0 unless it returned `.ok`.
    private var filled = 0

    /// Creates a parser. Its internal buffers are sized lazily by the first
    /// (and then largest) line parsed.
    public init() {
        guard let handle = runnel_json_parser_create() else {
            fatalError("JSONLineParser: out of memory")
        }
        self.handle = handle
        slots = .allocate(capacity: JSONKeySet.maximumCount)
        slots.initialize(repeating: runnel_json_slot(), count: JSONKeySet.maximumCount)
    }

    deinit {
        slots.deallocate()
        runnel_json_parser_destroy(handle)
    }

    /// Parses `line` as exactly one JSON document and, if it is an object,
    /// extracts the fields in `keys` into slots read back with `self[i]`.
    ///
    /// - Parameters:
    ///   - line: The document's bytes. `requiredPadding` readable bytes must
    ///     follow `line.baseAddress + line.count` (see the type's notes).
    ///     Leading and trailing JSON whitespace is allowed; anything else
    ///     after the object makes the line malformed.
    ///   - keys: The wanted top-level keys; slot `i` corresponds to `keys.keys[i]`.
    ///     When a key occurs more than once, the last occurrence wins.
    /// - Returns: `.ok` when the slots are valid; otherwise every slot reads `.missing`.
    public func parse(_ line: UnsafeRawBufferPointer, keys: JSONKeySet) -> JSONParseResult {
        filled = 0
        // An empty buffer may have a nil base address; any readable address will do then.
        let base = line.baseAddress?.assumingMemoryBound(to: CChar.self)
        let status: runnel_json_status
        if let base {
            status = runnel_json_extract(handle, base, line.count, keys.handle, slots)
        } else {
            status = withUnsafeTemporaryAllocation(of: CChar.self, capacity: Self.requiredPadding) { empty in
                empty.initialize(repeating: 0)
                return runnel_json_extract(handle, empty.baseAddress, 0, keys.handle, slots)
            }
        }
        switch Int(status) {
        case RUNNEL_JSON_OK:
            filled = keys.count
            return .ok
        case RUNNEL_JSON_NOT_OBJECT:
            return .notAnObject
        default:
            return .malformed(message: String(cString: runnel_json_parser_last_error(handle)))
        }
    }

    /// The value of slot `index` (the position of the key in the `JSONKeySet`
    /// used by the last `parse`). Reads `.missing` after a parse that did not
    /// return `.ok`, and for indices past that key set's count, so a failed
    /// line can never expose stale slots. String bytes stay valid until the
    /// next `parse`. Traps if `index` is negative or not below `JSONKeySet.maximumCount`.
    @inline(__always)
    public subscript(index: Int) -> JSONFieldValue {
        precondition(index >= 0 && index < JSONKeySet.maximumCount, "JSONLineParser slot index out of range")
        guard index < filled else { return .missing }
        let slot = slots[index]
        switch Int(slot.kind) {
        case RUNNEL_JSON_KIND_NULL:
            return .null
        case RUNNEL_JSON_KIND_STRING:
            return .string(UnsafeRawBufferPointer(start: slot.str, count: slot.str_len))
        case RUNNEL_JSON_KIND_INTEGER:
            return .integer(slot.i)
        case RUNNEL_JSON_KIND_NUMBER:
            return .number(slot.d)
        case RUNNEL_JSON_KIND_BOOL:
            return .bool(slot.b != 0)
        case RUNNEL_JSON_KIND_OTHER:
            return .other
        default:
            return .missing
        }
    }
}

/// The parser owns mutable C state used without locking; sharing it across
/// threads would be a data race, so sending it is explicitly unavailable.
@available(*, unavailable)
extension JSONLineParser: Sendable {}
