import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// `Deduplicate`: drops repeats of an id within the TTL and forgets the id afterwards.
@Suite struct DeduplicateTests {
    private let dupTag = OutputTag<Ev>("duplicates")

    private func run(_ events: [Ev], ttl: StateTTL, parallelism: Int = 1, bound: Int64 = 0, chunk: Int = 1)
    throws -> (kept: [Ev], dropped: [Ev], runner: EmbeddedRunner) {
        let env = StreamEnvironment(name: "dedup")
        let kept = CollectSink<Ev>()
        let dropped = CollectSink<Ev>()
        let deduped = env.source("events", CollectionSource(events, chunk: chunk), watermarks: .boundedOutOfOrderness(.milliseconds(bound)) { $0.t })
            .keyBy { $0.key }
            .process("dedup", Deduplicate<String, Ev>(ttl: ttl, duplicatesTag: dupTag))
        deduped.sink("kept", kept)
        deduped.sideOutput(dupTag).sink("dropped", dropped)
        let runner = try EmbeddedRunner(graph: try env.build(), parallelism: parallelism)
        try runner.runToCompletion()
        return (kept.results, dropped.results, runner)
    }

    @Test func dropsRepeatsWithinTheTTL() throws {
        let events = [Ev("x", 0, 1), Ev("y", 1, 2), Ev("x", 2, 3), Ev("x", 3, 4), Ev("y", 4, 5), Ev("z", 5, 6)]
        let (kept, dropped, runner) = try run(events, ttl: StateTTL(.seconds(3600), timeDomain: .eventTime))
        #expect(kept == [Ev("x", 0, 1), Ev("y", 1, 2), Ev("z", 5, 6)])
        #expect(dropped == [Ev("x", 2, 3), Ev("x", 3, 4), Ev("y", 4, 5)])
        #expect(runner.metric("duplicates", "dedup") == 3)
    }

    @Test func forgetsAnIdOnceTheWatermarkIsTTLPastItsFirstSighting() throws {
        // TTL 100 ms of event time; the watermark trails each element by 1 ms (chunk 1).
        let events = [
            Ev("x", 0, 1),  // first sighting at 0
            Ev("x", 50, 2),  // watermark -1... → duplicate
            Ev("x", 100, 3),  // judged at watermark 49: duplicate
            Ev("x", 101, 4),  // judged at watermark 99: still a duplicate (99 < 100)
            Ev("x", 102, 5),  // judged at watermark 100: 100 ms after the first sighting → forgotten, kept
            Ev("x", 150, 6),  // duplicate of the sighting at 102
            Ev("x", 203, 7),  // judged at watermark 149: duplicate
            Ev("x", 210, 8),  // judged at watermark 202: 100 ms after 102 → kept
        ]
        let (kept, dropped, _) = try run(events, ttl: StateTTL(.milliseconds(100), timeDomain: .eventTime))
        #expect(kept.map(\.v) == [1, 5, 8])
        #expect(dropped.map(\.v) == [2, 3, 4, 6, 7])
    }

    @Test func processingTimeTTL() throws {
        let feed = Feed<Ev>()
        let env = StreamEnvironment(name: "dedup-pt")
        let kept = CollectSink<Ev>()
        env.source("events", FedSource(feed), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
            .process("dedup", Deduplicate<String, Ev>(ttl: StateTTL(.milliseconds(500))))
            .sink("kept", kept)
        let runner = try EmbeddedRunner(graph: try env.build(), clock: ManualClock(start: 10_000))
        try runner.runUntilIdle()
        feed.push([Ev("x", 0, 1), Ev("x", 0, 2)])
        try runner.pump()  // 10_001
        feed.push([Ev("x", 0, 3)])
        try runner.pump(498)  // 10_499: 498 ms later
        feed.push([Ev("x", 0, 4)])
        try runner.pump(2)  // 10_501: 500 ms after the first sighting → forgotten
        feed.push([Ev("x", 0, 5)])
        try runner.pump(1)
        feed.finishAll()
        try runner.runToCompletion()
        #expect(kept.results.map(\.v) == [1, 4])
        #expect(runner.metric("duplicates", "dedup") == 3)
    }

    @Test func sameResultAtEveryParallelism() throws {
        // Ids repeat at random distances; with bounded disorder 0 and chunk 1 the watermark
        // at p=1 is exact, but a TTL much longer than the input makes every split agree.
        var rng = SplitMix(seed: 7)
        let events = (0..<600).map { i in Ev("id\(rng.next() % 97)", Timestamp(i), i) }
        let ttl = StateTTL(.seconds(3600), timeDomain: .eventTime)
        let (one, _, _) = try run(events, ttl: ttl, parallelism: 1, chunk: 16)
        for p in [2, 4] {
            let (kept, dropped, runner) = try run(events, ttl: ttl, parallelism: p, chunk: 16)
            #expect(Set(kept.map(\.key)) == Set(one.map(\.key)))
            #expect(kept.count == one.count)
            #expect(kept.count + dropped.count == events.count)
            #expect(runner.metric("duplicates", "dedup") == dropped.count)
        }
        // The first occurrence of each id (in event order) is the one kept at p=1.
        var seen = Set<String>()
        let firsts = events.filter { seen.insert($0.key).inserted }
        #expect(one == firsts)
    }
}

/// A tiny deterministic generator for test data (SplitMix64).
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
