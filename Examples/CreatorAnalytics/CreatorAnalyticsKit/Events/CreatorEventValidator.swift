#if canImport(Glibc)
import Glibc
#endif
import RunnelJSON

/// Checks an event line against ``CreatorEventSchema``: required properties present and
/// not null, and every property the schema lists for the event (common ones and its kind's
/// own) of the right JSON type, one of the allowed values, in range and in format.
///
/// This is the typed level of validation, used by the collector of `serve` after
/// ``CreatorEventDecoder`` (which already rejects lines that are not JSON objects and
/// checks the required properties' presence). Properties the schema does not list for the
/// event are not looked at: extra fields are allowed.
///
/// One validator per thread (it owns a parser); not `Sendable`.
public final class CreatorEventValidator {
    /// Why a line breaks the schema.
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        /// What is wrong.
        public enum Problem: Sendable, Hashable {
            case notAnObject
            case missing
            case wrongType(expected: CreatorEventSchema.ValueType)
            case notAllowed(value: String)
            case outOfRange
            case badFormat(CreatorEventSchema.Format)
        }

        /// The offending property.
        public var property: String
        /// What is wrong with it.
        public var problem: Problem

        /// A stable name for counting violations by kind: `missing:post_id`,
        /// `type:amount`, `value:platform`, `range:scroll_depth_percentage`, `format:event_id`.
        public var category: String {
            switch problem {
            case .notAnObject: "malformed"
            case .missing: "missing:\(property)"
            case .wrongType: "type:\(property)"
            case .notAllowed: "value:\(property)"
            case .outOfRange: "range:\(property)"
            case .badFormat: "format:\(property)"
            }
        }

        /// A short explanation for the client, e.g. `platform must be one of web, mobile_ios,
        /// mobile_android (got "tv")`.
        public var description: String {
            switch problem {
            case .notAnObject:
                return "not a JSON object"
            case .missing:
                return "missing required field \(property)"
            case .wrongType(let expected):
                return "\(property) must be \(expected == .string ? "a string" : expected == .number ? "a number" : "a boolean")"
            case .notAllowed(let value):
                let allowed = CreatorEventSchema.property(named: property)?.allowed ?? []
                return "\(property) must be one of \(allowed.joined(separator: ", ")) (got \"\(value)\")"
            case .outOfRange:
                let p = CreatorEventSchema.property(named: property)
                let low = p?.minimum.map { Self.number($0) } ?? "-∞", high = p?.maximum.map { Self.number($0) } ?? "∞"
                return "\(property) must be between \(low) and \(high)"
            case .badFormat(let format):
                let what: String
                switch format {
                case .uuid: what = "a UUID (8-4-4-4-12 hexadecimal digits)"
                case .dateTime: what = "an ISO-8601 UTC time such as 2026-02-22T23:59:58.183Z"
                case .ipAddress: what = "an IPv4 or IPv6 address"
                case .email: what = "an email address"
                case .currencyCode: what = "a three-letter currency code such as USD"
                }
                return "\(property) must be \(what)"
            }
        }

