import RunnelJSON

/// Turns one NDJSON line into a `CreatorEvent`, or a short reason why it is invalid.
///
/// A line is valid iff it is a JSON object with a non-empty string `event_id`,
/// an `event_name` that is one of the seven wire names, a `timestamp` string
/// in the form `YYYY-MM-DDTHH:MM:SS[.f]Z` (see `ISO8601Timestamp`), correctly
/// typed optional fields, and the fields its kind requires (present, not null):
///
/// | event_name           | required                                   |
/// |----------------------|--------------------------------------------|
/// | `user_registered`    | `user_id`                                  |
/// | `user_logged_in`     | `user_id`                                  |
/// | `post_viewed`        | `post_id`, `creator_id`                    |
/// | `post_published`     | `user_id`, `post_id`                       |
/// | `comment_submitted`  | `user_id`, `post_id`, `comment_id`         |
/// | `creator_subscribed` | `subscriber_id`, `creator_id`              |
/// | `payment_succeeded`  | `user_id`, `creator_id`, `amount`, `currency` |
///
/// Id fields (`user_id`, `session_id`, `post_id`, `creator_id`,
/// `subscriber_id`, `comment_id`) accept a string or an integer (normalized to
/// its decimal string); `amount` must be a number and `currency` a string.
/// `null` counts as absent. Unknown extra fields are ignored.
///
/// Built for ~1M lines per second per core: the JSON is walked once by
/// simdjson, and the only allocations are the `String`s the event itself
/// holds (none for ids of up to 15 bytes, which Swift stores inline).
///
/// One decoder per thread (it owns a `JSONLineParser`); not `Sendable`.
public final class CreatorEventDecoder {
    /// Slot indices into `keySet`; the raw values must match the key order below.
    private enum Field: Int {
        case eventId, eventName, timestamp, userId, sessionId, postId, creatorId, subscriberId, commentId, amount, currency
    }

    /// The wanted keys, compiled once and shared by every decoder.
    private static let keySet = JSONKeySet(keys: [
        "event_id", "event_name", "timestamp", "user_id", "session_id", "post_id",
        "creator_id", "subscriber_id", "comment_id", "amount", "currency",
    ])

    private let parser = JSONLineParser()
    /// Scratch space for `decode(string:)`, reused across calls.
    private let scratch = PaddedBuffer(capacity: 1024)

    /// Creates a decoder.
    public init() {}

    /// Decodes one line.
    ///
    /// - Parameter line: The line's bytes without its newline. At least
    ///   `JSONLineParser.requiredPadding` (64) readable bytes must follow
    ///   `line.baseAddress + line.count` (simdjson reads ahead; the bytes are
    ///   never written and their contents do not matter). Lines from an
    ///   `NDJSONFileReader` or inside a `PaddedBuffer` satisfy this; for any
    ///   other memory use `decode(string:)` or copy into a `PaddedBuffer`.
    public func decode(_ line: UnsafeRawBufferPointer) -> CreatorEventDecodeResult {
        switch parser.parse(line, keys: Self.keySet) {
        case .ok: break
        case .notAnObject: return .invalid(reason: "not a JSON object")
        case .malformed: return .invalid(reason: "malformed JSON")
        }

        let eventIdValue = parser[Field.eventId.rawValue]
        if eventIdValue.isMissingOrNull { return .invalid(reason: "missing event_id") }
        guard let eventIdBytes = eventIdValue.stringBytes, !eventIdBytes.isEmpty else {
            return .invalid(reason: "event_id must be a non-empty string")
        }

        let nameValue = parser[Field.eventName.rawValue]
        if nameValue.isMissingOrNull { return .invalid(reason: "missing event_name") }
        guard let nameBytes = nameValue.stringBytes else { return .invalid(reason: "event_name must be a string") }
        guard let name = CreatorEventName(wireName: nameBytes) else {
            return .invalid(reason: "unknown event_name \"\(Self.excerpt(nameBytes))\"")
        }

        let timestampValue = parser[Field.timestamp.rawValue]
        if timestampValue.isMissingOrNull { return .invalid(reason: "missing timestamp") }
        guard let timestampBytes = timestampValue.stringBytes,
              let timestamp = ISO8601Timestamp.parseMillis(timestampBytes) else {
            return .invalid(reason: "invalid timestamp")
        }

        // Type checks for every optional field come before the per-kind
        // presence checks, so a wrongly typed required field is reported as
        // such rather than as missing.
        var userId: String?, sessionId: String?, postId: String?, creatorId: String?
        var subscriberId: String?, commentId: String?, amount: Double?, currency: String?
        do {
            userId = try identifier(.userId, "user_id")
            sessionId = try identifier(.sessionId, "session_id")
            postId = try identifier(.postId, "post_id")
            creatorId = try identifier(.creatorId, "creator_id")
            subscriberId = try identifier(.subscriberId, "subscriber_id")
            commentId = try identifier(.commentId, "comment_id")
        } catch {
            return .invalid(reason: error.reason)
        }
        let amountValue = parser[Field.amount.rawValue]
        if !amountValue.isMissingOrNull {
            guard let number = amountValue.doubleValue else { return .invalid(reason: "field amount must be a number") }
            amount = number
        }
        let currencyValue = parser[Field.currency.rawValue]
        if !currencyValue.isMissingOrNull {
            guard let text = currencyValue.stringValue else { return .invalid(reason: "field currency must be a string") }
            currency = text
        }

        if let missing = Self.firstMissingRequiredField(name, userId: userId, postId: postId, creatorId: creatorId,
                                                        subscriberId: subscriberId, commentId: commentId,
                                                        amount: amount, currency: currency) {
            return .invalid(reason: "missing required field \(missing) for \(name.wireName)")
        }

        return .valid(CreatorEvent(
            eventId: String(decoding: eventIdBytes, as: UTF8.self), name: name, timestamp: timestamp,
            userId: userId, sessionId: sessionId, postId: postId, creatorId: creatorId,
            subscriberId: subscriberId, commentId: commentId, amount: amount, currency: currency))
    }

