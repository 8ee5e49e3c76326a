import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// A user trigger: fire and purge every `n` elements (exercises the purge path).
private struct PurgeEvery: Trigger {
    let n: Int64
    func onElement(timestamp: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult {
        context.state.a += 1
        if context.state.a == n {
            context.state.a = 0
            return .fireAndPurge
        }
        return .continue
    }
    func onEventTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult { .continue }
    func onProcessingTime(_ time: Timestamp, window: TimeWindow, context: TriggerContext) -> TriggerResult { .continue }
    func onMerge(window: TimeWindow, context: TriggerContext) {}
    func clear(window: TimeWindow, context: TriggerContext) {}
}

/// Triggers: the default event-time trigger, count triggers and early firing.
@Suite struct TriggerTests {
    /// `source(feed) → keyBy → window(assigner).trigger(trigger) → sum(v)`.
    private func job<A: WindowAssigner, T: Trigger>(_ feed: Feed<Ev>, _ assigner: A, _ trigger: T?, bound: Int64 = 0,
                                                    start: Timestamp = 0)
    throws -> (EmbeddedRunner, CollectSink<WindowResult<String, Int>>) {
        let env = StreamEnvironment(name: "triggers")
        let sink = CollectSink<WindowResult<String, Int>>()
        let windowed = env.source("events", FedSource(feed), watermarks: .boundedOutOfOrderness(.milliseconds(bound)) { $0.t })
            .keyBy { $0.key }
            .window(assigner)
        let agg = SumAggregate<Ev, Int> { $0.v }
        if let trigger {
            windowed.trigger(trigger).aggregate("sum", agg).sink("out", sink)
        } else {
            windowed.aggregate("sum", agg).sink("out", sink)
        }
        let runner = try EmbeddedRunner(graph: try env.build(), clock: ManualClock(start: start))
        try runner.runUntilIdle()
        return (runner, sink)
    }

