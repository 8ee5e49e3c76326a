import RunnelCore

/// The highest bids among those added, and their price.
public struct HighestBidsAggregate: AggregateFunction, Sendable {
    public struct Accumulator: Sendable, Hashable, StateCodable {
        public var price: Int64 = -1
        public var bids: [Bid] = []

        public init() {}

        mutating func add(_ bid: Bid) {
            if bid.price > price {
                price = bid.price
                bids = [bid]
            } else if bid.price == price {
                bids.append(bid)
            }
        }

        public func encode(to writer: inout BinaryWriter) {
            writer.writeVarInt(price)
            writer.writeVarUInt(UInt64(bids.count))
            for b in bids {
                writer.writeVarInt(b.auction)
                writer.writeVarInt(b.bidder)
                writer.writeVarInt(b.price)
                writer.writeVarInt(b.dateTime)
                writer.writeString(b.extra)
            }
        }

        public init(from reader: inout BinaryReader) throws {
            price = try reader.readVarInt()
            for _ in 0..<(try reader.readCount()) {
                bids.append(Bid(auction: try reader.readVarInt(), bidder: try reader.readVarInt(), price: try reader.readVarInt(),
                                dateTime: try reader.readVarInt(), extra: try reader.readString()))
            }
        }
    }

    public init() {}
    public func createAccumulator() -> Accumulator { Accumulator() }
    public func add(_ value: Bid, to acc: inout Accumulator) { acc.add(value) }
    public func merge(_ other: Accumulator, into acc: inout Accumulator) { for b in other.bids { acc.add(b) } }
    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

/// A window's highest bids from one subtask's share of the auctions (the first stage of q7).
public struct WindowHighestBids: Sendable, Hashable {
    public var windowEnd: Int64
    public var highest: HighestBidsAggregate.Accumulator

    /// Creates a record.
    public init(windowEnd: Int64, highest: HighestBidsAggregate.Accumulator) {
        self.windowEnd = windowEnd
        self.highest = highest
    }
}

/// The partial highest bids of a window, combined.
public struct CombineHighestBids: AggregateFunction, Sendable {
    public init() {}
    public func createAccumulator() -> HighestBidsAggregate.Accumulator { .init() }
    public func add(_ value: WindowHighestBids, to acc: inout HighestBidsAggregate.Accumulator) {
        for b in value.highest.bids { acc.add(b) }
    }
    public func merge(_ other: HighestBidsAggregate.Accumulator, into acc: inout HighestBidsAggregate.Accumulator) {
        for b in other.bids { acc.add(b) }
    }
    public func result(_ acc: HighestBidsAggregate.Accumulator) -> HighestBidsAggregate.Accumulator { acc }
}

/// Nexmark q7, highest bid: per tumbling window of 10 s, the bids with the highest price.
/// In two stages: the highest bids per auction and window, then per window (keyed by the
/// window's end, so windows spread over the subtasks).
public enum Query7 {
    /// The highest bids of `events`.
    public static func build(_ events: DataStream<NexmarkEvent>) -> DataStream<Bid> {
        events
            .flatMap("q7-bids") { event, out in if case .bid(let bid) = event { out(bid) } }
            .keyBy { $0.auction }
            .window(TumblingWindows(.seconds(10)))
            .aggregate("q7-highest-per-auction", HighestBidsAggregate())
            .map("q7-partials") { WindowHighestBids(windowEnd: $0.window.end, highest: $0.value) }
            .keyBy { $0.windowEnd }
            .window(TumblingWindows(.seconds(10)))
            .aggregate("q7-highest", CombineHighestBids())
            .flatMap("q7-highest-bids") { r, out in for bid in r.value.bids { out(bid) } }
    }
}
