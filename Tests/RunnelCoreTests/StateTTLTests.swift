@testable import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Clocks a backend under test reads.
private final class Times {
    var processing: Timestamp = 0
    var watermark: Timestamp = Watermark.initial
}

/// Writes its input's value with an event-time TTL and emits the state from a timer 10 ms later.
private final class EmitStateFromTimer: KeyedProcessFunction {
    typealias Key = String
    var state: ValueState<Int>!
    func open(_ context: KeyedRuntimeContext<String>) throws {
        state = context.state(ValueStateDescriptor<Int>("v", ttl: StateTTL(.seconds(3600), timeDomain: .eventTime)))
    }
    func processElement(_ value: Ev, context: KeyedProcessContext<String, String>, out: Collector<String>) {
        state.value = value.v
        context.registerEventTimeTimer(context.timestamp + 10)
    }
    func onTimer(_ time: Timestamp, context: KeyedProcessContext<String, String>, out: Collector<String>) {
        out.collect("\(context.currentKey)@\(time)=\(state.value.map(String.init) ?? "nil")")
    }
}

/// State time-to-live in processing and event time, refresh rules and removal from the backend.
@Suite struct StateTTLTests {
    private func backend(_ times: Times) -> KeyedStateBackend<String> {
        KeyedStateBackend<String>(assignment: KeyGroupAssignment(parallelism: 1), keyGroups: 0..<128,
                                  processingTime: { times.processing }, eventTime: { times.watermark })
    }

    // MARK: Backend-level rules

