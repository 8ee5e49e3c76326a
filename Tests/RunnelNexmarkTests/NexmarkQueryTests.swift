import RunnelCore
import RunnelNexmark
import RunnelOperators
import RunnelRuntime
import RunnelTesting
import Testing

/// Each query's results, at parallelism 1 and 2, equal a direct computation over the same
/// generated events.
@Suite struct NexmarkQueryTests {
    /// 30 s of event time at 1 000 events/s.
    static let configuration: NexmarkConfiguration = {
        var c = NexmarkConfiguration()
        c.eventsPerSecond = 1_000
        return c
    }()
    static let count: Int64 = 30_000
    static let events = (0..<count).map { NexmarkGenerator(configuration: configuration).event($0) }
    static var bids: [Bid] { events.compactMap(\.bid) }

    static func run<R: NexmarkResult & Hashable>(_ parallelism: Int, _ build: (DataStream<NexmarkEvent>) -> DataStream<R>) throws -> [R] {
        let env = StreamEnvironment(name: "nexmark-test")
        let sink = try ChecksumSink<R>(keepResults: true)
        build(env.source("nexmark", NexmarkSource(count: count, configuration: configuration), watermarks: NexmarkSource.watermarks))
            .sink("results", sink)
        try EmbeddedRunner(graph: env.build(), parallelism: parallelism).runToCompletion()
        #expect(sink.checksum == sink.results.reduce(0) { $0 &+ $1.stableHash })
        return sink.results
    }

    @Test("q0 and q1: every bid, as is and in euros", arguments: [1, 2])
    func passThroughAndCurrency(parallelism: Int) throws {
        func counts<T: Hashable>(_ values: [T]) -> [T: Int] { values.reduce(into: [:]) { $0[$1, default: 0] += 1 } }
        #expect(counts(try Self.run(parallelism, Query0.build)) == counts(Self.bids), "every bid once")
        let euros = try Self.run(parallelism, Query1.build)
        #expect(euros.count == Self.bids.count)
        #expect(Set(euros.map { "\($0.auction)/\($0.priceMilliEuroCents)/\($0.dateTime)" })
                == Set(Self.bids.map { "\($0.auction)/\($0.price * 908)/\($0.dateTime)" }))
    }

    @Test("q5: the most-bid auctions of each 10 s window sliding by 2 s", arguments: [1, 2])
    func hotItems(parallelism: Int) throws {
        var expected = Set<HotItem>()
        let first = Self.configuration.baseTime / 2000 * 2000 - 8000
        var start = first
        while start <= Self.bids.last!.dateTime {
            var counts: [Int64: Int64] = [:]
            for b in Self.bids where b.dateTime >= start && b.dateTime < start + 10_000 { counts[b.auction, default: 0] += 1 }
            if let most = counts.values.max() {
                for (auction, n) in counts where n == most {
                    expected.insert(HotItem(auction: auction, bids: n, windowStart: start, windowEnd: start + 10_000))
                }
            }
            start += 2000
        }
        let results = try Self.run(parallelism, Query5.build)
        #expect(results.count == expected.count && Set(results) == expected)
    }

    @Test("q7: the highest bids of each 10 s window", arguments: [1, 2])
    func highestBid(parallelism: Int) throws {
        var byWindow: [Int64: [Bid]] = [:]
        for b in Self.bids { byWindow[b.dateTime / 10_000 * 10_000, default: []].append(b) }
        var expected = Set<Bid>()
        for (_, bids) in byWindow {
            let top = bids.map(\.price).max()!
            expected.formUnion(bids.filter { $0.price == top })
        }
        let results = try Self.run(parallelism, Query7.build)
        #expect(results.count == expected.count && Set(results) == expected)
    }

    @Test("q8: persons who sell in the 10 s window they registered in", arguments: [1, 2])
    func newUsers(parallelism: Int) throws {
        var sellers = Set<String>()
        for case .auction(let a) in Self.events { sellers.insert("\(a.seller)@\(a.dateTime / 10_000 * 10_000)") }
        var expected = Set<NewSeller>()
        for case .person(let p) in Self.events where sellers.contains("\(p.id)@\(p.dateTime / 10_000 * 10_000)") {
            expected.insert(NewSeller(id: p.id, name: p.name, windowStart: p.dateTime / 10_000 * 10_000))
        }
        #expect(!expected.isEmpty)
        let results = try Self.run(parallelism, Query8.build)
        #expect(results.count == expected.count && Set(results) == expected)
    }

    @Test("q11: each bidder's sessions (10 s gap) and their bids", arguments: [1, 2])
    func sessions(parallelism: Int) throws {
        var times: [Int64: [Int64]] = [:]
        for b in Self.bids { times[b.bidder, default: []].append(b.dateTime) }
        var expected = Set<BidderWindow>()
        for (bidder, ts) in times {
            let sorted = ts.sorted()
            var start = sorted[0], last = sorted[0], n: Int64 = 0
            for t in sorted {
                if t >= last + 10_000 {
                    expected.insert(BidderWindow(bidder: bidder, bids: n, start: start, end: last + 10_000))
                    start = t
                    n = 0
                }
                last = t
                n += 1
            }
            expected.insert(BidderWindow(bidder: bidder, bids: n, start: start, end: last + 10_000))
        }
        let results = try Self.run(parallelism, Query11.build)
        #expect(results.count == expected.count && Set(results) == expected)
    }

    @Test("q12: per bidder, counts of processing-time windows that add up to the bidder's bids")
    func processingTime() throws {
        let results = try Self.run(2, Query12.build)
        var perBidder: [Int64: Int64] = [:]
        for r in results { perBidder[r.bidder, default: 0] += r.bids }
        var expected: [Int64: Int64] = [:]
        for b in Self.bids { expected[b.bidder, default: 0] += 1 }
        #expect(perBidder == expected)
    }

    @Test("the source's checkpoint positions restore at the same parallelism; another parallelism, or a subtask twice, is refused")
    func sourcePositions() throws {
        let source = NexmarkSource(count: 1_000)
        let readers = try (0..<2).map { try source.createReader(subtask: $0, parallelism: 2) }
        let positions = try readers.map { try $0.checkpointPosition().payload }
        let restored = try source.createReader(subtask: 1, parallelism: 2)
        try restored.restore(from: positions)
        #expect(restored.nextIndex == 1)
        #expect(throws: SourceRestoreError.self) { try restored.restore(from: [positions[0], positions[0]]) }
        #expect(throws: SourceRestoreError.self) { try source.createReader(subtask: 0, parallelism: 3).restore(from: positions) }
    }

    @Test("every query runs through NexmarkQuery.plan on libuv loops, and deterministic ones give the same checksum at parallelism 1 and 2")
    func plansRun() throws {
        for query in NexmarkQuery.allCases {
            var sums: [UInt64] = []
            for p in [1, 2] {
                let (graph, totals) = try query.plan(source: NexmarkSource(count: 20_000, configuration: Self.configuration))
                _ = try JobRunner(graph: graph, options: .init(parallelism: p)).run()
                let (count, checksum) = totals()
                #expect(count > 0, "\(query)")
                sums.append(checksum)
            }
            if query.isDeterministic { #expect(sums[0] == sums[1], "\(query)") }
        }
    }
}
