import RunnelCore
import RunnelOperators

/// Summarizes one user session: its first and last event times, events, post views and
/// distinct posts viewed. Mergeable, as session windows merge.
public struct SessionAggregate: AggregateFunction, Sendable {
    /// The running state of one session.
    public struct Accumulator: Sendable, Hashable {
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

        /// An empty accumulator.
        public init() {}
    }

    /// Creates the aggregate.
    public init() {}

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ activity: SessionActivity, to acc: inout Accumulator) {
        acc.start = min(acc.start, activity.timestamp)
        acc.end = max(acc.end, activity.timestamp)
        acc.events += 1
        if activity.isPostView {
            acc.postViews += 1
            if let p = activity.viewedPost { acc.posts.insert(p) }
        }
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        acc.start = min(acc.start, other.start)
        acc.end = max(acc.end, other.end)
        acc.events += other.events
        acc.postViews += other.postViews
        acc.posts.formUnion(other.posts)
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

extension SessionAggregate.Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarInt(start)
        writer.writeVarInt(end)
        writer.write(events)
        writer.write(postViews)
        writer.write(posts)
    }

    public init(from reader: inout BinaryReader) throws {
        start = try reader.readVarInt()
        end = try reader.readVarInt()
        events = try reader.read()
        postViews = try reader.read()
        posts = try reader.read()
    }
}
