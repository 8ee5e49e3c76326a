import CreatorAnalyticsKit
import RunnelCore
import RunnelOperators
import RunnelTesting
import Testing

/// Creators' minutes: comments attributed through their post, counts, the record.
@Suite struct CreatorMinuteTests {
    static func event(_ i: Int, _ name: CreatorEventName, _ time: Int64, post: String? = nil, creator: String? = nil, user: String? = nil) -> CreatorEvent {
        CreatorEvent(eventId: "e-\(i)", name: name, timestamp: time, userId: user, postId: post, creatorId: creator)
    }

    struct Attributed: Sendable, Hashable { var creator: String; var time: Int64 }

    @Test("comments are attributed to their post's creator, learned from publications and views; waiting ones are emitted with their own time; unattributable ones are dropped after the wait", arguments: [1, 2])
    func commentAttribution(parallelism: Int) throws {
        let events = [
            Self.event(1, .postPublished, 0, post: "p-1", user: "c-1"),
            Self.event(2, .commentSubmitted, 1_000, post: "p-1", user: "u-1"),
            Self.event(3, .commentSubmitted, 2_000, post: "p-2", user: "u-2"),      // creator not known yet
            Self.event(4, .postViewed, 3_000, post: "p-2", creator: "c-2", user: "u-3"),
            Self.event(5, .commentSubmitted, 4_000, post: "p-3", user: "u-4"),      // never attributed
            Self.event(6, .postViewed, 5_000, post: "p-4", creator: "c-4"),         // no comment: nothing
        ]
        let env = StreamEnvironment(name: "comments")
        let sink = CollectSink<CreatorActivity>()
        env.source("events", CollectionSource(events, chunk: 1), watermarks: .boundedOutOfOrderness(.seconds(1)) { $0.timestamp })
            .flatMap("post-activity") { event, out in if let activity = PostActivity(event) { out(activity) } }
            .keyBy { $0.postId }
            .process("comment-attribution", CommentAttribution(waitLimit: .seconds(60)))
            .sink("collect", sink)
        try EmbeddedRunner(graph: env.build(), parallelism: parallelism).runToCompletion()
        let attributed = sink.timestampedResults.map { Attributed(creator: $0.0.creatorId, time: $0.1) }
        #expect(Set(attributed) == [Attributed(creator: "c-1", time: 1_000), Attributed(creator: "c-2", time: 2_000)])
        #expect(attributed.count == 2)
        #expect(sink.results.allSatisfy { $0.kind == .comment })
    }

    @Test("views, comments, free and paid subscribers and revenue per currency; merge and checkpoint round trip; the record")
    func aggregateAndRecord() throws {
        let aggregate = CreatorMinuteAggregate()
        var a = aggregate.createAccumulator(), b = aggregate.createAccumulator()
        aggregate.add(CreatorActivity(creatorId: "c", kind: .view), to: &a)
        aggregate.add(CreatorActivity(creatorId: "c", kind: .comment), to: &a)
        aggregate.add(CreatorActivity(creatorId: "c", kind: .subscription(paid: false)), to: &b)
        aggregate.add(CreatorActivity(creatorId: "c", kind: .subscription(paid: true)), to: &b)
        aggregate.add(CreatorActivity(creatorId: "c", kind: .payment(amount: 5, currency: "USD")), to: &a)
        aggregate.add(CreatorActivity(creatorId: "c", kind: .payment(amount: 2.5, currency: "USD")), to: &b)
        aggregate.add(CreatorActivity(creatorId: "c", kind: .payment(amount: 4, currency: "EUR")), to: &b)
        aggregate.merge(b, into: &a)
        var writer = BinaryWriter()
        a.encode(to: &writer)
        var reader = BinaryReader(writer.bytes)
        #expect(try CreatorMinuteAggregate.Accumulator(from: &reader) == a)
        #expect(CreatorMinute(creatorId: "c", windowStart: 0, windowEnd: 60_000, metrics: a).jsonText
                == #"{"type":"creator_minute","creator_id":"c","window_start":"1970-01-01T00:00:00.000Z","window_end":"1970-01-01T00:01:00.000Z","views":1,"comments":1,"new_subscribers":{"free":1,"paid":1},"revenue":{"EUR":4.00,"USD":7.50}}"#)
    }

    @Test("subscription_type decodes to paid or free; anything else is unknown")
    func subscriptionType() {
        let decoder = CreatorEventDecoder()
        func decode(_ type: String) -> Bool? {
            decoder.decode(string: #"{"event_id":"e","event_name":"creator_subscribed","timestamp":"2026-03-01T10:00:00Z","subscriber_id":"u","creator_id":"c","subscription_type":\#(type)}"#).event?.paidSubscription
        }
        #expect(decode(#""paid""#) == true && decode(#""free""#) == false && decode(#""gift""#) == nil && decode("1") == nil)
    }

    @Test("role decodes to creator or reader; the platform's minute counts new creators and paid subscriptions")
    func platformNewCreatorsAndPaidSubscriptions() {
        let decoder = CreatorEventDecoder()
        func event(_ name: String, _ extra: String) -> CreatorEvent? {
            decoder.decode(string: #"{"event_id":"e","event_name":"\#(name)","timestamp":"2026-03-01T10:00:00Z","user_id":"u","subscriber_id":"u","creator_id":"c",\#(extra)}"#).event
        }
        #expect(event("user_registered", #""role":"creator""#)?.creatorRole == true)
        #expect(event("user_registered", #""role":"reader""#)?.creatorRole == false)
        #expect(event("user_registered", #""role":"admin""#)?.creatorRole == nil)
        let aggregate = PlatformMinuteAggregate()
        var acc = aggregate.createAccumulator()
        for (name, extra) in [("user_registered", #""role":"creator""#), ("user_registered", #""role":"reader""#),
                              ("creator_subscribed", #""subscription_type":"paid""#), ("creator_subscribed", #""subscription_type":"free""#)] {
            aggregate.add(PlatformActivity(event(name, extra)!), to: &acc)
        }
        #expect(acc.newCreators == 1 && acc.paidSubscriptions == 1)
        #expect(acc.events(.userRegistered) == 2 && acc.events(.creatorSubscribed) == 2)
    }

    @Test("the device dimension: device_type when reported, else phone for the mobile apps; views per device in the platform's minute")
    func deviceDimension() {
        let decoder = CreatorEventDecoder()
        func view(_ extra: String) -> CreatorEvent {
            decoder.decode(string: #"{"event_id":"e","event_name":"post_viewed","timestamp":"2026-03-01T10:00:00Z","post_id":"p","creator_id":"c"\#(extra)}"#).event!
        }
        let events = [view(#","device_type":"tablet","platform":"mobile_ios""#), view(#","platform":"mobile_android""#),
                      view(#","device_type":"desktop","platform":"web""#), view(#","platform":"web""#), view("")]
        #expect(events.map(\.device) == [.tablet, .phone, .desktop, nil, nil])
        let aggregate = PlatformMinuteAggregate()
        var acc = aggregate.createAccumulator()
        for e in events { aggregate.add(PlatformActivity(e), to: &acc) }
        let record = PlatformMinute(windowStart: 0, windowEnd: 60_000, counts: acc).jsonText
        #expect(record.contains(#""post_views":5,"views_by_device":{"desktop":1,"tablet":1,"phone":1},"#), "\(record)")
    }
}
