/// A new user of the auction site (Nexmark's `Person`).
public struct Person: Sendable, Hashable {
    /// The person's id (from ``NexmarkConfiguration/firstPersonId`` on).
    public var id: Int64
    /// First and last name.
    public var name: String
    /// Email address.
    public var emailAddress: String
    /// Credit card number, four groups of four digits.
    public var creditCard: String
    /// City.
    public var city: String
    /// US state.
    public var state: String
    /// Event time (milliseconds since the epoch).
    public var dateTime: Int64
    /// Padding up to the configured average size.
    public var extra: String

    /// Creates a record.
    public init(id: Int64, name: String, emailAddress: String, creditCard: String, city: String, state: String, dateTime: Int64, extra: String) {
        self.id = id
        self.name = name
        self.emailAddress = emailAddress
        self.creditCard = creditCard
        self.city = city
        self.state = state
        self.dateTime = dateTime
        self.extra = extra
    }
}
