import CreatorAnalyticsKit
import Foundation
import RunnelAuth
import RunnelTesting
import RunnelWebSocket
import Testing

/// `creator-analytics serve` as a user runs it: events posted over HTTP flow through the
/// live job and come out on the WebSocket feed; tokens decide who sees what.
@Suite(.serialized) struct ServeTests {
    /// A running `serve` child process and the port it printed.
    final class Server {
        let process = Process()
        let errors = Pipe()
        private(set) var port = 0
        private(set) var stderr = ""
        /// The data directory (log, checkpoints, results) of this server: a temporary one of
        /// its own unless given.
        let dataDirectory: String
        /// Whether `stop()` removes the data directory.
        let ownsDataDirectory: Bool
        /// The dead-letter file this server writes.
        var deadLetterPath: String { dataDirectory + "/dead-letters.ndjson" }

        init(_ arguments: [String], environment: [String: String] = [:], dataDirectory: String? = nil) throws {
            self.dataDirectory = dataDirectory ?? NSTemporaryDirectory() + "runnel-serve-\(UUID().uuidString)"
            ownsDataDirectory = dataDirectory == nil
            process.executableURL = try CreatorAnalyticsCLI.location.get()
            process.arguments = ["serve", "--port", "0", "--parallelism", "2", "--data-dir", self.dataDirectory] + arguments
            var env = ProcessInfo.processInfo.environment
            env.removeValue(forKey: "RUNNEL_AUTH_SECRET")
            for (k, v) in environment { env[k] = v }
            process.environment = env
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // Read stderr until the "serving on" line (or the process ends).
            let deadline = Date().addingTimeInterval(20)
            while port == 0 && Date() < deadline {
                let data = errors.fileHandleForReading.availableData
                if data.isEmpty { break }
                stderr += String(decoding: data, as: UTF8.self)
                if let range = stderr.range(of: #"127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                    port = Int(stderr[range].split(separator: ":")[1]) ?? 0
                }
            }
        }

        func stop() {
            if process.isRunning { process.interrupt() }
            process.waitUntilExit()
            if ownsDataDirectory { try? FileManager.default.removeItem(atPath: dataDirectory) }
        }
    }

    /// A UUID-formatted event id (the schema requires one) numbered `i`.
    static func uuid(_ i: Int) -> String { String(format: "00000000-0000-4000-8000-%012d", i) }

