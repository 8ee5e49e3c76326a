import RunnelCore

/// A creator's minute: views, comments, new subscribers (free and paid) and revenue per
/// currency.
public struct CreatorMinuteAggregate: AggregateFunction, Sendable {
    /// The running state of one creator's minute.
    public struct Accumulator: Sendable, Equatable {
        public var views = 0
        public var comments = 0
        public var freeSubscribers = 0
        public var paidSubscribers = 0
        /// Amounts paid by currency (never added across currencies).
        public var revenue: [String: Double] = [:]

        /// An empty minute.
        public init() {}
    }

    /// Creates the aggregate.
    public init() {}

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ activity: CreatorActivity, to acc: inout Accumulator) {
        switch activity.kind {
        case .view: acc.views += 1
        case .comment: acc.comments += 1
        case .subscription(let paid): if paid { acc.paidSubscribers += 1 } else { acc.freeSubscribers += 1 }
        case .payment(let amount, let currency): acc.revenue[currency, default: 0] += amount
        }
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        acc.views += other.views
        acc.comments += other.comments
        acc.freeSubscribers += other.freeSubscribers
        acc.paidSubscribers += other.paidSubscribers
        for (currency, amount) in other.revenue { acc.revenue[currency, default: 0] += amount }
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

extension CreatorMinuteAggregate.Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.write(views)
        writer.write(comments)
        writer.write(freeSubscribers)
        writer.write(paidSubscribers)
        writer.writeVarUInt(UInt64(revenue.count))
        for (currency, amount) in revenue.sorted(by: { $0.key < $1.key }) {
            writer.writeString(currency)
            writer.write(amount)
        }
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        views = try reader.read()
        comments = try reader.read()
        freeSubscribers = try reader.read()
        paidSubscribers = try reader.read()
        for _ in 0..<(try reader.readCount()) {
            let currency: String = try reader.read()
            let amount: Double = try reader.read()
            revenue[currency] = amount
        }
    }
}