    @Test func eventTimeTriggerFiresOnceWhenTheWatermarkReachesEndMinusOne() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, TumblingWindows(.milliseconds(10)), EventTimeTrigger?.none)
        feed.push([Ev("a", 0), Ev("a", 5)])
        try runner.pump()
        feed.push([Ev("b", 9)])  // watermark 8
        try runner.pump()
        #expect(sink.fired.filter { $0.key == "a" }.isEmpty)
        feed.push([Ev("b", 10)])  // watermark 9 = end - 1
        try runner.pump()
        #expect(sink.fired.filter { $0.key == "a" } == [Fired("a", 0, 10, 2)])
        for t in [11, 20, 35] as [Timestamp] {
            feed.push([Ev("b", t)])
            try runner.pump()
        }
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired.filter { $0.key == "a" } == [Fired("a", 0, 10, 2)])
        #expect(sink.firedSorted.filter { $0.key == "b" } == [
            Fired("b", 0, 10, 1), Fired("b", 10, 20, 2), Fired("b", 20, 30, 1), Fired("b", 30, 40, 1),
        ])
    }

    @Test func countTriggerFiresEveryNElementsWithoutPurging() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, TumblingWindows(.seconds(10)), CountTrigger(3))
        for t in 0..<7 {
            feed.push([Ev("a", Timestamp(t))])
            try runner.pump()
            let expected = [3, 6].filter { $0 <= t + 1 }
            #expect(sink.fired.map(\.value) == expected, "after \(t + 1) elements")
        }
        feed.push([Ev("a", 20_000)])  // closes [0,10000) without another firing
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired == [Fired("a", 0, 10_000, 3), Fired("a", 0, 10_000, 6)])
    }

    @Test func countTriggerStateIsPerKeyAndWindow() throws {
        let events = [Ev("a", 0), Ev("b", 1), Ev("a", 2), Ev("a", 15), Ev("b", 3), Ev("a", 16), Ev("a", 4)]
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, TumblingWindows(.milliseconds(10)), CountTrigger(2), bound: 100)
        feed.push(events)
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired == [Fired("a", 0, 10, 2), Fired("b", 0, 10, 2), Fired("a", 10, 20, 2)])
    }

    @Test func countTriggerCountsMergeWithSessions() throws {
        // [0,10) and [18,28) hold one element each; t=9 bridges them: 1 + 1 + 1 = 3 fires.
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, SessionWindows(gap: .milliseconds(10)), CountTrigger(3), bound: 100)
        feed.push([Ev("a", 0), Ev("a", 18)])
        try runner.pump()
        #expect(sink.fired.isEmpty)
        feed.push([Ev("a", 9)])
        try runner.pump()
        #expect(sink.fired == [Fired("a", 0, 28, 3)])
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired == [Fired("a", 0, 28, 3)])
    }

    @Test func purgingTriggerEmitsDisjointPartialResults() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, TumblingWindows(.seconds(10)), PurgeEvery(n: 2))
        feed.push((1...5).map { Ev("a", Timestamp($0), $0) })
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired == [Fired("a", 0, 10_000, 3), Fired("a", 0, 10_000, 7)])
    }

    @Test func earlyFiringEmitsChangedWindowsThenTheFinalResult() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, TumblingWindows(.seconds(10)), EarlyFiringTrigger(every: .milliseconds(100)))
        feed.push([Ev("a", 1000)])
        try runner.pump()  // t=1: early timer at 100
        try runner.advanceTime(by: .milliseconds(98))  // t=99
        #expect(sink.fired.isEmpty)
        try runner.advanceTime(by: .milliseconds(1))  // t=100
        #expect(sink.fired == [Fired("a", 0, 10_000, 1, .early)])
        try runner.advanceTime(by: .milliseconds(300))  // nothing changed: no early firing
        #expect(sink.fired.count == 1)

        feed.push([Ev("a", 1001), Ev("a", 1002)])
        try runner.pump()  // t=401: early timer at 500
        feed.push([Ev("a", 1003)])
        try runner.advanceTime(by: .milliseconds(50))  // t=451
        #expect(sink.fired.count == 1)
        try runner.advanceTime(by: .milliseconds(49))  // t=500: one coalesced early firing
        #expect(sink.fired == [Fired("a", 0, 10_000, 1, .early), Fired("a", 0, 10_000, 4, .early)])

        feed.push([Ev("a", 10_000)])  // watermark 9999 closes [0,10000); opens [10000,20000)
        try runner.pump()  // t=501
        #expect(sink.fired.filter { $0.start == 0 }.last == Fired("a", 0, 10_000, 4, .onTime))
        try runner.advanceTime(by: .seconds(5))
        let first = sink.fired.filter { $0.start == 0 }
        #expect(first == [Fired("a", 0, 10_000, 1, .early), Fired("a", 0, 10_000, 4, .early), Fired("a", 0, 10_000, 4, .onTime)])
        #expect(sink.fired.filter { $0.start == 10_000 } == [Fired("a", 10_000, 20_000, 1, .early)])

        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired.filter { $0.start == 10_000 } == [Fired("a", 10_000, 20_000, 1, .early), Fired("a", 10_000, 20_000, 1, .onTime)])
    }

    @Test func earlyFiringIsPerKey() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, TumblingWindows(.seconds(10)), EarlyFiringTrigger(every: .milliseconds(100)))
        feed.push([Ev("a", 1), Ev("b", 2)])
        try runner.pump()
        try runner.advanceTime(by: .milliseconds(99))  // t=100
        #expect(sink.firedSorted == [Fired("a", 0, 10_000, 1, .early), Fired("b", 0, 10_000, 1, .early)])
        feed.push([Ev("b", 3)])
        try runner.pump()
        try runner.advanceTime(by: .milliseconds(99))  // t=200: only b changed
        #expect(sink.fired.count == 3)
        #expect(sink.fired.last == Fired("b", 0, 10_000, 2, .early))
    }

    @Test func earlyFiringWithSessionMerges() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, SessionWindows(gap: .milliseconds(10)), EarlyFiringTrigger(every: .milliseconds(100)),
                                     bound: 1000)
        feed.push([Ev("a", 0, 1)])
        try runner.pump()  // t=1, early timer at 100 for [0,10)
        try runner.advanceTime(by: .milliseconds(99))  // t=100
        #expect(sink.fired == [Fired("a", 0, 10, 1, .early)])

        feed.push([Ev("a", 18, 10)])
        try runner.pump()  // t=101: [18,28) with an early timer at 200
        feed.push([Ev("a", 9, 100)])
        try runner.pump()  // t=102: bridge → [0,28)
        try runner.advanceTime(by: .milliseconds(98))  // t=200
        #expect(sink.fired == [Fired("a", 0, 10, 1, .early), Fired("a", 0, 28, 111, .early)])
        try runner.advanceTime(by: .milliseconds(500))
        #expect(sink.fired.count == 2)

        feed.push([Ev("z", 2000)])  // watermark 999 closes [0,28)
        try runner.pump()
        #expect(sink.fired.filter { $0.key == "a" }.last == Fired("a", 0, 28, 111, .onTime))
        feed.finishAll()
        try runner.runToCompletion()
        #expect(sink.fired.filter { $0.key == "a" } == [
            Fired("a", 0, 10, 1, .early), Fired("a", 0, 28, 111, .early), Fired("a", 0, 28, 111, .onTime),
        ])
    }

    @Test func earlyFiringMergeOfTwoPendingTimersKeepsTheEarlierOne() throws {
        let feed = Feed<Ev>()
        let (runner, sink) = try job(feed, SessionWindows(gap: .milliseconds(10)), EarlyFiringTrigger(every: .milliseconds(100)),
                                     bound: 1000)
        feed.push([Ev("a", 0, 1)])
        try runner.pump()  // t=1, timer 100 for [0,10)
        try runner.advanceTime(by: .milliseconds(50))
        feed.push([Ev("a", 18, 10)])
        try runner.pump()  // t=52, timer 100 for [18,28)
        feed.push([Ev("a", 9, 100)])
        try runner.pump()  // t=53, merged [0,28), timer 100
        try runner.advanceTime(by: .milliseconds(46))  // t=99
        #expect(sink.fired.isEmpty)
        try runner.advanceTime(by: .milliseconds(1))  // t=100
        #expect(sink.fired == [Fired("a", 0, 28, 111, .early)])
        try runner.advanceTime(by: .milliseconds(1000))
        #expect(sink.fired == [Fired("a", 0, 28, 111, .early)])
    }
}
