import CreatorAnalyticsKit
import Testing

@Suite struct EventIDKeyTests {
    @Test(arguments: [
        "225ec07a-9950-4761-a9c3-a27688795369",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ])
    func lowercaseUUIDsArePackedAndRoundTrip(id: String) {
        let key = EventIDKey(id)
        guard case .uuid = key else {
            Issue.record("\(id) should be packed")
            return
        }
        #expect(key.text == id)
        #expect(CreatorEvent(eventId: id, name: .postViewed, timestamp: 0).eventId == id)
    }

    @Test(arguments: [
        "225EC07A-9950-4761-A9C3-A27688795369",  // uppercase: kept as text so it round-trips exactly
        "225ec07a-9950-4761-a9c3-a2768879536",   // too short
        "225ec07a99504761a9c3a27688795369xxxx",  // no dashes
        "225ec07a-9950-4761-a9c3-a2768879536g",  // not hex
        "e-1",
    ])
    func otherIdsStayText(id: String) {
        let key = EventIDKey(id)
        #expect(key == .text(id))
        #expect(key.text == id)
    }

    @Test func equalIdsHaveEqualKeysAndHashes() {
        let a = EventIDKey("225ec07a-9950-4761-a9c3-a27688795369")
        let b = EventIDKey(String("225ec07a-9950-4761-a9c3-a27688795369".reversed().reversed()))
        #expect(a == b && a.stableHash == b.stableHash)
        #expect(a != EventIDKey("225ec07a-9950-4761-a9c3-a27688795368"))
    }
}
