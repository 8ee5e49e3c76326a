/// The permessage-deflate extension (RFC 7692) as this server agrees to it: messages
/// compressed one by one with DEFLATE, a compressed message's first frame marked RSV1.
///
/// The server always answers with `server_no_context_takeover` and
/// `client_no_context_takeover` (RFC 7692 §7.1.1 lets it add both to any offer it accepts):
/// - with no context carried from one message to the next on the server's side, a message
///   compresses the same for every client, so the live feed compresses each update once
///   and writes the same bytes to every subscriber that negotiated the extension;
/// - with none on the client's side, the server keeps no inflate window per connection
///   between messages (a 32 KiB window each would be most of a subscriber's memory).
public struct PerMessageDeflate: Sendable, Equatable {
    /// The largest LZ77 window the server compresses with, as a power of two (9...15):
    /// 15 unless the client asked for less with `server_max_window_bits`.
    public var serverMaxWindowBits: Int

    /// Messages smaller than this go out uncompressed (RSV1 clear), which the extension
    /// allows per message: a few bytes gain nothing from DEFLATE's overhead.
    public static let minimumCompressedSize = 64

    /// Creates the extension's parameters.
    public init(serverMaxWindowBits: Int = 15) {
        precondition((9...15).contains(serverMaxWindowBits), "zlib writes raw DEFLATE with 9...15 window bits")
        self.serverMaxWindowBits = serverMaxWindowBits
    }

    /// The extension's value for the `Sec-WebSocket-Extensions` response header.
    public var responseValue: String {
        var value = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        if serverMaxWindowBits != 15 { value += "; server_max_window_bits=\(serverMaxWindowBits)" }
        return value
    }

    /// Accepts the first permessage-deflate offer among the client's
    /// `Sec-WebSocket-Extensions` header values that this server can honour, or nil.
    ///
    /// An offer is declined (and the next one tried) when it has an unknown or repeated
    /// parameter, a value where none belongs or a bad one, or asks the server for an 8-bit
    /// window (zlib cannot write raw DEFLATE within 256 bytes). `client_max_window_bits`
    /// needs no answer: the server inflates with the largest window, which reads data
    /// written with any smaller one.
    public static func negotiate(offers headerValues: [String]) -> PerMessageDeflate? {
        for offer in headerValues.flatMap(Self.extensions) where offer.name == "permessage-deflate" {
            if let accepted = accept(offer.parameters) { return accepted }
        }
        return nil
    }

    private static func accept(_ parameters: [(name: String, value: String?)]) -> PerMessageDeflate? {
        var seen: Set<String> = []
        var windowBits = 15
        for (name, value) in parameters {
            guard seen.insert(name).inserted else { return nil }
            switch name {
            case "server_no_context_takeover", "client_no_context_takeover":
                guard value == nil else { return nil }
            case "server_max_window_bits":
                guard let value, let bits = windowBitsValue(value), bits >= 9 else { return nil }
                windowBits = bits
            case "client_max_window_bits":
                if let value { guard windowBitsValue(value) != nil else { return nil } }
            default:
                return nil
            }
        }
        return PerMessageDeflate(serverMaxWindowBits: windowBits)
    }

    /// 8...15 written as 1DIGIT / 2DIGIT without a leading zero (RFC 7692 §7.1.2).
    private static func windowBitsValue(_ text: String) -> Int? {
        guard !text.hasPrefix("0"), text.allSatisfy(\.isASCII), let bits = Int(text), (8...15).contains(bits) else { return nil }
        return bits
    }

    /// The extensions listed in one header value: `name; param; param=value, name2 …`
    /// (RFC 6455 §9.1; a value may be a quoted string).
    static func extensions(_ header: String) -> [(name: String, parameters: [(name: String, value: String?)])] {
        var result: [(name: String, parameters: [(name: String, value: String?)])] = []
        for element in splitOutsideQuotes(header, on: ",") {
            let parts = splitOutsideQuotes(element, on: ";").map { $0.trimmingWhitespace() }
            guard let name = parts.first, !name.isEmpty else { continue }
            var parameters: [(name: String, value: String?)] = []
            for part in parts.dropFirst() where !part.isEmpty {
                if let equals = part.firstIndex(of: "=") {
                    var value = part[part.index(after: equals)...].trimmingWhitespace()
                    if value.count >= 2, value.first == "\"", value.last == "\"" { value = String(value.dropFirst().dropLast()) }
                    parameters.append((part[..<equals].trimmingWhitespace().lowercased(), value))
                } else {
                    parameters.append((part.lowercased(), nil))
                }
            }
            result.append((name.lowercased(), parameters))
        }
        return result
    }

    private static func splitOutsideQuotes(_ text: String, on separator: Character) -> [String] {
        var parts: [String] = []
        var current = ""
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if character == separator && !quoted {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }
}
