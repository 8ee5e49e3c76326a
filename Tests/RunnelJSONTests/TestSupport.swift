import Foundation
import RunnelJSON

/// Deterministic random numbers (SplitMix64) so that failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A file in the temporary directory that is removed when the value is released.
final class TemporaryFile {
    let path: String

    init(contents: [UInt8]) throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("runnel-json-\(UUID().uuidString).ndjson").path
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    convenience init(_ text: String) throws {
        try self.init(contents: Array(text.utf8))
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A file of random lines (see `randomContent`), with the lines a reader must yield.
func randomFile(lines: Int, maxLength: Int, finalNewline: Bool,
                using random: inout SeededGenerator) throws -> (TemporaryFile, [ExpectedLine]) {
    let content = randomContent(lines: lines, maxLength: maxLength, finalNewline: finalNewline, using: &random)
    return (try TemporaryFile(contents: content), ExpectedLine.lines(of: content))
}

extension JSONLineParser {
    /// Parses a Swift string by copying it into padded memory (tests only).
    func parse(_ text: String, keys: JSONKeySet) -> JSONParseResult {
        let buffer = PaddedBuffer(text)
        return parse(buffer.bytes, keys: keys)
    }
}

extension JSONFieldValue {
    /// A comparable rendering of a slot, so tests can use `#expect(a == b)`.
    var summary: String {
        switch self {
        case .missing: return "missing"
        case .null: return "null"
        case .string: return "string(\(stringValue!))"
        case .integer(let value): return "integer(\(value))"
        case .number(let value): return "number(\(value))"
        case .bool(let value): return "bool(\(value))"
        case .other: return "other"
        }
    }
}
