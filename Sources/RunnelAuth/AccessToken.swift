/// Who a feed client is, from its verified token's claims.
public struct AccessToken: Sendable, Equatable {
    /// What the holder may see.
    public enum Role: String, Sendable {
        /// A creator: their own `creator:<id>` topics.
        case creator
        /// Platform staff: every topic.
        case admin
    }

    /// The subject (`sub`): the creator id for a creator.
    public var subject: String
    /// The role (`role`).
    public var role: Role
    /// Expiry (`exp`), in seconds since the epoch.
    public var expiresAt: Int64

    /// Creates a token's claims.
    public init(subject: String, role: Role, expiresAt: Int64) {
        self.subject = subject
        self.role = role
        self.expiresAt = expiresAt
    }
}