        private static func number(_ x: Double) -> String {
            x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x)
        }
    }

    /// Every property any kind lists, compiled once; ``slots`` maps names to their index.
    private static let keys: [String] = {
        var names: [String] = []
        for property in CreatorEventSchema.common + CreatorEventSchema.kinds.flatMap(\.properties)
        where !names.contains(property.name) { names.append(property.name) }
        for kind in CreatorEventSchema.kinds {
            for name in kind.required where !names.contains(name) { names.append(name) }
        }
        return names
    }()
    private static let keySet = JSONKeySet(keys: keys)
    private static let slots: [String: Int] = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })

    /// A property compiled for checking: its parser slot, and its allowed values as bytes.
    /// A class, so that walking a plan retains one reference per property, not its fields.
    private final class Check: Sendable {
        let slot: Int
        let name: String
        let type: CreatorEventSchema.ValueType
        let format: CreatorEventSchema.Format?
        let minimum: Double
        let maximum: Double
        let allowed: [[UInt8]]?

        init(_ property: CreatorEventSchema.Property) {
            slot = CreatorEventValidator.slots[property.name]!
            name = property.name
            type = property.type
            format = property.format
            minimum = property.minimum ?? -.infinity
            maximum = property.maximum ?? .infinity
            allowed = property.allowed?.map { Array($0.utf8) }
        }
    }

    /// What to check of one kind of event: its required properties' slots and its own.
    private struct KindPlan: Sendable {
        var required: [(slot: Int, name: String)]
        var checks: [Check]
    }

    private static let commonRequiredSlots = CreatorEventSchema.commonRequired.map { (slot: slots[$0]!, name: $0) }
    private static let commonChecks = CreatorEventSchema.common.map(Check.init)
    private static let eventNameSlot = slots["event_name"]!
    /// Per kind, in ``CreatorEventSchema/kinds`` order.
    private static let kindPlans = CreatorEventSchema.kinds.map { kind in
        KindPlan(required: kind.required.map { (slot: slots[$0]!, name: $0) }, checks: kind.properties.map(Check.init))
    }

    private let parser = JSONLineParser()
    private let scratch = PaddedBuffer(capacity: 1024)

    /// Creates a validator.
    public init() {}

    /// The first violation in `line` (common properties first, in table order, then the
    /// kind's required and own properties), or nil when it follows the schema. A line that is
    /// not a JSON object, or whose `event_name` is unknown, is reported as such.
    public func validate(string line: String) -> Violation? {
        scratch.removeAll()
        scratch.append(line)
        return validate(scratch.bytes)
    }

    /// As ``validate(string:)``, on bytes followed by `JSONLineParser.requiredPadding`
    /// readable bytes.
    public func validate(_ line: UnsafeRawBufferPointer) -> Violation? {
        guard case .ok = parser.parse(line, keys: Self.keySet) else { return Violation(property: "", problem: .notAnObject) }
        for (slot, name) in Self.commonRequiredSlots where parser[slot].isMissingOrNull {
            return Violation(property: name, problem: .missing)
        }
        for check in Self.commonChecks {
            if let violation = self.check(check) { return violation }
        }
        guard let nameBytes = parser[Self.eventNameSlot].stringBytes, let name = CreatorEventName(wireName: nameBytes),
              let index = CreatorEventSchema.kinds.firstIndex(where: { $0.name == name }) else {
            return Violation(property: "event_name", problem: .notAllowed(value: Self.excerpt(parser[Self.eventNameSlot])))
        }
        let plan = Self.kindPlans[index]
        for (slot, required) in plan.required where parser[slot].isMissingOrNull {
            return Violation(property: required, problem: .missing)
        }
        for check in plan.checks {
            if let violation = self.check(check) { return violation }
        }
        return nil
    }

    /// The violation of one property, if present and not null.
    private func check(_ check: Check) -> Violation? {
        let field = parser[check.slot]
        func violation(_ problem: Violation.Problem) -> Violation { Violation(property: check.name, problem: problem) }
        switch (check.type, field) {
        case (_, .missing), (_, .null):
            return nil
        case (.string, .string(let bytes)):
            if let allowed = check.allowed, !allowed.contains(where: { $0.elementsEqual(bytes) }) {
                return violation(.notAllowed(value: Self.excerpt(field)))
            }
            if let format = check.format, !Self.matches(bytes, format) { return violation(.badFormat(format)) }
            return nil
        case (.number, .integer(let n)):
            return inRange(Double(n), check) ? nil : violation(.outOfRange)
        case (.number, .number(let x)):
            return inRange(x, check) ? nil : violation(.outOfRange)
        case (.boolean, .bool):
            return nil
        default:
            return violation(.wrongType(expected: check.type))
        }
    }

    private func inRange(_ x: Double, _ check: Check) -> Bool {
        x.isFinite && x >= check.minimum && x <= check.maximum
    }

    /// Whether a string's UTF-8 bytes have `format`.
    static func matches(_ bytes: UnsafeRawBufferPointer, _ format: CreatorEventSchema.Format) -> Bool {
        switch format {
        case .uuid:
            guard bytes.count == 36 else { return false }
            for (i, b) in bytes.enumerated() {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard b == UInt8(ascii: "-") else { return false }
                } else {
                    guard (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x66) else { return false }
                }
            }
            return true
        case .dateTime:
            return ISO8601Timestamp.parseMillis(bytes) != nil
        case .ipAddress:
            // inet_pton wants a NUL-terminated string; an address is at most 45 characters.
            guard bytes.count <= 45 else { return false }
            var text = [CChar](repeating: 0, count: 48)
            for (i, b) in bytes.enumerated() { text[i] = CChar(bitPattern: b) }
            var address = in6_addr()
            return inet_pton(AF_INET, text, &address) == 1 || inet_pton(AF_INET6, text, &address) == 1
        case .email:
            guard let at = bytes.firstIndex(of: UInt8(ascii: "@")) else { return false }
            return at > 0 && at < bytes.count - 1 && bytes.lastIndex(of: UInt8(ascii: "@")) == at
        case .currencyCode:
            return bytes.count == 3 && bytes.allSatisfy { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }
    }

    /// A bounded, printable copy of an offending value.
    private static func excerpt(_ field: JSONFieldValue) -> String {
        switch field {
        case .string(let bytes): return CreatorEventDecoder.excerpt(bytes, limit: 40)
        case .integer(let n): return String(n)
        case .number(let x): return String(x)
        case .bool(let b): return String(b)
        case .null, .missing: return "null"
        case .other: return "an object or array"
        }
    }
}

/// Owns a parser used without locking.
@available(*, unavailable)
extension CreatorEventValidator: Sendable {}

extension CreatorEventSchema {
    /// The property called `name`: a common one, else the first kind's that lists it.
    public static func property(named name: String) -> Property? {
        common.first { $0.name == name } ?? kinds.lazy.flatMap(\.properties).first { $0.name == name }
    }
}
