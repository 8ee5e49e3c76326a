import RunnelJSON
import RunnelNexmark
import Testing

/// The generator makes the standard Nexmark stream: proportions, ids, hot items, event
/// time, all from the event number and seed alone.
@Suite struct NexmarkGeneratorTests {
    static let generator = NexmarkGenerator()
    static let events = (0..<50_000).map { generator.event(Int64($0)) }

    @Test("persons, auctions and bids at 1 : 3 : 46; event time evenly spaced at 10 000 events/s; ids from 1000, growing")
    func proportionsAndTime() {
        var persons: [Person] = [], auctions: [Auction] = [], bids: [Bid] = []
        for e in Self.events {
            switch e {
            case .person(let p): persons.append(p)
            case .auction(let a): auctions.append(a)
            case .bid(let b): bids.append(b)
            }
        }
        #expect(persons.count == 1_000 && auctions.count == 3_000 && bids.count == 46_000)
        #expect(persons.map(\.id) == Array(1000..<2000))
        #expect(auctions.map(\.id) == Array(1000..<4000))
        #expect(Self.events[0].dateTime == NexmarkConfiguration().baseTime)
        #expect(Self.events[49_999].dateTime - Self.events[0].dateTime == 4_999)
        #expect(zip(Self.events, Self.events.dropFirst()).allSatisfy { $0.dateTime <= $1.dateTime })
    }

    @Test("the same number and seed give the same event (in another generator too); another seed another stream")
    func deterministic() {
        #expect(NexmarkGenerator().event(12_345) == Self.events[12_345])
        var other = NexmarkConfiguration()
        other.seed = 7
        let changed = NexmarkGenerator(configuration: other)
        #expect((0..<100).filter { changed.event(Int64($0)) != Self.events[$0] }.count > 90)
    }

    @Test("consecutive events draw independent random numbers (their padding shares no run of 16 characters), and every letter occurs")
    func independentEvents() {
        let bids = Self.events.compactMap(\.bid).filter { $0.extra.utf8.count >= 40 }
        var overlapping = 0
        for (a, b) in zip(bids, bids.dropFirst()) {
            let window = String(Array(a.extra)[8..<24])
            if b.extra.contains(window) { overlapping += 1 }
        }
        #expect(overlapping == 0, "\(overlapping) of \(bids.count) consecutive bids share padding")
        let letters = Set(bids.prefix(200).flatMap { Array($0.extra) })
        #expect(Set("abcdefghijklmnopqrstuvwxyz ").isSubset(of: letters))
    }

    @Test("events written as NDJSON read back as the same events")
    func jsonRoundTrip() throws {
        var json = JSONWriter(capacity: 1 << 16)
        let sample = Array(Self.events.prefix(2_000))
        for e in sample { NexmarkJSON.write(e, into: &json) }
        let buffer = json.withBytes { PaddedBuffer(copying: $0) }
        let decoder = NexmarkLineDecoder()
        var decoded: [NexmarkEvent] = []
        LineSplitter.forEachLine(in: buffer.bytes) { line in
            if let e = decoder.decode(NDJSONLine(bytes: line, offset: 0, lineNumber: 0)) { decoded.append(e) }
        }
        #expect(decoder.skipped == 0)
        #expect(decoded == sample)
    }

    @Test("half the bids are on a hot auction, three quarters by hot bidders; bids name auctions that exist or soon will; sizes near the averages")
    func hotItems() {
        let bids = Self.events.compactMap(\.bid)
        let hotAuctions = bids.filter { ($0.auction - 1000) % 100 == 0 }.count
        #expect(abs(Double(hotAuctions) / Double(bids.count) - 0.5) < 0.03)
        let hotBidders = bids.filter { ($0.bidder - 1000) % 100 == 1 }.count
        #expect(abs(Double(hotBidders) / Double(bids.count) - 0.75) < 0.03)
        #expect(bids.allSatisfy { $0.price >= 100 && $0.price <= 100_000_000 })
        let averageExtra = Double(bids.reduce(0) { $0 + $1.extra.utf8.count }) / Double(bids.count)
        #expect(abs(averageExtra - 68) < 2, "bids average 100 bytes: 32 of fields and 68 of padding")
        for (n, e) in Self.events.enumerated() {
            guard case .bid(let b) = e else { continue }
            let auctionsSoFar = Int64(n / 50 * 3 + 3)
            #expect(b.auction < 1000 + auctionsSoFar + 10)
        }
    }
}
