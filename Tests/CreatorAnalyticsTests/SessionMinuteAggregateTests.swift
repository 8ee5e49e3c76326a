import CreatorAnalyticsKit
import RunnelCore
import RunnelOperators
import Testing

/// Per-minute metrics over closed sessions.
@Suite struct SessionMinuteAggregateTests {
    static func session(_ seconds: Int64, events: Int = 3, views: Int = 2) -> SessionAccumulator {
        var acc = SessionAccumulator()
        acc.start = 1_000_000
        acc.end = 1_000_000 + seconds * 1000
        acc.events = events
        acc.postViews = views
        return acc
    }

    @Test("count, average, quantiles and bounce rate; a bounce is one post view and nothing else")
    func metrics() throws {
        let aggregate = SessionMinuteAggregate()
        var acc = aggregate.createAccumulator()
        let sessions = [Self.session(0, events: 1, views: 1), Self.session(0, events: 1, views: 0), Self.session(30),
                        Self.session(60), Self.session(90), Self.session(600)]
        for s in sessions { aggregate.add(ClosedSession(s), to: &acc) }
        #expect(acc.sessions == 6 && acc.bounces == 1)
        #expect(acc.averageDurationSeconds == 130)
        #expect(abs(acc.durationSeconds(atQuantile: 0.5) - 30) <= 0.3)
        #expect(abs(acc.durationSeconds(atQuantile: 0.9) - 600) <= 6)
        let record = SessionMinute(windowStart: 0, windowEnd: 60_000, metrics: acc)
        #expect(record.jsonText.hasPrefix(#"{"type":"session_minute","window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","sessions":6,"avg_duration_seconds":130.000,"#))
        #expect(record.jsonText.hasSuffix(#""bounce_rate":0.1667}"#))
    }

    @Test("partial minutes merge to the minute of all their sessions, and survive a checkpoint")
    func mergeAndRoundTrip() throws {
        let aggregate = SessionMinuteAggregate()
        var all = aggregate.createAccumulator(), a = aggregate.createAccumulator(), b = aggregate.createAccumulator()
        for i in 0..<200 {
            let closed = ClosedSession(Self.session(Int64(i * 7 % 1800), events: 1 + i % 3, views: i % 2))
            aggregate.add(closed, to: &all)
            if i % 2 == 0 { aggregate.add(closed, to: &a) } else { aggregate.add(closed, to: &b) }
        }
        aggregate.merge(b, into: &a)
        #expect(a == all)
        var writer = BinaryWriter()
        all.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try SessionMinuteAggregate.Accumulator(from: &reader) == all)
    }
}
