import PropertyBased
import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// A random stream: per element a key index and a time step relative to the largest
/// timestamp so far. Steps below `-bound` are clamped (in-bound streams) or kept (streams
/// with late data).
struct RandomStream: CustomStringConvertible, Sendable {
    var steps: [(key: Int, step: Int)]
    var start: Int64
    var bound: Int64

    /// The events; when `clampToBound`, no element is more than `bound` behind the maximum.
    func events(clampToBound: Bool) -> [Ev] {
        var maxSeen = start
        var out: [Ev] = []
        for (i, s) in steps.enumerated() {
            let step = clampToBound ? max(Int64(s.step), -bound) : Int64(s.step)
            let t = maxSeen + step
            maxSeen = max(maxSeen, t)
            out.append(Ev("k\(s.key)", t, i % 5 + 1))
        }
        return out
    }

    var description: String {
        "RandomStream(start: \(start), bound: \(bound), steps: \(steps.map { "\($0.key):\($0.step)" }.joined(separator: " ")))"
    }
}

/// Generators of random streams.
enum StreamGen {
    /// Up to 300 elements over 1–5 keys with steps in `-maxBack...maxForward`.
    static func stream(maxBack: Int, maxForward: Int) -> Generator<RandomStream, some Sequence & SendableMetatype> {
        zip(
            zip(Gen.int(in: 0...4), Gen.int(in: -maxBack...maxForward)).array(of: 0...300),
            Gen.int(in: -2000...2000),
            Gen.int(in: 0...20)
        ).map { steps, start, bound in
            RandomStream(steps: steps.map { (key: $0.0, step: $0.1) }, start: Int64(start), bound: Int64(bound))
        }
    }
}

/// Engine results against reference computations, for random out-of-order streams.
@Suite struct WindowPropertyTests {
    // MARK: Disorder within the bound: every element is on time, at any parallelism

