/// Checks UTF-8 (RFC 3629) as it arrives, a piece at a time, so that a text message split
/// into fragments — or a frame still arriving — is refused at its first impossible byte
/// rather than after the whole message (RFC 6455 §8.1: fail fast).
///
/// Refuses overlong forms, surrogates (U+D800–U+DFFF) and anything above U+10FFFF.
/// Written here rather than taken from a library: the standard library validates whole
/// buffers only, and none of the project's dependencies validates incrementally.
public struct UTF8Validator: Sendable, Equatable {
    /// Continuation bytes still expected for the current character.
    private var needed = 0
    /// The range the next byte must be in (narrower than 0x80...0xBF right after some
    /// lead bytes, which is how overlong forms and surrogates are excluded).
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// A validator at the start of a text.
    public init() {}

    /// Whether the text so far ends between characters (a message may end here).
    public var isAtCharacterBoundary: Bool { needed == 0 }

    /// Takes more bytes; false if they cannot continue valid UTF-8 (the validator is then
    /// not to be used again).
    public mutating func feed(_ bytes: some Collection<UInt8>) -> Bool {
        let fast = bytes.withContiguousStorageIfAvailable { feed(buffer: UnsafeRawBufferPointer($0)) }
        if let fast { return fast }
        return Array(bytes).withUnsafeBytes { feed(buffer: $0) }
    }

    private mutating func feed(buffer: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        let count = buffer.count
        while i < count {
            if needed == 0 {
                // ASCII runs eight bytes at a time.
                while i + 8 <= count && buffer.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
                guard i < count else { break }
                let byte = buffer[i]
                i += 1
                switch byte {
                case 0x00...0x7F: continue
                case 0xC2...0xDF: needed = 1; lower = 0x80; upper = 0xBF
                case 0xE0: needed = 2; lower = 0xA0; upper = 0xBF
                case 0xE1...0xEC, 0xEE...0xEF: needed = 2; lower = 0x80; upper = 0xBF
                case 0xED: needed = 2; lower = 0x80; upper = 0x9F
                case 0xF0: needed = 3; lower = 0x90; upper = 0xBF
                case 0xF1...0xF3: needed = 3; lower = 0x80; upper = 0xBF
                case 0xF4: needed = 3; lower = 0x80; upper = 0x8F
                default: return false
                }
            } else {
                let byte = buffer[i]
                i += 1
                guard byte >= lower && byte <= upper else { return false }
                needed -= 1
                lower = 0x80
                upper = 0xBF
            }
        }
        return true
    }
}
