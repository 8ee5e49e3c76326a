/// The event contract clients send: every property, its JSON type, allowed values and
/// format, and which properties each kind of event requires.
///
/// This table is the one source of the rules: ``CreatorEventValidator`` checks events
/// against it, and ``jsonSchemaDocument()`` renders it as the JSON Schema published in
/// `Examples/CreatorAnalytics/schema/creator-events.schema.json` (a test keeps the file
/// equal to the rendering; `creator-analytics schema` prints it).
///
/// Two levels of validation use it. The replay job keeps the presence-only contract of
/// ``CreatorEventDecoder`` (required fields present and not null, whatever their type), so
/// that its results stay comparable run to run; the collector of `serve` also checks types,
/// allowed values and formats. Properties the table does not list, and properties of other
/// kinds of event, are allowed and kept as sent.
public enum CreatorEventSchema {
    /// A property's JSON type.
    public enum ValueType: String, Sendable, CaseIterable {
        case string, number, boolean
    }

    /// A format a string property must have.
    public enum Format: String, Sendable {
        /// `8-4-4-4-12` hexadecimal digits.
        case uuid
        /// ISO-8601 UTC, as ``ISO8601TimestampParser`` reads it.
        case dateTime = "date-time"
        /// A textual IPv4 or IPv6 address.
        case ipAddress = "ip-address"
        /// Something `@` something.
        case email
        /// Three capital letters (ISO 4217).
        case currencyCode = "currency-code"
    }

    /// One property of an event.
    public struct Property: Sendable {
        /// The JSON key.
        public var name: String
        /// What it describes (the schema's `description`).
        public var summary: String
        /// Its JSON type.
        public var type: ValueType
        /// The only values allowed, when the property is an enumeration.
        public var allowed: [String]?
        /// A format its string must have.
        public var format: Format?
        /// Inclusive bounds of a number.
        public var minimum: Double?
        public var maximum: Double?

        init(_ name: String, _ type: ValueType, _ summary: String, allowed: [String]? = nil, format: Format? = nil,
             minimum: Double? = nil, maximum: Double? = nil) {
            self.name = name
            self.type = type
            self.summary = summary
            self.allowed = allowed
            self.format = format
            self.minimum = minimum
            self.maximum = maximum
        }
    }

    /// What one kind of event requires and may carry besides the common properties.
    public struct EventKind: Sendable {
        /// The event's name.
        public var name: CreatorEventName
        /// Properties it requires (present and not null), common ones included.
        public var required: [String]
        /// Its own properties.
        public var properties: [Property]
    }

    /// Properties every event may carry.
    public static let common: [Property] = [
        Property("event_id", .string, "Unique id of the event, chosen by the client; retries resend it.", format: .uuid),
        Property("event_name", .string, "The kind of event.", allowed: CreatorEventName.allCases.map(\.wireName)),
        Property("timestamp", .string, "When the event happened, ISO-8601 in UTC (e.g. 2026-02-22T23:59:58.183Z).", format: .dateTime),
        Property("user_id", .string, "The user, when logged in."),
        Property("session_id", .string, "The client's session."),
        Property("platform", .string, "Where the event happened.", allowed: ["web", "mobile_ios", "mobile_android"]),
        Property("device_type", .string, "The kind of device.", allowed: ["desktop", "tablet", "phone"]),
        Property("browser", .string, "Browser or app and version, e.g. Chrome 120."),
        Property("os", .string, "Operating system and version, e.g. macOS 14.2."),
        Property("referrer", .string, "The referring URL; empty when none."),
        Property("ip_address", .string, "The client's address; anonymized (truncated to /24 or /48) before anything is stored.",
                 format: .ipAddress),
    ]

    /// Properties every event requires.
    public static let commonRequired = ["event_id", "event_name", "timestamp"]

    /// Each kind of event, in ``CreatorEventName`` order.
    public static let kinds: [EventKind] = [
        EventKind(name: .userRegistered, required: ["user_id"], properties: [
            Property("email", .string, "The new user's email address.", format: .email),
            Property("username", .string, "The chosen user name."),
            Property("role", .string, "What the user signed up as.", allowed: ["creator", "reader"]),
            Property("registration_source", .string, "Where the sign-up came from, e.g. organic or ad_campaign_x."),
        ]),
        EventKind(name: .userLoggedIn, required: ["user_id"], properties: [
            Property("login_method", .string, "How the user logged in, e.g. email_password or google_oauth."),
        ]),
        EventKind(name: .postViewed, required: ["post_id", "creator_id"], properties: [
            Property("post_id", .string, "The post viewed."),
            Property("creator_id", .string, "The post's creator."),
            Property("post_title", .string, "The post's title."),
            Property("time_on_page_seconds", .number, "Seconds the reader stayed on the post.", minimum: 0),
            Property("scroll_depth_percentage", .number, "How far the reader scrolled, in percent.", minimum: 0, maximum: 100),
        ]),
        EventKind(name: .postPublished, required: ["user_id", "post_id"], properties: [
            Property("post_id", .string, "The new post."),
            Property("post_title", .string, "The post's title."),
            Property("post_type", .string, "The kind of post.", allowed: ["article", "newsletter"]),
        ]),
        EventKind(name: .commentSubmitted, required: ["user_id", "post_id", "comment_id"], properties: [
            Property("post_id", .string, "The post commented on."),
            Property("comment_id", .string, "The new comment."),
            Property("parent_comment_id", .string, "The comment replied to, for a reply."),
        ]),
        EventKind(name: .creatorSubscribed, required: ["subscriber_id", "creator_id"], properties: [
            Property("subscriber_id", .string, "The subscribing user."),
            Property("creator_id", .string, "The creator subscribed to."),
            Property("subscription_type", .string, "Free or paid.", allowed: ["free", "paid"]),
            Property("tier_name", .string, "The paid tier's name."),
        ]),
        EventKind(name: .paymentSucceeded, required: ["user_id", "creator_id", "amount", "currency"], properties: [
            Property("creator_id", .string, "The creator paid."),
            Property("subscription_id", .string, "The subscription the payment is for."),
            Property("amount", .number, "The amount paid, in `currency`.", minimum: 0),
            Property("currency", .string, "ISO 4217 code, e.g. USD.", format: .currencyCode),
            Property("payment_method_type", .string, "How the subscriber paid.", allowed: ["card", "paypal"]),
            Property("is_renewal", .boolean, "Whether the payment renews a subscription."),
        ]),
    ]

    /// The kind named `name`.
    public static func kind(_ name: CreatorEventName) -> EventKind {
        kinds.first { $0.name == name }!
    }
}
