import CreatorAnalyticsKit
import Foundation
import RunnelJSON
import Testing

@Suite("CreatorEventDecoder")
struct EventDecoderTests {
    let ts = "2024-05-01T12:00:00.250Z"
    let tsMillis: Int64 = 1_714_564_800_250

    func decode(_ line: String) -> CreatorEventDecodeResult {
        CreatorEventDecoder().decode(string: line)
    }

    func reason(_ line: String) -> String? {
        decode(line).reason
    }

    @Test("wire names map both ways without allocation")
    func names() {
        let wire = ["user_registered", "user_logged_in", "post_viewed", "post_published",
                    "comment_submitted", "creator_subscribed", "payment_succeeded"]
        #expect(CreatorEventName.allCases.map(\.wireName) == wire)
        for name in CreatorEventName.allCases {
            #expect(CreatorEventName(wireName: name.wireName) == name)
        }
        for bad in ["", "post_viewe", "post_viewedx", "Post_viewed", "user_logged_on", "payment_succeedeD", "comment_succeeded"] {
            #expect(CreatorEventName(wireName: bad) == nil)
        }
    }

    @Test("each kind with its required fields decodes")
    func validEvents() {
        let cases: [(String, CreatorEvent)] = [
            (#"{"event_id":"e1","event_name":"user_registered","timestamp":"\#(ts)","user_id":"u1"}"#,
             CreatorEvent(eventId: "e1", name: .userRegistered, timestamp: tsMillis, userId: "u1")),
            (#"{"event_id":"e2","event_name":"user_logged_in","timestamp":"\#(ts)","user_id":7,"session_id":"s9"}"#,
             CreatorEvent(eventId: "e2", name: .userLoggedIn, timestamp: tsMillis, userId: "7", sessionId: "s9")),
            (#"{"event_id":"e3","event_name":"post_viewed","timestamp":"\#(ts)","post_id":"p1","creator_id":"c1","user_id":null}"#,
             CreatorEvent(eventId: "e3", name: .postViewed, timestamp: tsMillis, postId: "p1", creatorId: "c1")),
            (#"{"event_id":"e4","event_name":"post_published","timestamp":"\#(ts)","user_id":"u1","post_id":-12}"#,
             CreatorEvent(eventId: "e4", name: .postPublished, timestamp: tsMillis, userId: "u1", postId: "-12")),
            (#"{"event_id":"e5","event_name":"comment_submitted","timestamp":"\#(ts)","user_id":"u1","post_id":"p1","comment_id":"k1"}"#,
             CreatorEvent(eventId: "e5", name: .commentSubmitted, timestamp: tsMillis, userId: "u1", postId: "p1", commentId: "k1")),
            (#"{"event_id":"e6","event_name":"creator_subscribed","timestamp":"\#(ts)","subscriber_id":"u2","creator_id":"c1"}"#,
             CreatorEvent(eventId: "e6", name: .creatorSubscribed, timestamp: tsMillis, creatorId: "c1", subscriberId: "u2")),
            (#"{"event_id":"e7","event_name":"payment_succeeded","timestamp":"\#(ts)","user_id":"u1","creator_id":"c1","amount":9.99,"currency":"EUR"}"#,
             CreatorEvent(eventId: "e7", name: .paymentSucceeded, timestamp: tsMillis, userId: "u1", creatorId: "c1", amount: 9.99, currency: "EUR")),
            (#"{"event_id":"e8","event_name":"payment_succeeded","timestamp":"\#(ts)","user_id":"u1","creator_id":"c1","amount":5,"currency":"USD","extra":{"nested":[1,2]}}"#,
             CreatorEvent(eventId: "e8", name: .paymentSucceeded, timestamp: tsMillis, userId: "u1", creatorId: "c1", amount: 5, currency: "USD")),
        ]
        let decoder = CreatorEventDecoder()
        for (line, expected) in cases {
            #expect(decoder.decode(string: line) == .valid(expected), "\(line)")
        }
    }

