import RunnelCore
import RunnelOperators

/// A session that has closed (its inactivity gap passed): what the per-minute session
/// metrics need of it.
public struct ClosedSession: Sendable, Hashable {
    /// From its first event to its last, in milliseconds.
    public var durationMillis: Int64
    /// Whether it was one post view and nothing else (a bounce).
    public var bounced: Bool

    /// Creates one.
    public init(durationMillis: Int64, bounced: Bool) {
        self.durationMillis = durationMillis
        self.bounced = bounced
    }

    /// The closed session an accumulator of ``SessionAggregate`` describes.
    public init(_ session: SessionAccumulator) {
        self.init(durationMillis: max(0, session.end - session.start), bounced: session.bounced)
    }
}

/// Per-minute metrics over the sessions that closed in the minute: how many, their
/// average, median and 90th-percentile duration (from a mergeable ``QuantileSketch``, so
/// partial minutes fold together exactly), and the share that bounced.
public struct SessionMinuteAggregate: AggregateFunction, Sendable {
    /// The running state of one minute.
    public struct Accumulator: Sendable, Equatable {
        /// Sessions closed.
        public var sessions = 0
        /// Their durations added up, in milliseconds.
        public var totalDurationMillis: Int64 = 0
        /// Sessions that bounced.
        public var bounces = 0
        /// Their durations, in milliseconds.
        public var durations = QuantileSketch()

        /// An empty minute.
        public init() {}

        /// The average duration in seconds; 0 without sessions.
        public var averageDurationSeconds: Double {
            sessions == 0 ? 0 : Double(totalDurationMillis) / Double(sessions) / 1000
        }

        /// The duration at quantile `q` (0 to 1), in seconds.
        public func durationSeconds(atQuantile q: Double) -> Double {
            Double(durations.quantile(q)) / 1000
        }

        /// The share of sessions that bounced; 0 without sessions.
        public var bounceRate: Double {
            sessions == 0 ? 0 : Double(bounces) / Double(sessions)
        }
    }

    /// Creates the aggregate.
    public init() {}

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ session: ClosedSession, to acc: inout Accumulator) {
        acc.sessions += 1
        acc.totalDurationMillis += session.durationMillis
        if session.bounced { acc.bounces += 1 }
        acc.durations.record(UInt64(session.durationMillis))
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        acc.sessions += other.sessions
        acc.totalDurationMillis += other.totalDurationMillis
        acc.bounces += other.bounces
        acc.durations.merge(other.durations)
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

extension SessionMinuteAggregate.Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.write(sessions)
        writer.writeVarInt(totalDurationMillis)
        writer.write(bounces)
        writer.write(durations)
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        sessions = try reader.read()
        totalDurationMillis = try reader.readVarInt()
        bounces = try reader.read()
        durations = try reader.read()
    }
}
