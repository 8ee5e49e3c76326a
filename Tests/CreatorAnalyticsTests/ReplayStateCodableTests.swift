import CreatorAnalyticsKit
import RunnelCore
import RunnelOperators
import Testing

/// Everything the replay job keeps in keyed state and timers can be checkpointed.
@Suite struct ReplayStateCodableTests {
    func roundTrip<T: StateCodable>(_ value: T) throws -> T {
        var writer = BinaryWriter()
        writer.write(value)
        var reader = BinaryReader(writer.bytes)
        let back: T = try reader.read()
        #expect(reader.isAtEnd)
        return back
    }

    @Test func stateTypesOfTheReplayJobHaveSerializers() {
        #expect(StateSerializer<EventIDKey>.ofCodable != nil)
        #expect(StateSerializer<WindowMap<PostViewsAccumulator>>.ofCodable != nil)
        #expect(StateSerializer<[SessionSlot<SessionAccumulator>]>.ofCodable != nil)
        #expect(StateSerializer<WindowMap<SessionAccumulator>>.ofCodable != nil)
        #expect(StateSerializer<WindowMap<TriggerState>>.ofCodable != nil)
    }

    @Test func accumulatorsAndKeysRoundTrip() throws {
        var views = PostViewsAccumulator()
        views.views = 12
        for i in 0..<40 { views.viewers.insert("u-\(i % 30)") }
        views.creatorId = "c-7"
        let backViews = try roundTrip(views)
        #expect(backViews == views)
        #expect(backViews.viewers.count == 30)

        var session = SessionAccumulator()
        session.start = 1_700_000_000_000
        session.end = 1_700_000_108_491
        session.events = 3
        session.postViews = 2
        session.posts.insert("p-1")
        session.posts.insert("p-2")
        #expect(try roundTrip(session) == session)

        for id in ["225ec07a-9950-4761-a9c3-a27688795369", "e-1", ""] {
            #expect(try roundTrip(EventIDKey(id)) == EventIDKey(id))
        }
        var map = WindowMap<PostViewsAccumulator>()
        map[TimeWindow(start: 0, end: 60_000)] = views
        map[TimeWindow(start: 60_000, end: 120_000)] = PostViewsAccumulator()
        let backMap = try roundTrip(map)
        #expect(backMap.keys == map.keys)
        #expect(backMap[TimeWindow(start: 0, end: 60_000)] == views)
    }
}