    @Test("long ids, unicode and escapes survive")
    func strings() {
        let long = String(repeating: "abc", count: 40)
        let line = #"{"event_id":"\#(long)","event_name":"post_viewed","timestamp":"\#(ts)","post_id":"p\u00e9","creator_id":"c \"quoted\" 🎉"}"#
        let event = decode(line).event
        #expect(event?.eventId == long)
        #expect(event?.postId == "pé")
        #expect(event?.creatorId == "c \"quoted\" 🎉")
    }

    @Test("rejection reasons", arguments: [
        (#"{"event_id":"e1","event_name":"user_registered""#, "malformed JSON"),
        (#"{"event_id":"e1"} trailing"#, "malformed JSON"),
        ("", "malformed JSON"),
        ("[1,2]", "not a JSON object"),
        ("\"just a string\"", "not a JSON object"),
        (#"{"event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z","user_id":"u"}"#, "missing event_id"),
        (#"{"event_id":null,"event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z","user_id":"u"}"#, "missing event_id"),
        (#"{"event_id":"","event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z","user_id":"u"}"#, "event_id must be a non-empty string"),
        (#"{"event_id":12,"event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z","user_id":"u"}"#, "event_id must be a non-empty string"),
        (#"{"event_id":"e","timestamp":"2024-05-01T12:00:00Z","user_id":"u"}"#, "missing event_name"),
        (#"{"event_id":"e","event_name":5,"timestamp":"2024-05-01T12:00:00Z"}"#, "event_name must be a string"),
        (#"{"event_id":"e","event_name":"foo","timestamp":"2024-05-01T12:00:00Z"}"#, #"unknown event_name "foo""#),
        (#"{"event_id":"e","event_name":"user_registered","user_id":"u"}"#, "missing timestamp"),
        (#"{"event_id":"e","event_name":"user_registered","timestamp":"2024-05-01 12:00:00","user_id":"u"}"#, "invalid timestamp"),
        (#"{"event_id":"e","event_name":"user_registered","timestamp":"2024-02-30T12:00:00Z","user_id":"u"}"#, "invalid timestamp"),
        (#"{"event_id":"e","event_name":"user_registered","timestamp":1714564800,"user_id":"u"}"#, "invalid timestamp"),
        (#"{"event_id":"e","event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z"}"#, "missing required field user_id for user_registered"),
        (#"{"event_id":"e","event_name":"user_logged_in","timestamp":"2024-05-01T12:00:00Z","user_id":null}"#, "missing required field user_id for user_logged_in"),
        (#"{"event_id":"e","event_name":"post_viewed","timestamp":"2024-05-01T12:00:00Z","creator_id":"c"}"#, "missing required field post_id for post_viewed"),
        (#"{"event_id":"e","event_name":"post_viewed","timestamp":"2024-05-01T12:00:00Z","post_id":"p"}"#, "missing required field creator_id for post_viewed"),
        (#"{"event_id":"e","event_name":"post_published","timestamp":"2024-05-01T12:00:00Z","user_id":"u"}"#, "missing required field post_id for post_published"),
        (#"{"event_id":"e","event_name":"comment_submitted","timestamp":"2024-05-01T12:00:00Z","user_id":"u","post_id":"p"}"#, "missing required field comment_id for comment_submitted"),
        (#"{"event_id":"e","event_name":"creator_subscribed","timestamp":"2024-05-01T12:00:00Z","creator_id":"c"}"#, "missing required field subscriber_id for creator_subscribed"),
        (#"{"event_id":"e","event_name":"payment_succeeded","timestamp":"2024-05-01T12:00:00Z","user_id":"u","creator_id":"c","currency":"EUR"}"#, "missing required field amount for payment_succeeded"),
        (#"{"event_id":"e","event_name":"payment_succeeded","timestamp":"2024-05-01T12:00:00Z","user_id":"u","creator_id":"c","amount":1}"#, "missing required field currency for payment_succeeded"),
    ])
    func rejections(line: String, expected: String) {
        #expect(reason(line) == expected)
    }

    @Test("fields of another type: the line stays valid (presence is what the contract checks), the value is absent")
    func wronglyTypedFields() {
        let ok = decode(#"{"event_id":"e","event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z","user_id":"u","amount":null,"currency":null,"session_id":null}"#)
        #expect(ok.event?.amount == nil)
        #expect(ok.event?.sessionId == nil)
        let typed = decode(#"{"event_id":"e","event_name":"user_registered","timestamp":"2024-05-01T12:00:00Z","user_id":"u","amount":"x","session_id":true}"#)
        #expect(typed.event?.amount == nil)
        #expect(typed.event?.sessionId == "true")
        // A required field of another type is present and not null: valid, but it keys nothing.
        let view = decode(#"{"event_id":"e","event_name":"post_viewed","timestamp":"2024-05-01T12:00:00Z","post_id":{"id":1},"creator_id":1.5}"#)
        #expect(view.event != nil)
        #expect(view.event?.postId == nil)
        #expect(view.event?.creatorId == nil)
        let payment = decode(#"{"event_id":"e","event_name":"payment_succeeded","timestamp":"2024-05-01T12:00:00Z","user_id":"u","creator_id":"c","amount":"9.99","currency":978}"#)
        #expect(payment.event != nil)
        #expect(payment.event?.amount == nil)
        #expect(payment.event?.currency == nil)
    }

    @Test("unknown event names are quoted and bounded in the reason")
    func unknownNameExcerpt() {
        let long = String(repeating: "z", count: 500)
        let reason = reason(#"{"event_id":"e","event_name":"\#(long)","timestamp":"2024-05-01T12:00:00Z"}"#)
        #expect(reason?.hasPrefix("unknown event_name \"zzz") == true)
        #expect((reason?.count ?? 0) < 100)
        #expect(self.reason(#"{"event_id":"e","event_name":"a\"b\n","timestamp":"2024-05-01T12:00:00Z"}"#) == #"unknown event_name "a\"b\n""#)
    }

    @Test("decodes lines straight from an NDJSON file buffer")
    func fromReader() throws {
        let lines = [
            #"{"event_id":"a","event_name":"post_viewed","timestamp":"2024-05-01T12:00:00Z","post_id":"p","creator_id":"c"}"#,
            "not json",
            #"{"event_id":"b","event_name":"user_logged_in","timestamp":"2024-05-01T12:00:01.5Z","user_id":3}"#,
        ]
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("runnel-event-decoder-\(UUID().uuidString).ndjson").path
        try Data(lines.joined(separator: "\r\n").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let decoder = CreatorEventDecoder()
        var results: [CreatorEventDecodeResult] = []
        try NDJSONFileReader(path: path, chunkSize: 64).forEachLine { line in
            results.append(decoder.decode(line.bytes))
        }
        #expect(results.count == 3)
        #expect(results[0].event?.postId == "p")
        #expect(results[1] == .invalid(reason: "malformed JSON"))
        #expect(results[2].event?.timestamp == 1_714_564_801_500)
        #expect(results[2].event?.userId == "3")
    }

    @Test("decode throughput (informational, no assertion)")
    func throughput() {
        // ~500-byte post_viewed lines, concatenated in one padded buffer.
        let filler = String(repeating: "x", count: 300)
        let buffer = PaddedBuffer()
        var ranges: [Range<Int>] = []
        for index in 0..<20_000 {
            let line = #"{"event_id":"evt-\#(index)-0123456789","event_name":"post_viewed","timestamp":"2024-05-01T12:00:\#(String(format: "%02d", index % 60)).123Z","user_id":"user-\#(index % 977)","session_id":"sess-\#(index % 5003)","post_id":"post-\#(index % 10007)","creator_id":"creator-\#(index % 101)","referrer":"https://example.invalid/\#(filler)","device":{"os":"linux","version":[6,1]}}"#
            let start = buffer.count
            buffer.append(line)
            ranges.append(start..<buffer.count)
            buffer.append("\n")
        }
        let decoder = CreatorEventDecoder()
        var valid = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for range in ranges {
                if case .valid = decoder.decode(UnsafeRawBufferPointer(rebasing: buffer.bytes[range])) { valid += 1 }
            }
        }
        #expect(valid == ranges.count)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        print("CreatorEventDecoder: \(Int(Double(ranges.count) / seconds)) events/s over \(ranges.count) lines of ~\(buffer.count / ranges.count) bytes")
    }
}
