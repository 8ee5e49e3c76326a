import CreatorAnalyticsKit
import Foundation
import RunnelTesting
import Testing

/// The live path and the batch path agree: the same generated events posted to `serve` over
/// HTTP give, on the WebSocket feed, the final per-minute post views that `replay` writes
/// for the file.
@Suite struct ServeReplayEquivalenceTests {
    /// `post_id@window_start` → `views/unique_viewers` of final post_views records.
    static func finals(_ records: [[String: Any]]) -> [String: String] {
        var result: [String: String] = [:]
        for r in records where r["type"] as? String == "post_views" && (r["final"] as? Bool ?? true) {
            guard let post = r["post_id"] as? String, let start = r["window_start"] as? String,
                  let views = r["views"] as? Int, let unique = r["unique_viewers"] as? Int else { continue }
            result["\(post)@\(start)"] = "\(views)/\(unique)"
        }
        return result
    }

    /// A running serve (open feed, partial results every 100 ms) and a client subscribed to
    /// its post views.
    static func serveWithPostViewsFeed() throws -> (ServeTests.Server, BlockingWebSocketClient) {
        let server = try ServeTests.Server(["--insecure-no-auth", "--coalesce-ms", "100"])
        struct NotStarted: Error { var stderr: String }
        guard server.port > 0 else {
            server.stop()
            throw NotStarted(stderr: server.stderr)
        }
        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        feed.send(#"{"op":"subscribe","topics":["post_views"]}"#)
        #expect(feed.next() == #"{"op":"subscribed","topics":["post_views"]}"#)
        return (server, feed)
    }

    @Test("final post views on the feed equal replay's for the same 20 000 events")
    func serveEqualsReplay() throws {
        let dir = try E2ETempDir()
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 21, count: 20_000).write(to: URL(fileURLWithPath: input))
        let replay = try ReplayE2E.run(input: input, in: dir, parallelism: 2)
        #expect(replay.summary.late == 0, "the generated disorder stays within the bound")
        let expected = Self.finals(replay.outputLines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] })
        try #require(expected.count > 100)

        let (server, feed) = try Self.serveWithPostViewsFeed()
        defer { server.stop() }

        let lines = ReplayE2E.readLines(input)
        for start in stride(from: 0, to: lines.count, by: 1_000) {
            let (status, body) = try ServeTests.post(server.port, lines[start..<min(start + 1_000, lines.count)].joined(separator: "\n"))
            try #require(status == 202, "\(body.prefix(300))")
        }
        // A view an hour later moves event time past every window of the file.
        let flush = #"{"event_id":"00000000-0000-4000-8000-0000000f1005","event_name":"post_viewed","timestamp":"2026-02-23T01:00:00Z","post_id":"p-flush","creator_id":"c-flush"}"#
        #expect(try ServeTests.post(server.port, flush).status == 202)

        var seen: [String: String] = [:]
        var open = Set(expected.keys)
        let deadline = Date().addingTimeInterval(90)
        while Date() < deadline, !open.isEmpty, let message = feed.next() {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(message.utf8))) as? [String: Any],
                  let data = object["data"] as? [String: Any] else { continue }
            for (key, value) in Self.finals([data]) {
                seen[key] = value
                open.remove(key)
            }
        }
        let missing = expected.keys.filter { seen[$0] == nil }.sorted()
        #expect(missing.isEmpty, "\(missing.count) of \(expected.count) windows never closed on the feed: \(missing.prefix(5))")
        let different = expected.keys.filter { seen[$0] != nil && seen[$0] != expected[$0] }.sorted()
        #expect(different.isEmpty, "\(different.count) windows differ, e.g. \(different.prefix(5).map { "\($0): feed \(seen[$0]!) replay \(expected[$0]!)" })")
        let extra = seen.keys.filter { expected[$0] == nil && !$0.hasPrefix("p-flush@") }.sorted()
        #expect(extra.isEmpty, "windows on the feed that replay does not have: \(extra.prefix(5))")
    }

    @Test("bad input end to end: malformed JSON, wrong types, missing fields, unknown kinds and an oversized body get clear errors and dead letters; the good events around them all count, and the job keeps running")
    func badInputEndToEnd() throws {
        let (server, feed) = try Self.serveWithPostViewsFeed()
        defer { server.stop() }

        func view(_ i: Int, post: String) -> String {
            #"{"event_id":"\#(ServeTests.uuid(i))","event_name":"post_viewed","timestamp":"2026-03-02T08:00:\#(String(format: "%02d", i % 60))Z","user_id":"u-\#(i)","post_id":"\#(post)","creator_id":"c-1"}"#
        }
        let bad = [
            #"{"event_id":"\#(ServeTests.uuid(900))","event_name":"post_viewed","timestamp":"#,             // malformed JSON
            #"{"event_id":"\#(ServeTests.uuid(901))","event_name":"post_viewed","timestamp":"2026-03-02T08:00:01Z","post_id":"p-bad","creator_id":"c-1","time_on_page_seconds":"long"}"#,  // wrong type
            #"{"event_id":"\#(ServeTests.uuid(902))","event_name":"post_viewed","timestamp":"2026-03-02T08:00:02Z","creator_id":"c-1"}"#,  // missing post_id
            #"{"event_id":"\#(ServeTests.uuid(903))","event_name":"post_liked","timestamp":"2026-03-02T08:00:03Z"}"#,  // unknown kind
            "[1, 2, 3]",                                                                                        // not an object
        ]
        let good = (0..<5).map { view($0, post: "p-good") }
        let batch = [good[0], bad[0], good[1], bad[1], good[2], bad[2], bad[3], good[3], bad[4], good[4]]
        let (status, answer) = try ServeTests.post(server.port, batch.joined(separator: "\n"))
        #expect(status == 202)
        #expect(answer.hasPrefix(#"{"accepted":5,"rejected":5,"errors":[{"index":1,"error":"malformed JSON"},{"index":3,"error":"time_on_page_seconds must be a number"},{"index":5,"error":"missing required field post_id for post_viewed"},{"index":6,"error":"unknown event_name \"post_liked\""},{"index":8,"error":"not a JSON object"}]"#), "\(answer)")

        // A body over the collector's limit (8 MiB) is refused from its Content-Length,
        // before it is read.
        let huge = try BlockingSocketClient(port: server.port)
        huge.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: \(9 << 20)\r\n\r\n"
                  + view(50, post: "p-huge"))
        #expect(huge.receiveHTTPResponse().status == 413)

        // The job goes on: more good events, then one a minute later closes the window.
        let more = (5..<10).map { view($0, post: "p-good") } + [view(99, post: "p-later").replacingOccurrences(of: "08:00:39", with: "08:02:00")]
        #expect(try ServeTests.post(server.port, more.joined(separator: "\n")).status == 202)
        let final = feed.next(containing: #""post_id":"p-good","creator_id":"c-1","views":10,"unique_viewers":10,"final":true"#)
        #expect(final != nil, "all ten good views, around the bad lines and after the huge body, are counted")

        var deadLetters = ""
        let deadline = Date().addingTimeInterval(10)
        repeat {
            deadLetters = (try? String(contentsOfFile: server.deadLetterPath, encoding: .utf8)) ?? ""
            if deadLetters.split(separator: "\n").count >= 5 { break }
            Thread.sleep(forTimeInterval: 0.1)
        } while Date() < deadline
        let categories = deadLetters.split(separator: "\n").compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: String])?["category"]
        }
        #expect(categories == ["malformed", "type:time_on_page_seconds", "missing:post_id", "value:event_name", "malformed"], "\(deadLetters)")
        #expect(!deadLetters.contains("p-huge"), "the refused body is not dead-lettered: it was never read")
    }
}
