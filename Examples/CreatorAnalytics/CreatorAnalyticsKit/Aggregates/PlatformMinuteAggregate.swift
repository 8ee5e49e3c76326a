import RunnelCore
import RunnelOperators

/// Platform-wide counts of one window: events per kind, active users, revenue per
/// currency. Feeds the `platform` topic of the live feed.
public struct PlatformMinuteAggregate: AggregateFunction, Sendable {
    /// The running counts of one window.
    public struct Accumulator: Sendable, Hashable {
        /// Events per kind, indexed by ``CreatorEventName/rawValue``.
        public var eventsByKind = [Int](repeating: 0, count: CreatorEventName.allCases.count)
        /// Distinct users who did anything while logged in.
        public var activeUsers = DistinctStrings()
        /// Distinct sessions with any event (keyed as the session windows key them).
        public var activeSessions = DistinctStrings()
        /// Amounts paid, per currency (amounts in different currencies are never added).
        public var revenue: [String: Double] = [:]
        /// Registrations as a creator.
        public var newCreators = 0
        /// Paid subscriptions (the rest of `creatorSubscribed` are free).
        public var paidSubscriptions = 0
        /// Post views per ``DeviceClass`` (indexed by its raw value); views from unknown devices are not here.
        public var viewsByDevice = [Int](repeating: 0, count: DeviceClass.allCases.count)

        /// An empty accumulator.
        public init() {}

        /// Events of one kind.
        public func events(_ kind: CreatorEventName) -> Int { eventsByKind[Int(kind.rawValue)] }
        /// All events.
        public var events: Int { eventsByKind.reduce(0, +) }
    }

    /// Creates the aggregate.
    public init() {}

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ activity: PlatformActivity, to acc: inout Accumulator) {
        acc.eventsByKind[Int(activity.kind.rawValue)] += 1
        if let user = activity.userId { acc.activeUsers.insert(user) }
        if let session = activity.sessionKey { acc.activeSessions.insert(session) }
        if let amount = activity.amount { acc.revenue[activity.currency ?? "", default: 0] += amount }
        if activity.flag && activity.kind == .userRegistered { acc.newCreators += 1 }
        if activity.flag && activity.kind == .creatorSubscribed { acc.paidSubscriptions += 1 }
        if activity.kind == .postViewed, let device = activity.device { acc.viewsByDevice[Int(device.rawValue)] += 1 }
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        for i in acc.eventsByKind.indices { acc.eventsByKind[i] += other.eventsByKind[i] }
        acc.activeUsers.formUnion(other.activeUsers)
        acc.activeSessions.formUnion(other.activeSessions)
        for (currency, amount) in other.revenue { acc.revenue[currency, default: 0] += amount }
        acc.newCreators += other.newCreators
        acc.paidSubscriptions += other.paidSubscriptions
        for i in acc.viewsByDevice.indices { acc.viewsByDevice[i] += other.viewsByDevice[i] }
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

extension PlatformMinuteAggregate.Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.write(eventsByKind)
        writer.write(activeUsers)
        writer.write(activeSessions)
        writer.write(revenue)
        writer.write(newCreators)
        writer.write(paidSubscriptions)
        writer.write(viewsByDevice)
    }

    public init(from reader: inout BinaryReader) throws {
        eventsByKind = try reader.read()
        guard eventsByKind.count == CreatorEventName.allCases.count else {
            throw SnapshotDecodingError.malformed("platform counts for \(eventsByKind.count) event kinds", offset: reader.offset)
        }
        activeUsers = try reader.read()
        activeSessions = try reader.read()
        revenue = try reader.read()
        newCreators = try reader.read()
        paidSubscriptions = try reader.read()
        viewsByDevice = try reader.read()
        guard viewsByDevice.count == DeviceClass.allCases.count else {
            throw SnapshotDecodingError.malformed("platform views for \(viewsByDevice.count) device classes", offset: reader.offset)
        }
    }
}