    /// Decodes a line given as a `String` by copying it into padded scratch
    /// memory first; for tests and request bodies, not for bulk input.
    public func decode(string line: String) -> CreatorEventDecodeResult {
        scratch.removeAll()
        scratch.append(line)
        return decode(scratch.bytes)
    }

    // MARK: - Field helpers

    /// Why an optional field was rejected; thrown only on the invalid path.
    private struct FieldError: Error {
        let reason: String
    }

    /// Reads an id field: a string as is, an integer as its decimal digits,
    /// null or absent as nil; anything else is an error.
    @inline(__always)
    private func identifier(_ field: Field, _ key: StaticString) throws(FieldError) -> String? {
        switch parser[field.rawValue] {
        case .missing, .null:
            return nil
        case .string(let bytes):
            return String(decoding: bytes, as: UTF8.self)
        case .integer(let value):
            return String(value)
        case .number, .bool, .other:
            throw FieldError(reason: "field \(key) must be a string or an integer")
        }
    }

    /// The first field that `name` requires but the event lacks, in table order.
    private static func firstMissingRequiredField(
        _ name: CreatorEventName, userId: String?, postId: String?, creatorId: String?,
        subscriberId: String?, commentId: String?, amount: Double?, currency: String?
    ) -> StaticString? {
        switch name {
        case .userRegistered, .userLoggedIn:
            if userId == nil { return "user_id" }
        case .postViewed:
            if postId == nil { return "post_id" }
            if creatorId == nil { return "creator_id" }
        case .postPublished:
            if userId == nil { return "user_id" }
            if postId == nil { return "post_id" }
        case .commentSubmitted:
            if userId == nil { return "user_id" }
            if postId == nil { return "post_id" }
            if commentId == nil { return "comment_id" }
        case .creatorSubscribed:
            if subscriberId == nil { return "subscriber_id" }
            if creatorId == nil { return "creator_id" }
        case .paymentSucceeded:
            if userId == nil { return "user_id" }
            if creatorId == nil { return "creator_id" }
            if amount == nil { return "amount" }
            if currency == nil { return "currency" }
        }
        return nil
    }

    /// A bounded, printable copy of an offending value for a reason string, so
    /// that a huge or binary field cannot blow up dead-letter output.
    private static func excerpt(_ bytes: UnsafeRawBufferPointer) -> String {
        let limit = 64
        var text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        if bytes.count > limit { text += "…" }
        var escaped = ""
        for scalar in text.unicodeScalars {
            escaped += scalar.value < 0x20 || scalar == "\"" || scalar == "\\" ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return escaped
    }
}

/// Owns a parser used without locking.
@available(*, unavailable)
extension CreatorEventDecoder: Sendable {}
