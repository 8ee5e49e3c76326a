import RunnelCore
import RunnelOperators

/// An auction with the most bids in a window (q5).
public struct HotItem: Sendable, Hashable, NexmarkResult {
    public var auction: Int64
    public var bids: Int64
    public var windowStart: Int64
    public var windowEnd: Int64

    /// Creates a record.
    public init(auction: Int64, bids: Int64, windowStart: Int64, windowEnd: Int64) {
        self.auction = auction
        self.bids = bids
        self.windowStart = windowStart
        self.windowEnd = windowEnd
    }

    public var resultText: String { "\(auction)\t\(bids)\t\(windowStart)\t\(windowEnd)" }

    public var stableHash: UInt64 {
        var h = FieldHasher()
        h.add(auction)
        h.add(bids)
        h.add(windowStart)
        h.add(windowEnd)
        return h.value
    }
}

/// One auction's bids in one sliding window.
public struct AuctionBidCount: Sendable, Hashable {
    public var auction: Int64
    public var bids: Int64
    public var windowEnd: Int64

    /// Creates a record.
    public init(auction: Int64, bids: Int64, windowEnd: Int64) {
        self.auction = auction
        self.bids = bids
        self.windowEnd = windowEnd
    }
}

/// The auctions with the most bids among those added, and that count.
public struct MostBidsAggregate: AggregateFunction, Sendable {
    public struct Accumulator: Sendable, Hashable, StateCodable {
        public var most: Int64 = 0
        public var auctions: [Int64] = []

        public init() {}

        public func encode(to writer: inout BinaryWriter) {
            writer.writeVarInt(most)
            writer.writeVarUInt(UInt64(auctions.count))
            for a in auctions { writer.writeVarInt(a) }
        }

        public init(from reader: inout BinaryReader) throws {
            most = try reader.readVarInt()
            for _ in 0..<(try reader.readCount()) { auctions.append(try reader.readVarInt()) }
        }
    }

    public init() {}
    public func createAccumulator() -> Accumulator { Accumulator() }
    public func add(_ value: AuctionBidCount, to acc: inout Accumulator) {
        if value.bids > acc.most {
            acc.most = value.bids
            acc.auctions = [value.auction]
        } else if value.bids == acc.most {
            acc.auctions.append(value.auction)
        }
    }
    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        if other.most > acc.most { acc = other } else if other.most == acc.most { acc.auctions += other.auctions }
    }
    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

/// Nexmark q5, hot items: per sliding window of 10 s every 2 s, the auctions with the most
/// bids. Bids are counted per auction (keyed by auction), then each window's counts meet
/// keyed by the window (a count of the window ending at t is stamped t − 1 ms, so the 2 s
/// tumbling window [t − 2 s, t) gathers exactly them).
public enum Query5 {
    /// The hot items of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<HotItem> {
        events
            .flatMap("q5-bids") { event, out in if case .bid(let bid) = event { out(bid) } }
            .keyBy { $0.auction }
            .window(SlidingWindows(size: .seconds(10), slide: .seconds(2)))
            .aggregate("q5-counts", CountAggregate<Bid>())
            .map("q5-count-records") { AuctionBidCount(auction: $0.key, bids: Int64($0.value), windowEnd: $0.window.end) }
            .keyBy { $0.windowEnd }
            .window(TumblingWindows(.seconds(2)))
            .aggregate("q5-most", MostBidsAggregate())
            .flatMap("q5-hot-items") { r, out in
                for auction in r.value.auctions {
                    out(HotItem(auction: auction, bids: r.value.most, windowStart: r.key - 10_000, windowEnd: r.key))
                }
            }
    }
}