    static func post(_ port: Int, _ body: String, contentType: String = "application/x-ndjson") throws -> (status: Int, body: String) {
        let client = try BlockingSocketClient(port: port)
        client.send("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        let response = client.receiveHTTPResponse()
        return (response.status, response.body)
    }

    static let events = ReplayE2E.generate(seed: 77, count: 400)

    @Test("events posted to the collector come out on the feed as live post_views counts; bad events are reported per index")
    func collectorToFeed() throws {
        let server = try Server(["--insecure-no-auth"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        #expect(server.stderr.contains("--insecure-no-auth"), "it warns loudly")
        let health = try BlockingSocketClient(port: server.port)
        health.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(health.receiveHTTPResponse().body == #"{"status":"ok"}"#)

        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        #expect(feed.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        feed.send(#"{"op":"subscribe","topics":["post_views"]}"#)
        #expect(feed.next() == #"{"op":"subscribed","topics":["post_views"]}"#)
        #expect(feed.next()?.hasPrefix(#"{"op":"snapshot","topic":"post_views""#) == true)

        let lines = String(decoding: Self.events, as: UTF8.self).split(separator: "\n").prefix(200)
        let (status, body) = try Self.post(server.port, lines.joined(separator: "\n") + "\n{\"event_id\":\"x\"}\n")
        #expect(status == 202, "\(body)")
        #expect(body.contains(#""rejected":"#) && body.contains(#"{"index":200,"error":"missing event_name"}"#), "\(body)")
        let deadLetters = try String(contentsOfFile: server.deadLetterPath, encoding: .utf8)
        #expect(deadLetters.contains(#""category":"missing:event_name","reason":"missing event_name","raw":"{\"event_id\":\"x\"}""#),
                "the rejected event is in the dead-letter file: \(deadLetters)")
        let update = try #require(feed.next(containing: #""topic":"post_views""#), "a live update arrived")
        #expect(update.contains(#""type":"post_views""#) && update.contains(#""final":"#))

        #expect(try Self.post(server.port, "{}", contentType: "text/plain").status == 415)
        #expect(try Self.post(server.port, "[1, 2", contentType: "application/json").status == 400)
        let array = "[" + lines.prefix(3).joined(separator: ",") + "]"
        #expect(try Self.post(server.port, array, contentType: "application/json").body.hasPrefix(#"{"accepted":3,"#))

        server.stop()
        #expect(feed.closeCode() == 1001, "stopping serve closes feed clients with 1001 (going away)")
    }

    @Test("with two collector readers, event time advances and windows close: final post_views and platform counts; /metrics shows the job")
    func eventTimeAndMetrics() throws {
        let server = try Server(["--insecure-no-auth", "--coalesce-ms", "100"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        feed.send(#"{"op":"subscribe","topics":["post_views","platform","trending"]}"#)
        #expect(feed.next() == #"{"op":"subscribed","topics":["post_views","platform","trending"]}"#)

        func view(_ i: Int, _ time: String) -> String {
            #"{"event_id":"\#(Self.uuid(i))","event_name":"post_viewed","timestamp":"\#(time)","user_id":"u-\#(i % 7)","post_id":"p-1","creator_id":"c-1","ip_address":"198.51.100.\#(i)"}"#
        }
        // One POST is one batch, taken by one of the two readers; the other has nothing.
        // It must go idle rather than hold the watermark back forever.
        var minute = (0..<30).map { view($0, "2026-03-01T10:00:\(String(format: "%02d", $0))Z") }
        minute.append(#"{"event_id":"00000000-0000-4000-8000-0000000000a1","event_name":"user_registered","timestamp":"2026-03-01T10:00:41Z","user_id":"u-50","email":"writer@example.com","role":"creator","ip_address":"203.0.113.9"}"#)
        minute.append(#"{"event_id":"00000000-0000-4000-8000-0000000000b1","event_name":"payment_succeeded","timestamp":"2026-03-01T10:00:40Z","user_id":"u-1","creator_id":"c-1","amount":4.5,"currency":"EUR"}"#)
        // With an event of the wrong type, which the collector rejects and counts by reason,
        // and one at 10:02.
        let wrongType = #"{"event_id":"\#(Self.uuid(500))","event_name":"post_viewed","timestamp":"2026-03-01T10:01:00Z","post_id":"p-1","creator_id":"c-1","scroll_depth_percentage":"deep"}"#
        let batch = minute + [view(99, "2026-03-01T10:02:00Z"), wrongType]
        let (status, answer) = try Self.post(server.port, batch.joined(separator: "\n"))
        #expect(status == 202 && answer.contains(#"{"index":33,"error":"scroll_depth_percentage must be a number"}"#), "\(answer)")

        var finalViews: String?, finalPlatform: String?, seen: [String] = []
        let deadline = Date().addingTimeInterval(20)
        while (finalViews == nil || finalPlatform == nil) && Date() < deadline, let message = feed.next() {
            seen.append(message)
            guard message.contains(#""window_start":"2026-03-01T10:00:00.000Z""#), message.contains(#""final":true"#) else { continue }
            if message.contains(#""topic":"post_views""#) { finalViews = message }
            if message.contains(#""topic":"platform""#) { finalPlatform = message }
        }
        let views = try #require(finalViews, "the 10:00 window of p-1 closed on event time: \(seen)")
        #expect(views.contains(#""views":30,"unique_viewers":7"#), "\(views)")
        let platform = try #require(finalPlatform, "the platform's 10:00 minute closed")
        #expect(platform.contains(#""events":32,"active_users":8,"active_sessions":8,"post_views":30,"#), "\(platform)")
        #expect(platform.contains(#""users_registered":1,"new_creators":1,"#), "\(platform)")
        #expect(platform.contains(#""subscriptions":0,"paid_subscriptions":0,"#), "\(platform)")
        for message in seen {
            #expect(!message.contains("@example.com") && !message.contains("198.51.100.") && !message.contains("203.0.113."),
                    "no email or IP address on the feed: \(message)")
        }
        #expect(platform.contains(#""payments":1,"revenue":{"EUR":4.50}"#), "\(platform)")

        // Sessions close 30 minutes after their last event; the minute they close in is
        // counted once the watermark passes it. u-0 and u-2…u-6 viewed within 10:00:00–29
        // (28 s and 21 s sessions), u-50 registered at 10:00:41 (0 s): seven sessions closed
        // in 10:30, none a bounce (u-1's runs to 10:02 and closes later). The event at 10:33
        // that closes them comes after a spell in which every input of the job was idle: the
        // subtasks of the sessions step then wake one after the other, and the per-minute
        // step must wait for both (the input gates' wake hold) or it drops some as late.
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try Self.post(server.port, view(200, "2026-03-01T10:33:00Z")).status == 202)
        func isSessionMinute(_ message: String) -> Bool {
            message.contains(#""type":"session_minute""#) && message.contains(#""window_start":"2026-03-01T10:30:00.000Z""#)
        }
        var sessionMinute = seen.last(where: isSessionMinute)
        let sessionDeadline = Date().addingTimeInterval(20)
        while sessionMinute == nil && Date() < sessionDeadline, let message = feed.next() {
            seen.append(message)
            if isSessionMinute(message) { sessionMinute = message }
        }
        // Trending: p-1's views in [10:00, 10:10) are the 30 of 10:00 and the one of 10:02.
        func isTrending(_ message: String) -> Bool {
            message.contains(#""type":"trending_posts""#) && message.contains(#""window_end":"2026-03-01T10:10:00.000Z""#)
        }
        var trending = seen.last(where: isTrending)
        while trending == nil && Date() < sessionDeadline, let message = feed.next() {
            seen.append(message)
            if isTrending(message) { trending = message }
            if isSessionMinute(message) { sessionMinute = message }
        }
        let top = try #require(trending, "the trending posts of [10:00, 10:10) were published")
        #expect(top.contains(#""window_start":"2026-03-01T10:00:00.000Z","window_end":"2026-03-01T10:10:00.000Z","posts":[{"rank":1,"post_id":"p-1","views":31}]"#), "\(top)")
        let closed = try #require(sessionMinute, "the sessions closed in 10:30 were counted: \(seen.suffix(6))")
        #expect(closed.contains(#""sessions":7,"avg_duration_seconds":19.000,"#) && closed.contains(#""bounce_rate":0.0000"#), "\(closed)")
        #expect(closed.contains(#""final":true"#), "\(closed)")

        let client = try BlockingSocketClient(port: server.port)
        client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let page = client.receiveHTTPResponse().body
        for expected in [#"runnel_records_in_total{operator="dedup"} 34"#, "runnel_collector_events_accepted_total 34",
                         #"runnel_windows_fired_total{operator="platform"}"#, #"runnel_watermark_lag_seconds{operator="post-views"}"#,
                         "runnel_feed_clients 1.0", "runnel_feed_deliveries_total", "runnel_allocator_resident_bytes",
                         #"runnel_collector_events_rejected_by_reason_total{reason="type:scroll_depth_percentage"} 1"#,
                         "# TYPE runnel_late_records_total counter"] {
            #expect(page.contains(expected), "\(expected) in /metrics:\n\(page)")
        }
    }

    @Test("--demo feeds generated traffic stamped now: live counts for the current minute arrive within seconds; bad lines are dead-lettered")
    func demoTraffic() throws {
        let server = try Server(["--insecure-no-auth", "--demo", "--demo-rate", "2000", "--coalesce-ms", "100"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        feed.send(#"{"op":"subscribe","topics":["post_views"]}"#)
        #expect(feed.next() == #"{"op":"subscribed","topics":["post_views"]}"#)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var live: String?
        let deadline = Date().addingTimeInterval(20)
        while live == nil && Date() < deadline, let message = feed.next() {
            guard message.contains(#""topic":"post_views""#), let range = message.range(of: #""window_start":""#) else { continue }
            let start = message[range.upperBound...].prefix(24)
            if let date = formatter.date(from: String(start)), abs(date.timeIntervalSinceNow) < 180 { live = message }
        }
        #expect(live != nil, "a post_views update for a minute around now arrived")
        var deadLetters = ""
        while deadLetters.isEmpty && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            deadLetters = (try? String(contentsOfFile: server.deadLetterPath, encoding: .utf8)) ?? ""
        }
        #expect(deadLetters.contains(#""category":"#), "some generated lines are malformed or invalid and are dead-lettered")
        let client = try BlockingSocketClient(port: server.port)
        client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let page = client.receiveHTTPResponse().body
        #expect(page.contains("runnel_demo_events_sent_total") && !page.contains("runnel_demo_events_sent_total 0\n"), "\(page.prefix(3000))")
    }

    @Test("load posts generated events to serve and reports what the collector took")
    func loadCommand() throws {
        let server = try Server(["--insecure-no-auth", "--queue-capacity", "2000"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        let load = Process()
        load.executableURL = try CreatorAnalyticsCLI.location.get()
        load.arguments = ["load", "--url", "http://127.0.0.1:\(server.port)/v1/events", "--events", "6000", "--rate", "0", "--batch-size", "500"]
        let errors = Pipe()
        load.standardError = errors
        load.standardOutput = FileHandle.nullDevice
        try load.run()
        let output = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        load.waitUntilExit()
        #expect(load.terminationStatus == 0, "\(output)")
        let summary = try #require(output.split(separator: "\n").last { $0.contains("creator-analytics: sent") }, "\(output)")
        #expect(summary.contains("sent 6000 events"), "\(summary)")
        func count(before word: String) -> Int? {
            guard let range = summary.range(of: #"(\d+) "# + word, options: .regularExpression) else { return nil }
            return Int(summary[range].split(separator: " ")[0])
        }
        let accepted = try #require(count(before: "accepted")), rejected = try #require(count(before: "rejected"))
        #expect(accepted + rejected == 6000, "\(summary)")
        let client = try BlockingSocketClient(port: server.port)
        client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        let page = client.receiveHTTPResponse().body
        #expect(page.contains("runnel_collector_events_accepted_total \(accepted)\n"), "\(page.prefix(2000))")
    }

    @Test("a creator's topic carries their minute: views, comments (attributed through the post), free and paid subscribers, revenue")
    func creatorMinute() throws {
        let server = try Server(["--insecure-no-auth", "--coalesce-ms", "100"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        feed.send(#"{"op":"subscribe","topics":["creator:c-9"]}"#)
        #expect(feed.next() == #"{"op":"subscribed","topics":["creator:c-9"]}"#)
        func event(_ i: Int, _ second: Int, _ fields: String) -> String {
            #"{"event_id":"\#(Self.uuid(700 + i))","timestamp":"2026-03-03T09:00:\#(String(format: "%02d", second))Z",\#(fields)}"#
        }
        let lines = [
            event(1, 1, #""event_name":"post_published","user_id":"c-9","post_id":"p-9","post_type":"article""#),
            event(2, 2, #""event_name":"comment_submitted","user_id":"u-1","post_id":"p-9","comment_id":"cm-1""#),
            event(3, 3, #""event_name":"post_viewed","user_id":"u-2","post_id":"p-9","creator_id":"c-9""#),
            event(4, 4, #""event_name":"creator_subscribed","subscriber_id":"u-3","creator_id":"c-9","subscription_type":"free""#),
            event(5, 5, #""event_name":"creator_subscribed","subscriber_id":"u-4","creator_id":"c-9","subscription_type":"paid","tier_name":"Gold""#),
            event(6, 6, #""event_name":"payment_succeeded","user_id":"u-4","creator_id":"c-9","amount":5,"currency":"USD""#),
            #"{"event_id":"\#(Self.uuid(799))","timestamp":"2026-03-03T09:02:00Z","event_name":"user_logged_in","user_id":"u-5"}"#,
        ]
        #expect(try Self.post(server.port, lines.joined(separator: "\n")).status == 202)
        let minute = feed.next(containing: #""type":"creator_minute","creator_id":"c-9","window_start":"2026-03-03T09:00:00.000Z""#
            + #","window_end":"2026-03-03T09:01:00.000Z","views":1,"comments":1,"new_subscribers":{"free":1,"paid":1},"revenue":{"USD":5.00},"final":true"#)
        #expect(minute != nil, "the creator's final minute arrived with every count")
    }

    @Test("with a secret, the feed needs a token: a creator sees their own topic only; without a secret serve runs open on loopback only, and refuses any other address")
    func tokens() throws {
        let secret = "serve-test-secret"
        let server = try Server([], environment: ["RUNNEL_AUTH_SECRET": secret])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        #expect(try BlockingWebSocketClient(port: server.port, token: nil).handshakeStatus() == "HTTP/1.1 401 Unauthorized")
        let token = HS256TokenVerifier(secret: Array(secret.utf8))
            .sign(AccessToken(subject: "c-1", role: .creator, expiresAt: Int64(Date().timeIntervalSince1970) + 600))
        let creator = try BlockingWebSocketClient(port: server.port, token: token)
        #expect(creator.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        creator.send(#"{"op":"subscribe","topics":["sessions","creator:c-1"]}"#)
        #expect(creator.next() == #"{"op":"error","error":"forbidden","topic":"sessions"}"#)
        #expect(creator.next() == #"{"op":"subscribed","topics":["creator:c-1"]}"#)

        let local = try Server([])
        #expect(local.port > 0 && local.stderr.contains("to clients on this machine (127.0.0.1) only"), "\(local.stderr)")
        local.stop()
        let refused = try Server(["--host", "0.0.0.0"])
        refused.process.waitUntilExit()
        let rest = String(decoding: refused.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(refused.process.terminationStatus != 0)
        #expect((refused.stderr + rest).contains("RUNNEL_AUTH_SECRET"), "\(refused.stderr + rest)")

        let badInterval = try Server(["--insecure-no-auth", "--coalesce-ms", "5"])
        badInterval.process.waitUntilExit()
        let message = badInterval.stderr + String(decoding: badInterval.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(badInterval.process.terminationStatus != 0)
        #expect(message.contains("--coalesce-ms must be at least 10"), "\(message)")
    }

    @Test("the dashboard page, opened in headless Chromium, connects and shows live numbers; a screenshot is saved")
    func dashboardInABrowser() throws {
        let installed = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let browser = try #require(installed, "Chromium is needed (Debian package chromium; scripts/install-deps.sh installs it)")
        let server = try Server(["--insecure-no-auth"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        let lines = String(decoding: Self.events, as: UTF8.self).split(separator: "\n").prefix(300)
        #expect(try Self.post(server.port, lines.joined(separator: "\n")).status == 202)
        // Wait until the job has published post views (early firing every 250 ms).
        let feed = try BlockingWebSocketClient(port: server.port, token: nil)
        feed.send(#"{"op":"subscribe","topics":["post_views"]}"#)
        _ = feed.next(containing: #""topic":"post_views""#)

        func runBrowser(_ arguments: [String]) throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: browser)
            process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000"] + arguments
                + ["http://127.0.0.1:\(server.port)/"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text
        }
        // The browser's virtual time runs ahead of the real network: on a loaded machine the
        // budget can run out before the WebSocket is up. Up to three page loads, each checked.
        var dom = ""
        for _ in 0..<3 {
            dom = try runBrowser(["--dump-dom"])
            if dom.contains(#"id="state" class="live">live<"#) && dom.contains(#"data-post=""#)
                && dom.contains(#"id="platform-events">"#) && !dom.contains(#"id="platform-events">0<"#) { break }
        }
        #expect(dom.contains(#"id="state" class="live">live<"#), "the page is connected: \(dom.prefix(2_000))")
        #expect(dom.contains(#"data-post=""#), "top posts are listed")
        let total = dom.range(of: #"id="total-views">(\d+)<"#, options: .regularExpression).map { String(dom[$0]) } ?? ""
        #expect(!total.isEmpty && !total.contains(">0<"), "views are counted: \(total)")
        let platform = dom.range(of: #"id="platform-events">(\d+)<"#, options: .regularExpression).map { String(dom[$0]) } ?? ""
        #expect(!platform.isEmpty && !platform.contains(">0<"), "platform counters are shown: \(platform)")
        let active = dom.range(of: #"id="active-sessions">(\d+)<"#, options: .regularExpression).map { String(dom[$0]) } ?? ""
        #expect(!active.isEmpty && !active.contains(">0<"), "active sessions are shown: \(active)")

        let artifacts = FileManager.default.currentDirectoryPath + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        _ = try runBrowser(["--window-size=1200,800", "--screenshot=\(artifacts)/dashboard.png"])
        #expect(FileManager.default.fileExists(atPath: artifacts + "/dashboard.png"), "screenshot in \(artifacts)")
    }
}
