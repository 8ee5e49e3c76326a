import RunnelJSON

/// Turns one NDJSON line into a `CreatorEvent` (or, for the replay job, a ``ReplayEvent``
/// of the fields it reads), or a short reason why it is invalid; both apply the same checks.
///
/// A line is valid iff it is a JSON object with a non-empty string `event_id`,
/// an `event_name` that is one of the seven wire names, a `timestamp` string
/// in the form `YYYY-MM-DDTHH:MM:SS[.f]Z` (see `ISO8601Timestamp`), and the
/// fields its kind requires present and not null (whatever their JSON type: the
/// replay contract checks presence only):
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
/// `subscriber_id`, `comment_id`) are read from a string, an integer or a
/// boolean (as their text); `amount` from a number; `currency` from a string.
/// A value of another type does not make the line invalid (that is left to
/// schema validation): the event simply carries no value for that field, so
/// it keys nothing. `null` counts as absent. Unknown extra fields are ignored.
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
        case subscriptionType, role, deviceType, platform, referrer
    }

    /// The wanted keys, compiled once and shared by every decoder.
    private static let keySet = JSONKeySet(keys: [
        "event_id", "event_name", "timestamp", "user_id", "session_id", "post_id",
        "creator_id", "subscriber_id", "comment_id", "amount", "currency", "subscription_type", "role", "device_type", "platform",
        "referrer",
    ])

    private let parser = JSONLineParser()
    /// Scratch space for `decode(string:)`, reused across calls.
    private let scratch = PaddedBuffer(capacity: 1024)
    /// Remembers the last date parsed: consecutive events nearly always share it.
    private var timestamps = ISO8601TimestampParser()

    /// Whether events carry their `referrer` (a string per event: only the live job, which
    /// reports sessions' entry referrers, pays for it).
    public let keepsReferrer: Bool

    /// Creates a decoder; `keepsReferrer` makes events carry their referrer.
    public init(keepsReferrer: Bool = false) {
        self.keepsReferrer = keepsReferrer
    }

    /// Decodes one line.
    ///
    /// - Parameter line: The line's bytes without its newline. At least
    ///   `JSONLineParser.requiredPadding` (64) readable bytes must follow
    ///   `line.baseAddress + line.count` (simdjson reads ahead; the bytes are
    ///   never written and their contents do not matter). Lines from an
    ///   `NDJSONFileReader` or inside a `PaddedBuffer` satisfy this; for any
    ///   other memory use `decode(string:)` or copy into a `PaddedBuffer`.
    public func decode(_ line: UnsafeRawBufferPointer) -> CreatorEventDecodeResult {
        var reason = ""
        guard let head = check(line, reason: &reason) else { return .invalid(reason: reason) }
        let name = head.name
        let userId = identifier(.userId), sessionId = identifier(.sessionId), postId = identifier(.postId)
        let creatorId = identifier(.creatorId), subscriberId = identifier(.subscriberId), commentId = identifier(.commentId)
        let amount = parser[Field.amount.rawValue].doubleValue
        let currency = parser[Field.currency.rawValue].stringValue
        var paid: Bool?
        if name == .creatorSubscribed, let type = parser[Field.subscriptionType.rawValue].stringBytes {
            paid = JSONBytes.equal(type, "paid") ? true : JSONBytes.equal(type, "free") ? false : nil
        }
        let device = DeviceClass(deviceType: parser[Field.deviceType.rawValue].stringBytes, platform: parser[Field.platform.rawValue].stringBytes)
        var creatorRole: Bool?
        if name == .userRegistered, let role = parser[Field.role.rawValue].stringBytes {
            creatorRole = JSONBytes.equal(role, "creator") ? true : JSONBytes.equal(role, "reader") ? false : nil
        }

        var referrer: String?
        if keepsReferrer, let text = parser[Field.referrer.rawValue].stringValue, !text.isEmpty { referrer = text }

        return .valid(CreatorEvent(
            eventKey: head.eventKey, name: name, timestamp: head.timestamp,
            userId: userId, sessionId: sessionId, postId: postId, creatorId: creatorId,
            subscriberId: subscriberId, commentId: commentId, amount: amount, currency: currency, paidSubscription: paid,
            creatorRole: creatorRole, device: device, referrer: referrer))
    }

    /// Decodes one line into the fields the replay job reads (``ReplayEvent``): the same
    /// checks and reasons as ``decode(_:)``, with the same requirement on `line`.
    public func decodeReplayEvent(_ line: UnsafeRawBufferPointer) -> LineDecodeResult<ReplayEvent> {
        var reason = ""
        guard let event = decodeReplayEvent(line, reason: &reason) else { return .invalid(reason: reason) }
        return .valid(event)
    }

    /// ``decodeReplayEvent(_:)`` for the bulk path: the event, or nil with `reason` set.
    ///
    /// Inlined into the caller (the replay's line decoder): about 20 instructions a line
    /// fewer (callgrind, creator replay).
    @inline(__always)
    public func decodeReplayEvent(_ line: UnsafeRawBufferPointer, reason: inout String) -> ReplayEvent? {
        guard let head = check(line, reason: &reason) else { return nil }
        // The session id is read only when there is no user id: it names the visitor then.
        let visitor = identifier(.userId) ?? identifier(.sessionId)
        let isView = head.name == .postViewed
        return ReplayEvent(eventKey: head.eventKey, name: head.name, timestamp: head.timestamp, visitor: visitor,
                           viewedPost: isView ? identifier(.postId) : nil, viewedCreator: isView ? identifier(.creatorId) : nil)
    }

    /// What every valid line has.
    private struct Head: Sendable, Hashable {
        var eventKey: EventIDKey
        var name: CreatorEventName
        var timestamp: Int64
    }

    /// Parses `line` and applies every check of a valid line, leaving its fields in `parser`:
    /// the line's head, or nil with `reason` set. (An optional rather than a
    /// ``LineDecodeResult``: binding the head out of an enum payload copied it.)
    private func check(_ line: UnsafeRawBufferPointer, reason: inout String) -> Head? {
        func invalid(_ why: String) -> Head? {
            reason = why
            return nil
        }
        switch parser.parse(line, keys: Self.keySet) {
        case .ok: break
        case .notAnObject: return invalid("not a JSON object")
        case .malformed: return invalid("malformed JSON")
        }

        let eventIdValue = parser[Field.eventId.rawValue]
        if eventIdValue.isMissingOrNull { return invalid("missing event_id") }
        guard let eventIdBytes = eventIdValue.stringBytes, !eventIdBytes.isEmpty else {
            return invalid("event_id must be a non-empty string")
        }

        let nameValue = parser[Field.eventName.rawValue]
        if nameValue.isMissingOrNull { return invalid("missing event_name") }
        guard let nameBytes = nameValue.stringBytes else { return invalid("event_name must be a string") }
        guard let name = CreatorEventName(wireName: nameBytes) else {
            return invalid("unknown event_name \"\(Self.excerpt(nameBytes))\"")
        }

        let timestampValue = parser[Field.timestamp.rawValue]
        if timestampValue.isMissingOrNull { return invalid("missing timestamp") }
        guard let timestampBytes = timestampValue.stringBytes,
              let timestamp = timestamps.parseMillis(timestampBytes) else {
            return invalid("invalid timestamp")
        }

        if let missing = firstMissingRequiredField(name) {
            return invalid("missing required field \(missing) for \(name.wireName)")
        }
        return Head(eventKey: EventIDKey(utf8: eventIdBytes), name: name, timestamp: timestamp)
    }

    /// Decodes a line given as a `String` by copying it into padded scratch
    /// memory first; for tests and request bodies, not for bulk input.
    public func decode(string line: String) -> CreatorEventDecodeResult {
        padded(line) { decode($0) }
    }

    /// ``decodeReplayEvent(_:)`` of a line given as a `String` (copied into padded scratch
    /// memory first); for tests, not for bulk input.
    public func decodeReplayEvent(string line: String) -> LineDecodeResult<ReplayEvent> {
        padded(line) { decodeReplayEvent($0) }
    }

    /// Calls `body` with `line` copied into the padded scratch buffer.
    private func padded<R>(_ line: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        scratch.removeAll()
        scratch.append(line)
        return body(scratch.bytes)
    }

    // MARK: - Field helpers

    /// Reads an id field: a string as is, an integer as its decimal digits, a
    /// boolean as `true`/`false`; absent, null or another type as nil.
    @inline(__always)
    private func identifier(_ field: Field) -> String? {
        switch parser[field.rawValue] {
        case .string(let bytes):
            return JSONBytes.string(bytes)
        case .integer(let value):
            return String(value)
        case .bool(let value):
            return value ? "true" : "false"
        case .missing, .null, .number, .other:
            return nil
        }
    }

    /// The first field that `name` requires but the line lacks (absent or null), in table order.
    private func firstMissingRequiredField(_ name: CreatorEventName) -> StaticString? {
        func absent(_ field: Field) -> Bool { parser[field.rawValue].isMissingOrNull }
        switch name {
        case .userRegistered, .userLoggedIn:
            if absent(.userId) { return "user_id" }
        case .postViewed:
            if absent(.postId) { return "post_id" }
            if absent(.creatorId) { return "creator_id" }
        case .postPublished:
            if absent(.userId) { return "user_id" }
            if absent(.postId) { return "post_id" }
        case .commentSubmitted:
            if absent(.userId) { return "user_id" }
            if absent(.postId) { return "post_id" }
            if absent(.commentId) { return "comment_id" }
        case .creatorSubscribed:
            if absent(.subscriberId) { return "subscriber_id" }
            if absent(.creatorId) { return "creator_id" }
        case .paymentSucceeded:
            if absent(.userId) { return "user_id" }
            if absent(.creatorId) { return "creator_id" }
            if absent(.amount) { return "amount" }
            if absent(.currency) { return "currency" }
        }
        return nil
    }

    /// A bounded, printable copy of an offending value for a reason string, so
    /// that a huge or binary field cannot blow up dead-letter output.
    static func excerpt(_ bytes: UnsafeRawBufferPointer, limit: Int = 64) -> String {
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
