/// The shape of generated platform traffic.
public struct TrafficProfile: Sendable {
    /// Event time of the first event (ms since the epoch).
    public var startMillis: Int64 = 1_771_804_800_000  // 2026-02-23T00:00:00Z
    /// Mean events per second of event time.
    public var eventsPerSecond: Double = 400
    /// Registered users.
    public var users = 50_000
    /// Posts that can be viewed.
    public var posts = 5_000
    /// Creators (post `i` belongs to creator `i mod creators`).
    public var creators = 500
    /// Concurrent sessions kept open.
    public var concurrentSessions = 2_000
    /// Probability that a session ends after each of its events.
    public var sessionEndProbability = 0.08
    /// Share of sessions that are anonymous (a `session_id`, no `user_id`).
    public var anonymousShare = 0.25
    /// Events are shifted back by up to this much (disorder within the job's bound).
    public var maxDisorderMillis: Int64 = 4_000
    /// Share of events that arrive far behind (beyond any bound: late data).
    public var lateShare = 0.0
    /// How far behind late events arrive.
    public var lateByMillis: Int64 = 15 * 60 * 1000
    /// Share of events sent twice (client retries).
    public var duplicateShare = 0.01
    /// Share of lines that are malformed or invalid.
    public var invalidShare = 0.005
    /// Zipf exponent of post popularity.
    public var zipfExponent = 1.1

    /// The default profile: realistic disorder, 1 % duplicates, 0.5 % bad lines, no late data.
    public init() {}
}
