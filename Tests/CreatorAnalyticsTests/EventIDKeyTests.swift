import CreatorAnalyticsKit
import RunnelOperators
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

@Suite struct EventIDKeyRandomTests {
    /// Random lowercase UUIDs pack and round-trip; any single character replaced by one
    /// just outside the hex ranges (or uppercase) keeps the id as text.
    @Test func randomIdsAndCorruptions() {
        var rng = SplitMix64(seed: 7)
        let hex = Array("0123456789abcdef")
        let outsiders: [Character] = ["/", ":", "@", "`", "g", "G", "A", "F", "{", " ", "é"]
        for _ in 0..<2000 {
            var chars: [Character] = []
            for i in 0..<36 {
                chars.append([8, 13, 18, 23].contains(i) ? "-" : hex[Int(rng.next() % 16)])
            }
            let id = String(chars)
            let key = EventIDKey(id)
            guard case .uuid = key else {
                Issue.record("\(id) should be packed")
                continue
            }
            #expect(key.text == id)
            var position = Int(rng.next() % 36)
            while [8, 13, 18, 23].contains(position) { position = Int(rng.next() % 36) }
            chars[position] = outsiders[Int(rng.next() % UInt64(outsiders.count))]
            let corrupted = String(chars)
            #expect(EventIDKey(corrupted) == .text(corrupted), "\(corrupted)")
        }
    }
}