    @Test func processingTimeTTLExpiresExactlyAfterTheTTL() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(100))))
        times.processing = 1000
        b.setCurrentKey("a")
        v.value = 1
        times.processing = 1099
        #expect(v.value == 1)
        times.processing = 1100
        #expect(v.value == nil)
        // Reading the expired entry removed it.
        #expect(b.stateTable(named: "v", of: Int.self)?.count == 0)
        // The other key is untouched.
        b.setCurrentKey("b")
        #expect(v.value == nil)
    }

    @Test func writesRefreshButReadsDoNotByDefault() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(100))))
        b.setCurrentKey("a")
        times.processing = 1000
        v.value = 1
        times.processing = 1080
        #expect(v.value == 1)  // a read: no refresh
        times.processing = 1090
        v.value = 2  // a write: refresh
        times.processing = 1189
        #expect(v.value == 2)
        times.processing = 1190
        #expect(v.value == nil)
    }

    @Test func onReadAndWriteRefreshesOnRead() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(100), updateType: .onReadAndWrite)))
        b.setCurrentKey("a")
        times.processing = 1000
        v.value = 1
        for t in stride(from: 1090, through: 1900, by: 90) {
            times.processing = Timestamp(t)
            #expect(v.value == 1, "read at \(t)")
        }
        times.processing = 2000
        #expect(v.value == nil)
    }

    @Test func modifyStartsOverAfterExpiry() {
        let times = Times()
        let b = backend(times)
        let l = b.listState(ListStateDescriptor<Int>("l", ttl: StateTTL(.milliseconds(100))))
        let r = b.reducingState(ReducingStateDescriptor<Int>("r", ttl: StateTTL(.milliseconds(100)), reduce: +))
        let m = b.mapState(MapStateDescriptor<String, Int>("m", ttl: StateTTL(.milliseconds(100))))
        let g = b.aggregatingState(AggregatingStateDescriptor("g", function: AverageAggregate(), ttl: StateTTL(.milliseconds(100))))
        b.setCurrentKey("a")
        times.processing = 0
        l.append(1)
        r.add(1)
        m["x"] = 1
        g.add(1)
        times.processing = 150
        l.append(2)
        r.add(2)
        m["y"] = 2
        g.add(2)
        #expect(l.elements == [2])
        #expect(r.value == 2)
        #expect(m.entries == ["y": 2])
        #expect(g.result == "2/1")
    }

    @Test func modifyExistingChangesOnlyLiveEntriesAndRefreshesThem() throws {
        let times = Times()
        let b = backend(times)
        let ttl = StateTTL(.milliseconds(100))
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: ttl))
        let table = try #require(b.stateTable(named: "v", of: Int.self))
        let untouched = { (_: inout Int) -> (result: Int, remove: Bool) in
            Issue.record("called for an absent or expired entry")
            return (0, false)
        }
        b.setCurrentKey("a")
        times.processing = 1000
        // An absent entry is not created.
        #expect(table.modifyExisting(b, ttl: ttl, untouched) == nil)
        #expect(table.count == 0)
        v.value = 1
        times.processing = 1090
        #expect(table.modifyExisting(b, ttl: ttl) { value -> (result: Int, remove: Bool) in
            value += 1
            return (value, false)
        } == 2)
        // The change refreshed the entry at 1090: alive until 1189, expired at 1190.
        times.processing = 1189
        #expect(v.value == 2)
        #expect(table.modifyExisting(b, ttl: ttl) { value -> (result: Int, remove: Bool) in (value, true) } == 2)
        #expect(v.value == nil)
        #expect(table.count == 0)
        // An expired entry is removed without being handed to the change.
        v.value = 5
        times.processing = 1300
        #expect(table.modifyExisting(b, ttl: ttl, untouched) == nil)
        #expect(table.count == 0)
    }

    @Test func eventTimeTTLIsJudgedByTheWatermarkAndStampedWithTheElementTime() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(100), timeDomain: .eventTime)))
        b.setCurrentKey("a")
        times.processing = 1_000_000  // irrelevant
        b.currentTimestamp = 1000
        times.watermark = 1050  // the element is 50 ms behind the watermark
        v.value = 1
        times.watermark = 1099
        #expect(v.value == 1)
        times.watermark = 1100  // 100 after the element's time (not after the watermark at write)
        #expect(v.value == nil)
    }

    @Test func nothingExpiresBeforeTheFirstWatermark() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(1), timeDomain: .eventTime)))
        b.setCurrentKey("a")
        b.currentTimestamp = -1_000_000
        v.value = 1
        #expect(v.value == 1)
        b.sweepExpiredEntries()
        #expect(b.stateTable(named: "v", of: Int.self)?.count == 1)
        times.watermark = 0
        #expect(v.value == nil)
    }

    /// Bug: with event-time TTL, a write by an out-of-order element (an older timestamp than
    /// the entry's current stamp) moves the stamp back, so the entry expires before `ttl`
    /// has passed since its latest write in event time (and how long it lives depends on the
    /// order in which a parallel job happens to process elements). The stamp should only move
    /// forward: `max(refreshedAt, stamp)`.
    @Test func outOfOrderWriteDoesNotShortenEventTimeTTL() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(1000), timeDomain: .eventTime)))
        b.setCurrentKey("a")
        times.watermark = 4000
        b.currentTimestamp = 5000
        v.value = 1
        b.currentTimestamp = 4500  // out of order, within the bound
        v.value = 2
        times.watermark = 5600  // 600 ms after the latest write (event time 5000)
        #expect(v.value == 2)
    }

    @Test func sweepRemovesExpiredEntriesOneKeyGroupAtATime() {
        let times = Times()
        let b = backend(times)
        let v = b.valueState(ValueStateDescriptor<Int>("v", ttl: StateTTL(.milliseconds(100))))
        let plain = b.valueState(ValueStateDescriptor<Int>("plain"))
        let keys = (0..<300).map { "key\($0)" }
        times.processing = 0
        for k in keys {
            b.setCurrentKey(k)
            v.value = 1
            plain.value = 1
        }
        times.processing = 50
        b.setCurrentKey("fresh")
        v.value = 2
        let table = b.stateTable(named: "v", of: Int.self)!
        #expect(table.count == 301)
        times.processing = 100  // all but "fresh" expired
        var counts: [Int] = []
        for _ in 0..<128 {
            b.sweepExpiredEntries()
            counts.append(table.count)
        }
        #expect(counts.first! > 1)  // one sweep does not scan every group
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(table.count == 1)  // after one round every group was visited
        #expect(b.stateTable(named: "plain", of: Int.self)?.count == 300)  // no TTL: never swept
        b.setCurrentKey("fresh")
        #expect(v.value == 2)
    }

    // MARK: Through a running job

    @Test func processingTimeTTLInAJob() throws {
        let job = try StateJob(ttl: StateTTL(.milliseconds(100)))
        try job.run([StateCmd("a", 0, .setValue(1)), StateCmd("b", 0, .setValue(2))])  // processed at t = 1
        #expect(try job.run([StateCmd("a", 0, .getValue)], advance: 99) == ["a value=1"])  // t = 100: 99 ms old
        // t = 101: a is 100 ms old (expired); b is refreshed by a write.
        #expect(try job.run([StateCmd("b", 0, .setValue(3)), StateCmd("a", 0, .getValue)], advance: 1) == ["a value=nil"])
        #expect(try job.run([StateCmd("b", 0, .getValue)], advance: 99) == ["b value=3"])  // t = 200
        #expect(try job.run([StateCmd("b", 0, .getValue)], advance: 1) == ["b value=nil"])  // t = 201
    }

    @Test func eventTimeTTLInAJobFollowsTheWatermark() throws {
        let job = try StateJob(ttl: StateTTL(.milliseconds(500), timeDomain: .eventTime))
        let out = try job.runEach([
            StateCmd("a", 1000, .setValue(1)),  // stamped 1000; watermark 999 afterwards
            StateCmd("a", 1400, .getValue),  // judged at 999
            StateCmd("a", 1499, .getValue),  // judged at 1399
            StateCmd("z", 1500, .noop),
            StateCmd("a", 1501, .getValue),  // judged at 1499: 499 ms old
            StateCmd("a", 1502, .getValue),  // judged at 1500: 500 ms old → expired
        ])
        #expect(out == ["a value=1", "a value=1", "a value=1", "a value=nil"])
    }

    @Test func eventTimeTTLDoesNotDependOnProcessingTime() throws {
        let job = try StateJob(ttl: StateTTL(.milliseconds(500), timeDomain: .eventTime))
        try job.runEach([StateCmd("a", 1000, .setValue(1))])
        try job.runner.advanceTime(by: .seconds(3600))
        #expect(try job.runEach([StateCmd("a", 1001, .getValue)]) == ["a value=1"])
    }

    @Test func onReadAndWriteInAJob() throws {
        let job = try StateJob(ttl: StateTTL(.milliseconds(100), updateType: .onReadAndWrite))
        try job.run([StateCmd("a", 0, .setValue(1))])  // t = 1
        for _ in 0..<10 {
            #expect(try job.run([StateCmd("a", 0, .getValue)], advance: 90) == ["a value=1"])
        }
        #expect(try job.run([StateCmd("a", 0, .getValue)], advance: 100) == ["a value=nil"])
    }

    @Test func expiredEntriesAreRemovedFromTheBackendAsWatermarksAdvance() throws {
        let probe = BackendProbe()
        let job = try StateJob(ttl: StateTTL(.milliseconds(100)), probe: probe)
        let keys = (0..<60).map { "k\($0)" }
        try job.run(keys.map { StateCmd($0, 0, .setValue(1)) })
        #expect(probe.entries("value", of: Int.self) == 60)
        try job.runner.advanceTime(by: .seconds(1))
        // Expired, but nothing touched them yet.
        #expect(probe.entries("value", of: Int.self) == 60)
        // Each watermark advance sweeps one of the 128 key groups.
        try job.runEach((1...128).map { StateCmd("zz", Timestamp($0), .noop) })
        #expect(probe.entries("value", of: Int.self) == 0)
    }

    @Test func eventTimeExpiredEntriesAreRemovedAtEveryParallelism() throws {
        for p in [1, 2] {
            let probe = BackendProbe()
            let job = try StateJob(ttl: StateTTL(.milliseconds(100), timeDomain: .eventTime), probe: probe, parallelism: p)
            let keys = (0..<60).map { "k\($0)" }
            try job.run(keys.map { StateCmd($0, 1000, .setValue(1)) })
            #expect(probe.entries("value", of: Int.self) == 60)
            // Watermarks past 1100: the entries expire and are swept, group by group.
            try job.runEach((1...140).map { StateCmd("zz", 1100 + Timestamp($0), .noop) })
            #expect(probe.entries("value", of: Int.self) == 0, "parallelism \(p)")
        }
    }

    /// Bug (semantic): expiry is judged against the operator's watermark even inside
    /// `onTimer`. At the end of a bounded input the watermark jumps to `Watermark.endOfTime`,
    /// so every event-time-TTL entry looks expired to the timers that the final watermark
    /// fires, even one 10 ms after the entry was written with a TTL of one hour. The same
    /// timer sees the value when a regular watermark fires it, so results depend on when
    /// watermarks arrive. Expiry in a timer should be judged at the timer's time (or the
    /// end-of-time watermark should not expire state that timers are about to read).
    @Test func timersFiredByTheFinalWatermarkSeeLiveEventTimeTTLState() throws {
        func run(_ events: [Ev]) throws -> [String] {
            let env = StreamEnvironment(name: "ttl-timers")
            let sink = CollectSink<String>()
            env.source("events", CollectionSource(events), watermarks: .monotonousTimestamps { $0.t })
                .keyBy { $0.key }
                .process("emit", EmitStateFromTimer())
                .sink("out", sink)
            try EmbeddedRunner(graph: try env.build()).runToCompletion()
            return sink.results
        }
        // A later element moves the watermark past the timer: the timer sees the state.
        #expect(try run([Ev("a", 1000, 7), Ev("b", 2000, 1)]).first == "a@1010=7")
        // The input ends right after the element: the final watermark fires the timer.
        #expect(try run([Ev("a", 1000, 7)]) == ["a@1010=7"])
    }
}
