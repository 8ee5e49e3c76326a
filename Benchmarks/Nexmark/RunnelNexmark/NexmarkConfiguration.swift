/// The parameters of the Nexmark event stream, with the benchmark's standard defaults
/// (as in Apache Beam's and the nexmark-flink generators): persons, auctions and bids at
/// 1 : 3 : 46; 10 000 events per second of event time; half of the bids on a hot auction,
/// three quarters by hot bidders, three quarters of the auctions by hot sellers; 1 000
/// active people and 100 auctions in flight; average sizes of 200, 500 and 100 bytes.
public struct NexmarkConfiguration: Sendable, Hashable {
    /// Persons per ``proportionDenominator`` events.
    public static let personProportion: Int64 = 1
    /// Auctions per ``proportionDenominator`` events.
    public static let auctionProportion: Int64 = 3
    /// Bids per ``proportionDenominator`` events.
    public static let bidProportion: Int64 = 46
    /// Events per round of the proportions.
    public static let proportionDenominator = personProportion + auctionProportion + bidProportion
    /// The first person id.
    public static let firstPersonId: Int64 = 1000
    /// The first auction id.
    public static let firstAuctionId: Int64 = 1000
    /// The first category id.
    public static let firstCategoryId: Int64 = 10
    /// Categories of items.
    public static let categoryCount: Int64 = 5
    /// Hot auctions, bidders and sellers are the first of each batch of this many ids.
    public static let hotBatch: Int64 = 100
    /// Ids past the last one that bids and auctions may name (they then seem to come before
    /// the person or auction they name).
    public static let idLead: Int64 = 10

    /// Seeds the per-event random generators (the same seed gives the same events).
    public var seed: UInt64 = 0
    /// Event time of event 0 (milliseconds since the epoch).
    public var baseTime: Int64 = 1_700_000_000_000
    /// Events per second of event time.
    public var eventsPerSecond: Int64 = 10_000
    /// 1 in this many bids is on a random auction; the others on the hot one.
    public var hotAuctionRatio: Int64 = 2
    /// 1 in this many bids is by a random bidder; the others by a hot one.
    public var hotBiddersRatio: Int64 = 4
    /// 1 in this many auctions is by a random seller; the others by a hot one.
    public var hotSellersRatio: Int64 = 4
    /// People a random bidder or seller is drawn from (the most recent ones).
    public var activePeople: Int64 = 1000
    /// Auctions a random bid is drawn from (the most recent ones).
    public var inFlightAuctions: Int64 = 100
    /// Average sizes in bytes, which the `extra` fields pad to.
    public var averagePersonBytes = 200
    public var averageAuctionBytes = 500
    public var averageBidBytes = 100

    /// The standard configuration.
    public init() {}

    /// Event time of event `number`: evenly spaced at ``eventsPerSecond``.
    public func dateTime(ofEvent number: Int64) -> Int64 {
        baseTime + number * 1000 / eventsPerSecond
    }
}
