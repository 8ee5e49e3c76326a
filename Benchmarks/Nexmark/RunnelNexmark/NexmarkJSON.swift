import RunnelJSON
import RunnelOperators

/// Nexmark events as flat NDJSON, one object per line, for engines that read the stream
/// from a file (Flink SQL in `Benchmarks/flink`): `event_type` (0 person, 1 auction, 2 bid),
/// `dateTime` (epoch milliseconds), `extra`, and the kind's own fields under their Nexmark
/// names (a person's and an auction's `id`; `auction` and `bidder` of a bid).
public enum NexmarkJSON {
    /// Appends `event` as one line (with its newline) to `json`.
    public static func write(_ event: NexmarkEvent, into json: inout JSONWriter) {
        json.beginObject()
        switch event {
        case .person(let p):
            json.key("event_type"); json.int(0)
            json.key("id"); json.int(p.id)
            json.key("name"); json.string(p.name)
            json.key("emailAddress"); json.string(p.emailAddress)
            json.key("creditCard"); json.string(p.creditCard)
            json.key("city"); json.string(p.city)
            json.key("state"); json.string(p.state)
            json.key("dateTime"); json.int(p.dateTime)
            json.key("extra"); json.string(p.extra)
        case .auction(let a):
            json.key("event_type"); json.int(1)
            json.key("id"); json.int(a.id)
            json.key("itemName"); json.string(a.itemName)
            json.key("description"); json.string(a.description)
            json.key("initialBid"); json.int(a.initialBid)
            json.key("reserve"); json.int(a.reserve)
            json.key("dateTime"); json.int(a.dateTime)
            json.key("expires"); json.int(a.expires)
            json.key("seller"); json.int(a.seller)
            json.key("category"); json.int(a.category)
            json.key("extra"); json.string(a.extra)
        case .bid(let b):
            json.key("event_type"); json.int(2)
            json.key("auction"); json.int(b.auction)
            json.key("bidder"); json.int(b.bidder)
            json.key("price"); json.int(b.price)
            json.key("dateTime"); json.int(b.dateTime)
            json.key("extra"); json.string(b.extra)
        }
        json.endObject()
        json.newline()
    }
}

/// Reads the lines ``NexmarkJSON`` writes back into events (one decoder per source subtask).
/// A line that is not such an event is skipped and counted in ``skipped``.
public final class NexmarkLineDecoder: LineDecoder {
    private static let keys = ["event_type", "id", "name", "emailAddress", "creditCard", "city", "state", "dateTime", "extra",
                               "itemName", "description", "initialBid", "reserve", "expires", "seller", "category",
                               "auction", "bidder", "price"]
    private static let keySet = JSONKeySet(keys: keys)
    private let parser = JSONLineParser()
    /// Lines that were not events.
    public private(set) var skipped = 0

    /// Creates a decoder.
    public init() {}

    private func int(_ slot: Int) -> Int64 { parser[slot].int64Value ?? 0 }
    private func string(_ slot: Int) -> String { parser[slot].stringValue ?? "" }

    public func decode(_ line: NDJSONLine) -> NexmarkEvent? {
        guard case .ok = parser.parse(line.bytes, keys: Self.keySet), let type = parser[0].int64Value else {
            skipped += 1
            return nil
        }
        switch type {
        case 0:
            return .person(Person(id: int(1), name: string(2), emailAddress: string(3), creditCard: string(4), city: string(5),
                                  state: string(6), dateTime: int(7), extra: string(8)))
        case 1:
            return .auction(Auction(id: int(1), itemName: string(9), description: string(10), initialBid: int(11), reserve: int(12),
                                    dateTime: int(7), expires: int(13), seller: int(14), category: int(15), extra: string(8)))
        case 2:
            return .bid(Bid(auction: int(16), bidder: int(17), price: int(18), dateTime: int(7), extra: string(8)))
        default:
            skipped += 1
            return nil
        }
    }
}
