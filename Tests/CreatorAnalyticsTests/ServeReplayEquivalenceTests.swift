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

    @Test("final post views on the feed equal replay's for the same 20 000 events")
    func serveEqualsReplay() throws {
        let dir = try E2ETempDir()
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 21, count: 20_000).write(to: URL(fileURLWithPath: input))
        let replay = try ReplayE2E.run(input: input, in: dir, parallelism: 2)
        #expect(replay.summary.late == 0, "the generated disorder stays within the bound")
        let expected = Self.finals(replay.outputLines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] })
        try #require(expected.count > 100)

        let server = try ServeTests.Server(["--insecure-no-auth", "--coalesce-ms", "100"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        feed.send(#"{"op":"subscribe","topics":["post_views"]}"#)
        #expect(feed.next() == #"{"op":"subscribed","topics":["post_views"]}"#)

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
}
