import Foundation

extension CreatorEventSchema {
    /// Where the rendered schema is published, relative to the repository's root.
    public static let publishedPath = "Examples/CreatorAnalytics/schema/creator-events.schema.json"

    /// The contract as a JSON Schema (draft 2020-12) document: pretty-printed with sorted
    /// keys, so that the same table always renders the same text.
    ///
    /// `null` counts as absent, as in the validator: an optional property may be `null`, a
    /// required one may not. Formats are annotations in JSON Schema; the validator enforces
    /// them (`uuid`, `date-time`, `email`, an IPv4 or IPv6 address, and a currency code as a
    /// pattern).
    public static func jsonSchemaDocument() -> String {
        var properties: [String: Any] = [:]
        for property in common {
            properties[property.name] = schema(of: property, nullable: !commonRequired.contains(property.name))
        }
        let branches: [[String: Any]] = kinds.map { kind in
            var own: [String: Any] = [:]
            for property in kind.properties { own[property.name] = schema(of: property, nullable: !kind.required.contains(property.name)) }
            // A required common property may not be null either.
            for name in kind.required where own[name] == nil {
                if let property = common.first(where: { $0.name == name }) { own[name] = schema(of: property, nullable: false) }
            }
            return [
                "if": ["properties": ["event_name": ["const": kind.name.wireName]], "required": ["event_name"]],
                "then": ["required": kind.required, "properties": own],
            ]
        }
        let document: [String: Any] = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Creator platform event",
            "description": "One event as clients send it to the collector (POST /v1/events) and as NDJSON input lines. "
                + "Generated from CreatorEventSchema (creator-analytics schema); edit the table there, not this file. "
                + "Properties not listed here are allowed and kept.",
            "type": "object",
            "required": commonRequired,
            "properties": properties,
            "additionalProperties": true,
            "allOf": branches,
        ]
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// The schema of one property.
    private static func schema(of property: Property, nullable: Bool) -> [String: Any] {
        var schema: [String: Any] = ["description": property.summary]
        schema["type"] = nullable ? [property.type.rawValue, "null"] : property.type.rawValue
        if let allowed = property.allowed {
            schema["enum"] = nullable ? (allowed as [Any]) + [NSNull()] : allowed
        }
        switch property.format {
        case .uuid?: schema["format"] = "uuid"
        case .dateTime?: schema["format"] = "date-time"
        case .email?: schema["format"] = "email"
        case .ipAddress?: schema["anyOf"] = [["format": "ipv4"], ["format": "ipv6"]]
        case .currencyCode?: schema["pattern"] = "^[A-Z]{3}$"
        case nil: break
        }
        if let minimum = property.minimum { schema["minimum"] = minimum }
        if let maximum = property.maximum { schema["maximum"] = maximum }
        return schema
    }
}