    @Test func tumblingMatchesReference() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 25, maxForward: 15),
                            Gen.int(in: 1...40), Gen.int(in: -50...50), Gen.int(in: 1...40)) { stream, size, offset, chunk in
            let events = stream.events(clampToBound: true)
            let expected = WindowReference.tumbling(events, size: Int64(size), offset: Int64(offset))
            let assigner = TumblingWindows(.milliseconds(size), offset: .milliseconds(offset))
            for p in [1, 3] {
                let (sink, late, runner) = try runWindowJob(events, assigner, bound: stream.bound, parallelism: p, chunk: chunk,
                                                            lateTag: OutputTag<Ev>("late"))
                #expect(sink.firedSorted == expected, "parallelism \(p)")
                #expect(late.results.isEmpty, "parallelism \(p)")
                #expect(runner.metric("late_records", "sum") == 0)
            }
        }
    }

    @Test func slidingMatchesReference() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 25, maxForward: 15),
                            Gen.int(in: 1...40), Gen.int(in: 1...25), Gen.int(in: 0...30)) { stream, size, slide, offset in
            let events = stream.events(clampToBound: true)
            let expected = WindowReference.sliding(events, size: Int64(size), slide: Int64(slide), offset: Int64(offset))
            let assigner = SlidingWindows(size: .milliseconds(size), slide: .milliseconds(slide), offset: .milliseconds(offset))
            for p in [1, 3] {
                let (sink, late, _) = try runWindowJob(events, assigner, bound: stream.bound, parallelism: p, chunk: 7,
                                                       lateTag: OutputTag<Ev>("late"))
                #expect(sink.firedSorted == expected, "parallelism \(p)")
                #expect(late.results.isEmpty, "parallelism \(p)")
            }
        }
    }

    @Test func sessionsMatchReference() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 25, maxForward: 30),
                            Gen.int(in: 1...30), Gen.int(in: 1...20)) { stream, gap, chunk in
            let events = stream.events(clampToBound: true)
            let expected = WindowReference.sessions(events, gap: Int64(gap))
            for p in [1, 3] {
                let (sink, late, _) = try runWindowJob(events, SessionWindows(gap: .milliseconds(gap)), bound: stream.bound,
                                                       parallelism: p, chunk: chunk, lateTag: OutputTag<Ev>("late"))
                #expect(sink.firedSorted == expected, "parallelism \(p)")
                #expect(late.results.isEmpty, "parallelism \(p)")
            }
        }
    }

    // MARK: Elements beyond the bound: exact watermark semantics at parallelism 1

    @Test func tumblingAndSlidingWithLateDataMatchSimulation() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 60, maxForward: 15),
                            Gen.int(in: 1...30), Gen.int(in: 1...15), Gen.int(in: 0...2), Gen.bool) { stream, size, slide, latenessChoice, useSliding in
            let events = stream.events(clampToBound: false)
            let lateness = Int64([0, 5, 25][latenessChoice])
            let tag = OutputTag<Ev>("late")
            let size = Int64(size), slide = Int64(slide)
            let expected: (fired: [Fired], late: [Ev])
            let sink: CollectSink<WindowResult<String, Int>>, lateSink: CollectSink<Ev>, runner: EmbeddedRunner
            if useSliding {
                expected = WindowReference.simulate(events, bound: stream.bound, lateness: lateness) {
                    WindowReference.slidingWindows($0, size: size, slide: slide, offset: 0)
                }
                (sink, lateSink, runner) = try runWindowJob(events, SlidingWindows(size: .milliseconds(size), slide: .milliseconds(slide)),
                                                            bound: stream.bound, chunk: 1, allowedLateness: .milliseconds(lateness), lateTag: tag)
            } else {
                expected = WindowReference.simulate(events, bound: stream.bound, lateness: lateness) {
                    let s = floorDiv($0, size) * size
                    return [(s, s + size)]
                }
                (sink, lateSink, runner) = try runWindowJob(events, TumblingWindows(.milliseconds(size)),
                                                            bound: stream.bound, chunk: 1, allowedLateness: .milliseconds(lateness), lateTag: tag)
            }
            #expect(sink.firedSorted == expected.fired)
            #expect(lateSink.results == expected.late)
            #expect(runner.metric("late_records", "sum") == expected.late.count)
        }
    }

    @Test func sessionsWithLateDataMatchSimulation() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 60, maxForward: 30), Gen.int(in: 1...30)) { stream, gap in
            let events = stream.events(clampToBound: false)
            let expected = WindowReference.simulateSessions(events, bound: stream.bound, gap: Int64(gap))
            let tag = OutputTag<Ev>("late")
            let (sink, lateSink, runner) = try runWindowJob(events, SessionWindows(gap: .milliseconds(gap)), bound: stream.bound,
                                                            chunk: 1, lateTag: tag)
            #expect(sink.firedSorted == expected.fired)
            #expect(lateSink.results == expected.late)
            #expect(runner.metric("late_records", "sum") == expected.late.count)
        }
    }

    // MARK: The session fast path against the general path

    @Test func sessionFastPathMatchesGeneralPath() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 60, maxForward: 30),
                            Gen.int(in: 1...30), Gen.int(in: 0...2), Gen.int(in: 1...4)) { stream, gap, latenessChoice, chunk in
            let events = stream.events(clampToBound: false)
            let lateness = Int64([0, 5, 40][latenessChoice])
            let fast = try runSessionJob(events, gap: Int64(gap), bound: stream.bound, lateness: lateness, generalPath: false, chunk: chunk)
            let general = try runSessionJob(events, gap: Int64(gap), bound: stream.bound, lateness: lateness, generalPath: true, chunk: chunk)
            #expect(fast.fired == general.fired, "lateness \(lateness)")
            #expect(fast.late == general.late, "lateness \(lateness)")
        }
    }

    // MARK: The tumbling and sliding fast path against the general path

    /// Tumbling and sliding event-time windows with the default trigger and no allowed
    /// lateness take a path of their own (one state lookup per element, windows computed in
    /// place); it must fire what the general path fires and drop what it drops, including
    /// slides longer than the size (elements between windows) and elements beyond the bound.
    @Test func tumblingAndSlidingFastPathMatchesGeneralPath() async {
        await propertyCheck(count: 100, input: StreamGen.stream(maxBack: 60, maxForward: 30),
                            Gen.int(in: 1...30), Gen.int(in: 1...40), Gen.int(in: 0...30), Gen.int(in: 1...4)) { stream, size, slide, offset, chunk in
            let events = stream.events(clampToBound: false)
            let sliding = SlidingWindows(size: .milliseconds(size), slide: .milliseconds(slide), offset: .milliseconds(offset))
            let tumbling = TumblingWindows(.milliseconds(size), offset: .milliseconds(offset))
            for p in [1, 2] {
                let fast = try runTriggerPathJob(events, sliding, bound: stream.bound, lateness: 0, generalPath: false, parallelism: p, chunk: chunk)
                let general = try runTriggerPathJob(events, sliding, bound: stream.bound, lateness: 0, generalPath: true, parallelism: p, chunk: chunk)
                #expect(fast.fired == general.fired, "sliding, parallelism \(p)")
                #expect(fast.late == general.late, "sliding, parallelism \(p)")
                let fastTumbling = try runTriggerPathJob(events, tumbling, bound: stream.bound, lateness: 0, generalPath: false, parallelism: p, chunk: chunk)
                let generalTumbling = try runTriggerPathJob(events, tumbling, bound: stream.bound, lateness: 0, generalPath: true, parallelism: p, chunk: chunk)
                #expect(fastTumbling.fired == generalTumbling.fired, "tumbling, parallelism \(p)")
                #expect(fastTumbling.late == generalTumbling.late, "tumbling, parallelism \(p)")
            }
        }
    }

    // MARK: The references themselves

    @Test func referencesAgreeOnSmallHandWorkedCases() {
        let events = [Ev("a", 0, 1), Ev("a", 9, 2), Ev("a", 10, 4), Ev("b", -1, 8)]
        #expect(WindowReference.tumbling(events, size: 10, offset: 0) == [Fired("a", 0, 10, 3), Fired("a", 10, 20, 4), Fired("b", -10, 0, 8)])
        #expect(WindowReference.sliding(events, size: 10, slide: 5, offset: 0) == [
            Fired("a", -5, 5, 1), Fired("a", 0, 10, 3), Fired("a", 5, 15, 6), Fired("a", 10, 20, 4),
            Fired("b", -10, 0, 8), Fired("b", -5, 5, 8),
        ])
        #expect(WindowReference.sessions(events, gap: 9) == [Fired("a", 0, 9, 1), Fired("a", 9, 19, 6), Fired("b", -1, 8, 8)])
        #expect(WindowReference.sessions(events, gap: 10) == [Fired("a", 0, 20, 7), Fired("b", -1, 9, 8)])
        let sim = WindowReference.simulate([Ev("a", 15), Ev("a", 3), Ev("a", 9)], bound: 5, lateness: 0) { t in
            let s = floorDiv(t, 10) * 10
            return [(s, s + 10)]
        }
        #expect(sim.fired == [Fired("a", 10, 20, 1)])
        #expect(sim.late == [Ev("a", 3), Ev("a", 9)])
    }
}
