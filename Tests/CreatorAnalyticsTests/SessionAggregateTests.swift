import CreatorAnalyticsKit
import RunnelCore
import RunnelOperators
import RunnelJSON
import Testing

/// A session's entry referrer is that of its first event, whatever order events arrive in
/// and however session windows merge.
@Suite struct SessionAggregateTests {
    static func activity(_ t: Int64, _ referrer: String?) -> SessionActivity {
        SessionActivity(visitor: "u", timestamp: t, isPostView: true, viewedPost: "p-\(t)", referrer: referrer)
    }

    @Test("the first event's referrer, in any arrival order; ties at one millisecond go to the least referrer")
    func entryReferrer() {
        let aggregate = SessionAggregate<SessionActivity>()
        let events = [Self.activity(30, "https://b"), Self.activity(10, "https://search"), Self.activity(20, nil),
                      Self.activity(10, "https://a-tie")]
        for order in [events, events.reversed(), [events[2], events[3], events[0], events[1]]] {
            var acc = aggregate.createAccumulator()
            for e in order { aggregate.add(e, to: &acc) }
            #expect(acc.entryReferrer == "https://a-tie")
            #expect(acc.start == 10 && acc.events == 4 && !acc.bounced)
        }
        var direct = aggregate.createAccumulator()
        aggregate.add(Self.activity(5, nil), to: &direct)
        aggregate.add(Self.activity(6, "https://later"), to: &direct)
        #expect(direct.entryReferrer == nil, "a session entered directly has none, even if later events have one")
    }

    @Test("merging windows keeps the earlier session's entry; an empty accumulator changes nothing; state round-trips")
    func mergeAndCodec() throws {
        let aggregate = SessionAggregate<SessionActivity>()
        var late = aggregate.createAccumulator()
        aggregate.add(Self.activity(100, "https://late"), to: &late)
        var early = aggregate.createAccumulator()
        aggregate.add(Self.activity(50, "https://early"), to: &early)
        var merged = late
        aggregate.merge(early, into: &merged)
        #expect(merged.entryReferrer == "https://early" && merged.start == 50)
        aggregate.merge(aggregate.createAccumulator(), into: &merged)
        #expect(merged.entryReferrer == "https://early")
        var writer = BinaryWriter()
        merged.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try SessionAccumulator(from: &reader) == merged)
        var single = aggregate.createAccumulator()
        aggregate.add(SessionActivity(visitor: "u", timestamp: 1, isPostView: true, viewedPost: "p"), to: &single)
        #expect(single.bounced)
    }

    @Test("live session records add bounce and entry_referrer to replay's fields; replay's stay as they were")
    func liveRecord() {
        var record = SessionSummary(sessionKey: "u-1", start: 0, end: 1000, events: 1, postViews: 1, distinctPosts: 1)
        var json = JSONWriter(capacity: 256)
        record.encode(into: &json)
        let replay = json.withBytes { String(decoding: $0, as: UTF8.self) }
        #expect(!replay.contains("bounce") && !replay.contains("entry_referrer"))
        record.entryReferrer = "https://news.example/item"
        json.removeAll()
        record.encode(into: &json, live: true)
        let live = json.withBytes { String(decoding: $0, as: UTF8.self) }
        #expect(live == String(replay.dropLast()) + #","bounce":true,"entry_referrer":"https://news.example/item"}"#)
    }
}
