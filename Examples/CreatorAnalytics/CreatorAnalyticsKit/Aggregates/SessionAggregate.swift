import RunnelCore
import RunnelOperators

/// Summarizes one user session: its first and last event times, events, post views,
/// distinct posts viewed and entry referrer. Mergeable, as session windows merge.
///
/// Generic over what an event is (``SessionActivityFields``): the live job's
/// ``SessionActivity``s, or the replay job's ``ReplayEvent``s.
public struct SessionAggregate<Activity: SessionActivityFields>: AggregateFunction, Sendable {
    /// The running state of one session.
    public typealias Accumulator = SessionAccumulator

    /// Creates the aggregate.
    public init() {}

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ activity: Activity, to acc: inout Accumulator) {
        Self.enter(at: activity.timestamp, from: activity.referrer, into: &acc)
        acc.start = min(acc.start, activity.timestamp)
        acc.end = max(acc.end, activity.timestamp)
        acc.events += 1
        if activity.isPostView {
            acc.postViews += 1
            if let p = activity.viewedPost { acc.posts.insert(p) }
        }
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        if other.events > 0 { Self.enter(at: other.start, from: other.entryReferrer, into: &acc) }
        acc.start = min(acc.start, other.start)
        acc.end = max(acc.end, other.end)
        acc.events += other.events
        acc.postViews += other.postViews
        acc.posts.formUnion(other.posts)
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }

    /// Takes `referrer` as the entry referrer if an event at `time` comes first (call
    /// before `acc.start` is updated).
    private static func enter(at time: Timestamp, from referrer: String?, into acc: inout Accumulator) {
        if time < acc.start {
            acc.entryReferrer = referrer
        } else if time == acc.start, let referrer, acc.entryReferrer.map({ referrer < $0 }) ?? true {
            acc.entryReferrer = referrer
        }
    }
}

/// The running state of one session in ``SessionAggregate``.
public struct SessionAccumulator: Sendable, Hashable {
    /// Time of the first event.
    public var start: Timestamp = .max
    /// Time of the last event.
    public var end: Timestamp = .min
    /// Events in the session.
    public var events = 0
    /// `post_viewed` events in the session.
    public var postViews = 0
    /// Distinct posts viewed.
    public var posts = DistinctStrings()
    /// The referrer of the first event (nil when it had none, or events carry none).
    /// Of several first events at the same millisecond, the least referrer, so that the
    /// result does not depend on arrival order.
    public var entryReferrer: String?

    /// Whether the session was one post view and nothing else.
    public var bounced: Bool { events == 1 && postViews == 1 }

    /// An empty accumulator.
    public init() {}
}

extension SessionAccumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarInt(start)
        writer.writeVarInt(end)
        writer.write(events)
        writer.write(postViews)
        writer.write(posts)
        writer.write(entryReferrer)
    }

    public init(from reader: inout BinaryReader) throws {
        start = try reader.readVarInt()
        end = try reader.readVarInt()
        events = try reader.read()
        postViews = try reader.read()
        posts = try reader.read()
        entryReferrer = try reader.read()
    }
}
