import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Deduplication, by both of its forms: the `Deduplicate` process function and the built-in
/// step (`KeyedStream.deduplicate`). Each drops repeats of an id within the TTL and forgets
/// the id afterwards, with the same results.
@Suite struct DeduplicateTests {
    private let dupTag = OutputTag<Ev>("duplicates")

    /// The two forms of deduplication.
    enum Form: CaseIterable, Sendable {
        case function, builtIn

        func apply(_ keyed: KeyedStream<String, Ev>, ttl: StateTTL, duplicatesTag: OutputTag<Ev>? = nil) -> DataStream<Ev> {
            switch self {
            case .function: keyed.process("dedup", Deduplicate<String, Ev>(ttl: ttl, duplicatesTag: duplicatesTag))
            case .builtIn: keyed.deduplicate("dedup", ttl: ttl, duplicatesTag: duplicatesTag)
            }
        }
    }

    private func run(_ form: Form, _ events: [Ev], ttl: StateTTL, parallelism: Int = 1, bound: Int64 = 0, chunk: Int = 1)
    throws -> (kept: [Ev], dropped: [Ev], runner: EmbeddedRunner) {
        let env = StreamEnvironment(name: "dedup")
        let kept = CollectSink<Ev>()
        let dropped = CollectSink<Ev>()
        let keyed = env.source("events", CollectionSource(events, chunk: chunk), watermarks: .boundedOutOfOrderness(.milliseconds(bound)) { $0.t })
            .keyBy { $0.key }
        let deduped = form.apply(keyed, ttl: ttl, duplicatesTag: dupTag)
        deduped.sink("kept", kept)
        deduped.sideOutput(dupTag).sink("dropped", dropped)
        let runner = try EmbeddedRunner(graph: try env.build(), parallelism: parallelism)
        try runner.runToCompletion()
        return (kept.results, dropped.results, runner)
    }

    @Test(arguments: Form.allCases) func dropsRepeatsWithinTheTTL(form: Form) throws {
        let events = [Ev("x", 0, 1), Ev("y", 1, 2), Ev("x", 2, 3), Ev("x", 3, 4), Ev("y", 4, 5), Ev("z", 5, 6)]
        let (kept, dropped, runner) = try run(form, events, ttl: StateTTL(.seconds(3600), timeDomain: .eventTime))
        #expect(kept == [Ev("x", 0, 1), Ev("y", 1, 2), Ev("z", 5, 6)])
        #expect(dropped == [Ev("x", 2, 3), Ev("x", 3, 4), Ev("y", 4, 5)])
        #expect(runner.metric("duplicates", "dedup") == 3)
    }

    @Test(arguments: Form.allCases) func forgetsAnIdOnceTheWatermarkIsTTLPastItsFirstSighting(form: Form) throws {
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
        let (kept, dropped, _) = try run(form, events, ttl: StateTTL(.milliseconds(100), timeDomain: .eventTime))
        #expect(kept.map(\.v) == [1, 5, 8])
        #expect(dropped.map(\.v) == [2, 3, 4, 6, 7])
    }

    @Test(arguments: Form.allCases) func processingTimeTTL(form: Form) throws {
        let feed = Feed<Ev>()
        let env = StreamEnvironment(name: "dedup-pt")
        let kept = CollectSink<Ev>()
        let keyed = env.source("events", FedSource(feed), watermarks: .monotonousTimestamps { $0.t })
            .keyBy { $0.key }
        form.apply(keyed, ttl: StateTTL(.milliseconds(500))).sink("kept", kept)
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

    @Test(arguments: Form.allCases) func sameResultAtEveryParallelism(form: Form) throws {
        // Ids repeat at random distances; with bounded disorder 0 and chunk 1 the watermark
        // at p=1 is exact, but a TTL much longer than the input makes every split agree.
        var rng = SplitMix(seed: 7)
        let events = (0..<600).map { i in Ev("id\(rng.next() % 97)", Timestamp(i), i) }
        let ttl = StateTTL(.seconds(3600), timeDomain: .eventTime)
        let (one, _, _) = try run(form, events, ttl: ttl, parallelism: 1, chunk: 16)
        for p in [2, 4] {
            let (kept, dropped, runner) = try run(form, events, ttl: ttl, parallelism: p, chunk: 16)
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

    @Test("both forms keep and drop the same elements: random ids, disorder, TTLs and watermark intervals",
          arguments: 0..<12 as Range<UInt64>)
    func bothFormsAgree(seed: UInt64) throws {
        var rng = SplitMix(seed: seed)
        let ids = 3 + Int(rng.next() % 40)
        let bound = Int64(rng.next() % 50)
        let ttl = StateTTL(.milliseconds(1 + Int64(rng.next() % 300)), timeDomain: .eventTime)
        let chunk = 1 + Int(rng.next() % 8)
        var t: Int64 = 0
        let events = (0..<800).map { i -> Ev in
            t += Int64(rng.next() % 5)
            // Up to `bound` ms out of order, as the watermarks allow.
            return Ev("id\(rng.next() % UInt64(ids))", max(0, t - Int64(rng.next() % UInt64(bound + 1))), i)
        }
        let function = try run(.function, events, ttl: ttl, bound: bound, chunk: chunk)
        let builtIn = try run(.builtIn, events, ttl: ttl, bound: bound, chunk: chunk)
        #expect(builtIn.kept == function.kept)
        #expect(builtIn.dropped == function.dropped)
        #expect(builtIn.runner.metric("duplicates", "dedup") == function.dropped.count)
        // Neither keeps everything nor drops everything: the case exercises the TTL.
        #expect(function.kept.count > ids && function.dropped.count > 0)
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
