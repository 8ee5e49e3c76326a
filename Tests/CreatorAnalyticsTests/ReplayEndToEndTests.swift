import CreatorAnalyticsKit
import Foundation
import RunnelCore
import RunnelJSON
import RunnelRuntime
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// End-to-end tests of `ReplayJob` against the sequential reference in ReplayReference.swift.
///
/// Serialized: each test runs whole jobs with several loop threads on a 2-core machine.
@Suite("Replay end to end", .serialized, .timeLimit(.minutes(3)))
struct ReplayEndToEndTests {

    // MARK: Generated traffic, every parallelism

    @Test("generated traffic: results, counts and dead letters equal the reference at p = 1, 2, 4",
          arguments: [(UInt64(11), 20_000), (UInt64(29), 35_000), (UInt64(2026), 50_000)])
    func generatedTraffic(seed: UInt64, count: Int) throws {
        let dir = try E2ETempDir()
        let input = dir.path("events-\(seed).ndjson")
        let data = ReplayE2E.generate(seed: seed, count: count)
        try data.write(to: URL(fileURLWithPath: input))

        let decoded = ReplayRef.decode(data)
        let batch = ReplayRef.evaluate(decoded)
        var streamingOptions = ReplayRef.Options()
        streamingOptions.watermarkBlockLines = ReplayRef.sourceLinesPerRead
        let streaming = ReplayRef.evaluate(decoded, streamingOptions)

        // The reference agrees with itself: the default profile's disorder stays within the
        // bound, so the watermark model changes nothing; sessions equal the plain definition.
        #expect(streaming.late == 0)
        #expect(streaming.records == batch.records)
        #expect(batch.records.filter { $0.hasPrefix("session|") } == ReplayRef.plainSessions(batch.acceptedEvents))
        // The profile really exercises duplicates and every kind of bad line.
        #expect(batch.duplicates > 0 && batch.invalid > 0 && batch.records.count > 1000)
        #expect(batch.linesRead == count)

        for p in [1, 2, 4] {
            let run = try ReplayE2E.run(input: input, in: dir, parallelism: p)
            ReplayE2E.expectRun(run, batch, "seed \(seed) p=\(p)")
            #expect(run.summary.late == 0, "seed \(seed) p=\(p): no late data in the default profile")
        }
    }

    // MARK: Hand-written edge cases

    /// Builds a file from `(line, terminator)` pairs.
    private func file(_ lines: [(String, String)]) -> Data {
        Data(lines.map { $0.0 + $0.1 }.joined().utf8)
    }

    private func ev(_ id: String, _ name: String, _ ts: String, _ extra: String = "") -> String {
        #"{"event_id":"\#(id)","event_name":"\#(name)","timestamp":"\#(ts)"\#(extra.isEmpty ? "" : "," + extra)}"#
    }

    /// Every kind of invalid line and the valid corner cases, each line tagged with what it is.
    private func edgeCaseLines() -> [(String, String)] {
        let lf = "\n", crlf = "\r\n"
        var l: [(String, String)] = []
        // Sessions: a gap of exactly 30:00.000 splits, 29:59.999 does not.
        l.append((ev("g30-a", "user_logged_in", "2026-03-01T10:00:00.000Z", #""user_id":"u-gap30""#), lf))
        l.append((ev("g30-b", "user_logged_in", "2026-03-01T10:30:00.000Z", #""user_id":"u-gap30""#), lf))
        l.append((ev("g29-a", "user_logged_in", "2026-03-01T10:00:00.000Z", #""user_id":"u-gap29""#), lf))
        l.append((ev("g29-b", "post_viewed", "2026-03-01T10:29:59.999Z", #""user_id":"u-gap29","post_id":"p-9","creator_id":"c-9""#), lf))
        // Out of order by 3 s: c arrives after b and bridges a and b into one session.
        l.append((ev("br-a", "user_logged_in", "2026-03-01T11:00:00.000Z", #""user_id":"u-bridge""#), lf))
        l.append((ev("br-b", "post_viewed", "2026-03-01T11:30:02.000Z", #""user_id":"u-bridge","post_id":"p-1","creator_id":"c-1""#), lf))
        l.append((ev("br-c", "post_viewed", "2026-03-01T11:29:59.000Z", #""user_id":"u-bridge","post_id":"p-2","creator_id":"c-2""#), crlf))
        // Views of p-edge in the 10:05 window: users, anonymous sessions, no id at all.
        let view = #""post_id":"p-edge","creator_id":"c-edge""#
        l.append((ev("v1", "post_viewed", "2026-03-01T10:05:00.000Z", #""user_id":"u-1","session_id":"s-x",\#(view)"#), lf))
        l.append((ev("v2", "post_viewed", "2026-03-01T10:05:10.000Z", #""user_id":"u-1",\#(view)"#), lf))
        l.append((ev("v3", "post_viewed", "2026-03-01T10:05:20.000Z", #""session_id":"s-anon",\#(view)"#), crlf))
        l.append((ev("v4", "post_viewed", "2026-03-01T10:05:30.000Z", #""session_id":"s-anon","user_id":null,\#(view)"#), lf))
        l.append((ev("v5", "post_viewed", "2026-03-01T10:05:40.000Z", view), lf))
        l.append((ev("v6", "post_viewed", "2026-03-01T10:05:59.999Z", #""session_id":null,\#(view)"#), lf))
        l.append((ev("v7", "post_viewed", "2026-03-01T10:06:00.000Z", #""user_id":"u-1",\#(view)"#), lf))
        // Exact duplicates (same line twice, and once more after other lines).
        l.append((ev("v1", "post_viewed", "2026-03-01T10:05:00.000Z", #""user_id":"u-1","session_id":"s-x",\#(view)"#), lf))
        l.append((ev("dup-1", "comment_submitted", "2026-03-01T10:07:00.000Z", #""user_id":"u-2","post_id":"p-edge","comment_id":"k-1""#), lf))
        l.append((ev("dup-1", "comment_submitted", "2026-03-01T10:07:00.000Z", #""user_id":"u-2","post_id":"p-edge","comment_id":"k-1""#), lf))
        // Fractions are truncated to the millisecond; leap day; before the epoch.
        l.append((ev("f1", "user_logged_in", "2026-03-01T12:00:00.1Z", #""user_id":"u-frac""#), lf))
        l.append((ev("f2", "user_logged_in", "2026-03-01T12:00:01.123456789Z", #""user_id":"u-frac""#), lf))
        l.append((ev("f3", "user_logged_in", "2026-03-01T12:00:02.9999Z", #""user_id":"u-frac""#), lf))
        l.append((ev("f4", "user_logged_in", "2026-03-01T12:00:03.05Z", #""user_id":"u-frac""#), lf))
        l.append((ev("leap", "user_registered", "2024-02-29T23:59:59Z", #""user_id":"u-leap""#), lf))
        l.append((ev("old", "post_viewed", "1969-12-31T23:59:59.999Z", #""session_id":"s-old","post_id":"p-old","creator_id":"c-old""#), lf))
        // Integer ids, escaped and non-ASCII ids, unknown fields, every other kind.
        l.append((ev("int-1", "post_viewed", "2026-03-01T13:00:00Z", #""user_id":42,"post_id":1001,"creator_id":7"#), lf))
        l.append((ev("int-2", "user_logged_in", "2026-03-01T13:01:00Z", #""user_id":"42""#), lf))
        l.append((ev("uni", "post_viewed", "2026-03-01T13:00:00Z", #""user_id":"üser \"q\" 🎉","post_id":"p-ü","creator_id":"c-\\""#), lf))
        l.append((ev("x-1", "post_published", "2026-03-01T13:02:00Z", #""user_id":"u-3","post_id":"p-new","extra":{"a":[1,2,{"b":null}]},"n":1.5"#), lf))
        l.append((ev("x-2", "creator_subscribed", "2026-03-01T13:03:00Z", #""subscriber_id":"u-4","creator_id":"c-1""#), lf))
        l.append((ev("x-3", "payment_succeeded", "2026-03-01T13:04:00Z", #""user_id":"u-3","creator_id":"c-1","amount":5,"currency":"USD""#), lf))
        l.append((ev("x-4", "payment_succeeded", "2026-03-01T13:05:00Z", #""user_id":"u-3","creator_id":"c-1","amount":9.99,"currency":"EUR""#), lf))
        l.append((#"  {"event_id":"ws","event_name":"user_logged_in","timestamp":"2026-03-01T13:06:00Z","user_id":"u-3"}  "#, lf))

        // Invalid: not JSON / not an object / empty.
        l.append((#"{"event_id":"bad-1","event_name":"post_viewed""#, lf))
        l.append(("not json at all", lf))
        l.append(("[1,2,3]", lf))
        l.append((#""just a string""#, crlf))
        l.append(("42", lf))
        l.append(("null", lf))
        l.append(("", lf))
        l.append(("", crlf))
        l.append(("   ", lf))
        // Invalid: event_id.
        l.append((#"{"event_name":"user_logged_in","timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#, lf))
        l.append((#"{"event_id":null,"event_name":"user_logged_in","timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#, lf))
        l.append((#"{"event_id":"","event_name":"user_logged_in","timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#, lf))
        l.append((#"{"event_id":17,"event_name":"user_logged_in","timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#, lf))
        // Invalid: event_name.
        l.append((ev("n-1", "page_scrolled", "2026-03-01T10:00:00Z", #""user_id":"u""#), lf))
        l.append((ev("n-2", "Post_Viewed", "2026-03-01T10:00:00Z", #""post_id":"p","creator_id":"c""#), lf))
        l.append((#"{"event_id":"n-3","timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#, lf))
        l.append((#"{"event_id":"n-4","event_name":null,"timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#, lf))
        // Invalid: timestamps.
        for (i, ts) in ["2026-03-01T10:00:00+01:00", "2026-03-01T10:00:00", "2026-03-01T10:00:00.1234567890Z",
                        "2026-02-30T10:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
                        "2026-03-01 10:00:00Z", "2026-03-01t10:00:00z", "2026-03-01T24:00:00Z", "2026-03-01T10:60:00Z",
                        "2026-03-01T10:00:60Z", "2026-03-01T10:00:00.Z", "2026-3-01T10:00:00Z", "2026-03-01T10:00:00.12aZ",
                        "", "2026-03-01T10:00:00.000+00:00", "2026-03-01T10:00:00.000ZZ"].enumerated() {
            l.append((ev("t-\(i)", "user_logged_in", ts, #""user_id":"u-t""#), i % 3 == 0 ? crlf : lf))
        }
        l.append((#"{"event_id":"t-num","event_name":"user_logged_in","timestamp":1772359200000,"user_id":"u-t"}"#, lf))
        l.append((#"{"event_id":"t-miss","event_name":"user_logged_in","user_id":"u-t"}"#, lf))
        l.append((#"{"event_id":"t-null","event_name":"user_logged_in","timestamp":null,"user_id":"u-t"}"#, lf))
        // Invalid: required fields missing or null, for every kind.
        l.append((ev("r-1", "user_registered", "2026-03-01T10:00:00Z", #""session_id":"s""#), lf))
        l.append((ev("r-2", "user_logged_in", "2026-03-01T10:00:00Z", #""user_id":null"#), lf))
        l.append((ev("r-3", "post_viewed", "2026-03-01T10:00:00Z", #""post_id":"p","creator_id":null,"user_id":"u""#), lf))
        l.append((ev("r-4", "post_viewed", "2026-03-01T10:00:00Z", #""creator_id":"c""#), lf))
        l.append((ev("r-5", "post_published", "2026-03-01T10:00:00Z", #""user_id":"u""#), lf))
        l.append((ev("r-6", "comment_submitted", "2026-03-01T10:00:00Z", #""user_id":"u","post_id":"p","comment_id":null"#), lf))
        l.append((ev("r-7", "creator_subscribed", "2026-03-01T10:00:00Z", #""subscriber_id":null,"creator_id":"c","user_id":"u""#), lf))
        l.append((ev("r-8", "payment_succeeded", "2026-03-01T10:00:00Z", #""user_id":"u","creator_id":"c","amount":null,"currency":"USD""#), lf))
        l.append((ev("r-9", "payment_succeeded", "2026-03-01T10:00:00Z", #""user_id":"u","creator_id":"c","amount":3"#), lf))
        // An invalid line that reuses a valid id is a dead letter, not a duplicate.
        l.append((ev("v2", "post_viewed", "2026-03-01T10:05:10.000Z", #""user_id":"u-1""#), lf))
        // The last line has no newline.
        l.append((ev("last", "post_viewed", "2026-03-01T10:05:45.000Z", #""user_id":"u-9",\#(view)"#), ""))
        return l
    }

    @Test("hand-written edge cases equal the reference at p = 1, 2, 4, and the reference is right about them")
    func edgeCases() throws {
        let dir = try E2ETempDir()
        let input = dir.path("edge.ndjson")
        let data = file(edgeCaseLines())
        try data.write(to: URL(fileURLWithPath: input))
        let x = ReplayRef.evaluate(ReplayRef.decode(data))

        // Pin the reference on what the contract says, so that a wrong oracle cannot pass.
        let ts = ReplayRef.formatTimestamp
        let at = { (s: String) in ReplayRef.parseTimestamp(s)! }
        let expectedSubset = [
            ReplayRef.sessionKey(key: "u-gap30", start: at("2026-03-01T10:00:00Z"), end: at("2026-03-01T10:00:00Z"), events: 1, views: 0, posts: 0),
            ReplayRef.sessionKey(key: "u-gap30", start: at("2026-03-01T10:30:00Z"), end: at("2026-03-01T10:30:00Z"), events: 1, views: 0, posts: 0),
            ReplayRef.sessionKey(key: "u-gap29", start: at("2026-03-01T10:00:00Z"), end: at("2026-03-01T10:29:59.999Z"), events: 2, views: 1, posts: 1),
            ReplayRef.sessionKey(key: "u-bridge", start: at("2026-03-01T11:00:00Z"), end: at("2026-03-01T11:30:02Z"), events: 3, views: 2, posts: 2),
            // v1, v2 (u-1), v3, v4 (s-anon), v5, v6 (no viewer), last (u-9); the duplicate of v1 is dropped.
            "post_views|2026-03-01T10:05:00.000Z|2026-03-01T10:06:00.000Z|p-edge|c-edge|views=7|unique=3",
            "post_views|2026-03-01T10:06:00.000Z|2026-03-01T10:07:00.000Z|p-edge|c-edge|views=1|unique=1",
            ReplayRef.sessionKey(key: "s-anon", start: at("2026-03-01T10:05:20Z"), end: at("2026-03-01T10:05:30Z"), events: 2, views: 2, posts: 1),
            ReplayRef.sessionKey(key: "u-frac", start: 1_772_366_400_100, end: 1_772_366_403_050, events: 4, views: 0, posts: 0),
            "post_views|1969-12-31T23:59:00.000Z|1970-01-01T00:00:00.000Z|p-old|c-old|views=1|unique=1",
            ReplayRef.sessionKey(key: "s-old", start: -1, end: -1, events: 1, views: 1, posts: 1),
            ReplayRef.sessionKey(key: "42", start: at("2026-03-01T13:00:00Z"), end: at("2026-03-01T13:01:00Z"), events: 2, views: 1, posts: 1),
            "post_views|2026-03-01T13:00:00.000Z|2026-03-01T13:01:00.000Z|1001|7|views=1|unique=1",
            "post_views|2026-03-01T13:00:00.000Z|2026-03-01T13:01:00.000Z|p-ü|c-\\|views=1|unique=1",
            ReplayRef.sessionKey(key: "üser \"q\" 🎉", start: at("2026-03-01T13:00:00Z"), end: at("2026-03-01T13:00:00Z"), events: 1, views: 1, posts: 1),
            ReplayRef.sessionKey(key: "u-3", start: at("2026-03-01T13:02:00Z"), end: at("2026-03-01T13:06:00Z"), events: 4, views: 0, posts: 0),
        ]
        for record in expectedSubset {
            #expect(x.records.contains(record), "reference misses \(record)")
        }
        #expect(ts(at("2026-03-01T12:00:01.123456789Z")) == "2026-03-01T12:00:01.123Z")
        #expect(!x.records.contains { $0.contains("u-4") }, "creator_subscribed without user or session id has no session")
        #expect(x.duplicates == 2)
        #expect(x.deadLetters.count == 48)
        #expect(x.deadLetters.contains { $0.line == 79 && $0.raw.hasPrefix(#"{"event_id":"v2""#) })
        #expect(x.linesRead == 80)
        #expect(Set(x.deadLetters.map { ReplayRef.category($0.reason) }) == [
            "malformed", "not-object", "empty", "event_id", "event_name", "timestamp",
            "required:user_id", "required:post_id", "required:creator_id", "required:comment_id",
            "required:subscriber_id", "required:amount", "required:currency",
        ])

        for p in [1, 2, 4] {
            let run = try ReplayE2E.run(input: input, in: dir, parallelism: p)
            ReplayE2E.expectRun(run, x, "edge cases p=\(p)")
            // Output formatting: milliseconds and Z, duration with three decimals.
            let gap29 = run.outputLines.first { $0.contains(#""session_key":"u-gap29""#) } ?? ""
            #expect(gap29.contains(#""session_start":"2026-03-01T10:00:00.000Z""#) && gap29.contains(#""duration_s":1799.999"#),
                    "p=\(p): \(gap29)")
        }
    }

    @Test("the job's decoder and the reference agree on every edge-case line (verdict and reason category)")
    func decoderAgreesWithReference() throws {
        let lines = ReplayRef.splitLines(file(edgeCaseLines()))
        let decoder = CreatorEventDecoder()
        for (i, line) in lines.enumerated() {
            let expected = ReplayRef.validate(line, line: i + 1)
            // CreatorLineDecoder reports an empty line before asking the decoder.
            let actual: String? = line.isEmpty ? "empty line" : decoder.decode(string: line).reason
            switch expected {
            case .event(let e):
                #expect(actual == nil, "line \(i + 1) should be valid: \(line) → \(actual ?? "")")
                let event = decoder.decode(string: line).event
                #expect(event?.timestamp == e.timestamp && event?.userId == e.userId && event?.sessionId == e.sessionId
                        && event?.postId == e.postId && event?.creatorId == e.creatorId && event?.eventId == e.eventId,
                        "line \(i + 1): \(line)")
            case .invalid(let reason):
                #expect(actual.map(ReplayRef.category) == ReplayRef.category(reason),
                        "line \(i + 1): reference '\(reason)' vs decoder '\(actual ?? "valid")': \(line)")
            }
        }
    }

    @Test("the replay decoding of every edge-case line is the whole event's replay fields, or the same rejection")
    func replayDecodingAgreesWithWholeEvents() throws {
        let decoder = CreatorEventDecoder()
        var valid = 0, anonymous = 0
        // Ids of another type name nobody: the session then names the visitor.
        let wrongTypes = [
            #"{"event_id":"w1","event_name":"post_viewed","timestamp":"2026-03-01T10:00:00Z","post_id":"p1","creator_id":"c1","user_id":1.5,"session_id":"s-x"}"#,
            #"{"event_id":"w2","event_name":"user_logged_in","timestamp":"2026-03-01T10:00:00Z","user_id":true,"session_id":"s-y"}"#,
            #"{"event_id":"w3","event_name":"post_viewed","timestamp":"2026-03-01T10:00:00Z","post_id":7,"creator_id":[1],"user_id":null}"#,
        ]
        for line in ReplayRef.splitLines(file(edgeCaseLines())) + ReplayRef.splitLines(ReplayE2E.generate(seed: 5, count: 2_000)) + wrongTypes {
            let whole = decoder.decode(string: line)
            let replay = decoder.decodeReplayEvent(string: line)
            #expect(replay.reason == whole.reason, "\(line)")
            #expect(replay.event == whole.event.map(ReplayEvent.init), "\(line)")
            // What the windows consume, against the projections of whole events (older code).
            #expect(replay.event.flatMap(PostView.init) == whole.event.flatMap(PostView.init), "\(line)")
            #expect(replay.event.flatMap(SessionActivity.init) == whole.event.flatMap(SessionActivity.init), "\(line)")
            if let event = replay.event {
                valid += 1
                if event.visitor != nil && event.visitor == whole.event?.sessionId { anonymous += 1 }
                // Only views carry a post and creator: the windows read them from nothing else.
                #expect((event.viewedPost != nil) == (event.name == .postViewed && whole.event?.postId != nil), "\(line)")
            }
        }
        #expect(valid > 1_000 && anonymous > 0, "valid \(valid), visitors named by their session \(anonymous)")
    }

    @Test("a file that is only bad lines, and an empty file, run to completion")
    func degenerateFiles() throws {
        let dir = try E2ETempDir()
        for (name, text) in [("empty", ""), ("bad", "nope\n\n[]\r\n{\"event_id\":\"a\"}"), ("blank", "\n\n\n")] {
            let input = dir.path("\(name).ndjson")
            let data = Data(text.utf8)
            try data.write(to: URL(fileURLWithPath: input))
            let x = ReplayRef.evaluate(ReplayRef.decode(data))
            for p in [1, 3] {
                let run = try ReplayE2E.run(input: input, in: dir, parallelism: p, tag: name)
                ReplayE2E.expectRun(run, x, "\(name) p=\(p)")
            }
        }
    }

    @Test("the same event id with different content: the first line in the file wins (p = 1)")
    func duplicateIdFirstWins() throws {
        let dir = try E2ETempDir()
        let input = dir.path("dup.ndjson")
        let text = [
            ev("same", "post_viewed", "2026-03-01T10:00:10Z", #""user_id":"u-a","post_id":"p-a","creator_id":"c-a""#),
            ev("same", "post_viewed", "2026-03-01T10:00:11Z", #""user_id":"u-b","post_id":"p-b","creator_id":"c-b""#),
            ev("same", "user_logged_in", "2026-03-01T10:00:12Z", #""user_id":"u-c""#),
        ].joined(separator: "\n") + "\n"
        let data = Data(text.utf8)
        try data.write(to: URL(fileURLWithPath: input))
        let x = ReplayRef.evaluate(ReplayRef.decode(data))
        #expect(x.records == [
            "post_views|2026-03-01T10:00:00.000Z|2026-03-01T10:01:00.000Z|p-a|c-a|views=1|unique=1",
            "session|u-a|2026-03-01T10:00:10.000Z|2026-03-01T10:00:10.000Z|ms=0|events=1|views=1|posts=1",
        ])
        let run = try ReplayE2E.run(input: input, in: dir, parallelism: 1)
        ReplayE2E.expectRun(run, x, "dup-id")
    }

    // MARK: Watermark-exact scenarios (parallelism 1)

    /// A file whose `blocks` each start at a source read boundary: every block is padded with
    /// empty lines to `ReplayRef.sourceLinesPerRead` lines, so at parallelism 1 the watermark
    /// after block k is (max timestamp in blocks 1...k) − bound − 1 when block k + 1 is processed.
    private func staged(_ blocks: [[String]]) -> Data {
        var lines: [String] = []
        for (i, block) in blocks.enumerated() {
            lines += block
            if i < blocks.count - 1 {
                lines += Array(repeating: "", count: ReplayRef.sourceLinesPerRead - block.count)
            }
        }
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    private func runStaged(_ name: String, _ blocks: [[String]], outOfOrderness: Int64 = 5,
                           check: (ReplayRef.Expected) -> Void = { _ in }) throws {
        let dir = try E2ETempDir()
        let input = dir.path("\(name).ndjson")
        let data = staged(blocks)
        try data.write(to: URL(fileURLWithPath: input))
        var options = ReplayRef.Options()
        options.outOfOrdernessMillis = outOfOrderness * 1000
        options.watermarkBlockLines = ReplayRef.sourceLinesPerRead
        let x = ReplayRef.evaluate(ReplayRef.decode(data), options)
        check(x)
        let run = try ReplayE2E.run(input: input, in: dir, parallelism: 1, outOfOrderness: .seconds(outOfOrderness))
        ReplayE2E.expectSameLines(run.records, x.records, "\(name) results")
        ReplayE2E.expectCounts(run.summary, x, name)
    }

    @Test("an event 3 s out of order that arrives after the watermark moved still bridges two sessions")
    func bridgeAcrossWatermark() throws {
        try runStaged("bridge", [
            [ev("a", "user_logged_in", "2026-03-01T11:00:00.000Z", #""user_id":"u""#),
             ev("b", "user_logged_in", "2026-03-01T11:30:02.000Z", #""user_id":"u""#)],
            // Watermark now 11:29:56.999: the first session window [11:00, 11:30) is still open.
            [ev("c", "user_logged_in", "2026-03-01T11:29:59.000Z", #""user_id":"u""#)],
        ]) { x in
            #expect(x.late == 0)
            #expect(x.records == ["session|u|2026-03-01T11:00:00.000Z|2026-03-01T11:30:02.000Z|ms=1802000|events=3|views=0|posts=0"])
        }
    }

    @Test("out-of-orderness bound: 5.000 s behind is on time, 5.001 s behind misses a fired window")
    func outOfOrdernessBoundary() throws {
        let blocks = [
            [ev("m", "user_logged_in", "2026-03-01T10:01:05.000Z", #""user_id":"u-max""#)],
            // Watermark 10:00:59.999: the window [10:00, 10:01) has fired.
            [ev("late", "post_viewed", "2026-03-01T10:00:59.999Z", #""session_id":"s-1","post_id":"p","creator_id":"c""#),
             ev("ok", "post_viewed", "2026-03-01T10:01:00.000Z", #""session_id":"s-1","post_id":"p","creator_id":"c""#)],
        ]
        try runStaged("bound5", blocks) { x in
            #expect(x.lateViews == 1 && x.lateSessions == 0)
            #expect(x.records.contains("post_views|2026-03-01T10:01:00.000Z|2026-03-01T10:02:00.000Z|p|c|views=1|unique=1"))
            #expect(!x.records.contains { $0.hasPrefix("post_views|2026-03-01T10:00:00.000Z") })
            #expect(x.records.contains("session|s-1|2026-03-01T10:00:59.999Z|2026-03-01T10:01:00.000Z|ms=1|events=2|views=2|posts=1"))
        }
        // With a 10 s bound, the same input has nothing late.
        try runStaged("bound10", blocks, outOfOrderness: 10) { x in
            #expect(x.late == 0)
            #expect(x.records.contains("post_views|2026-03-01T10:00:00.000Z|2026-03-01T10:01:00.000Z|p|c|views=1|unique=1"))
        }
    }

    @Test("an event for a session that already closed is late for sessions (and for views)")
    func lateForFiredSession() throws {
        try runStaged("late-session", [
            [ev("s1", "user_logged_in", "2026-03-01T10:00:00Z", #""user_id":"u-s""#),
             ev("far", "user_logged_in", "2026-03-01T10:45:00Z", #""user_id":"u-other""#)],
            // Watermark 10:44:54.999: u-s's session [10:00, 10:30) has fired.
            [ev("s2", "user_logged_in", "2026-03-01T10:10:00Z", #""user_id":"u-s""#),
             ev("s3", "post_viewed", "2026-03-01T10:10:30Z", #""user_id":"u-s","post_id":"p","creator_id":"c""#),
             // Within 30 min of the fired session but its own window is still open: a new session.
             ev("s4", "user_logged_in", "2026-03-01T10:20:00Z", #""user_id":"u-s""#)],
        ]) { x in
            #expect(x.lateSessions == 2 && x.lateViews == 1)
            #expect(x.records.contains("session|u-s|2026-03-01T10:00:00.000Z|2026-03-01T10:00:00.000Z|ms=0|events=1|views=0|posts=0"))
            #expect(x.records.contains("session|u-s|2026-03-01T10:20:00.000Z|2026-03-01T10:20:00.000Z|ms=0|events=1|views=0|posts=0"))
        }
    }

    @Test("dedup remembers an id for an hour of event time, then forgets it")
    func dedupTTL() throws {
        let first = ev("ttl-x", "user_logged_in", "2026-03-01T10:00:00Z", #""user_id":"u-ttl""#)
        try runStaged("ttl", [
            [first, ev("f1", "user_logged_in", "2026-03-01T10:59:00Z", #""user_id":"u-f""#)],
            // Watermark 10:58:54.999, 58:54.999 after the first copy: still remembered.
            [first, ev("f2", "user_logged_in", "2026-03-01T12:00:00Z", #""user_id":"u-f""#)],
            // Watermark 11:59:54.999, more than an hour after it: forgotten, the id is new again.
            [ev("ttl-x", "user_logged_in", "2026-03-01T12:00:01Z", #""user_id":"u-ttl""#)],
        ]) { x in
            #expect(x.duplicates == 1)
            #expect(x.late == 0)
            #expect(x.records.filter { $0.hasPrefix("session|u-ttl|") }.count == 2)
        }
    }

    // MARK: Late data from the generator

    private func lateProfile() -> TrafficProfile {
        var profile = TrafficProfile()
        profile.lateShare = 0.02
        return profile
    }

    @Test("late data at p = 1: the watermark model predicts results and the late count exactly")
    func lateDataExact() throws {
        let dir = try E2ETempDir()
        let input = dir.path("late.ndjson")
        let data = ReplayE2E.generate(seed: 5, count: 30_000, profile: lateProfile())
        try data.write(to: URL(fileURLWithPath: input))
        let decoded = ReplayRef.decode(data)
        var options = ReplayRef.Options()
        options.watermarkBlockLines = ReplayRef.sourceLinesPerRead
        let x = ReplayRef.evaluate(decoded, options)
        #expect(x.lateViews > 100, "the profile must produce late views (\(x.lateViews))")

        let run = try ReplayE2E.run(input: input, in: dir, parallelism: 1)
        ReplayE2E.expectRun(run, x, "late p=1")
        #expect(run.summary.late > 0)
    }

    @Test("late data at p = 2: late counted, on-time views all counted, sessions exact")
    func lateDataBounds() throws {
        let dir = try E2ETempDir()
        let input = dir.path("late2.ndjson")
        let data = ReplayE2E.generate(seed: 6, count: 30_000, profile: lateProfile())
        try data.write(to: URL(fileURLWithPath: input))
        let batch = ReplayRef.evaluate(ReplayRef.decode(data))
        let run = try ReplayE2E.run(input: input, in: dir, parallelism: 2)

        // Late events are 15 min behind, the stream spans ~75 s and the gap is 30 min: no session
        // closes before the end and every late event joins a session, so sessions are exact.
        let sessions = { (r: [String]) in r.filter { $0.hasPrefix("session|") } }
        ReplayE2E.expectSameLines(sessions(run.records), sessions(batch.records), "late p=2 sessions")
        #expect(run.summary.valid == batch.valid && run.summary.invalid == batch.invalid && run.summary.duplicates == batch.duplicates)
        #expect(run.summary.resultsWritten == run.outputLines.count)
        #expect(!run.records.contains { $0.hasPrefix("INVALID") })

        // On time = not behind the largest earlier timestamp of the file by more than the bound:
        // never late at any parallelism, since each split's watermark trails its own maximum.
        var onTime: [String: Int] = [:], all: [String: Int] = [:]
        var maxSeen = Int64.min
        var lateGenerated = 0
        for e in batch.acceptedEvents {
            let behind = maxSeen != .min && e.timestamp < maxSeen - 5_000
            maxSeen = max(maxSeen, e.timestamp)
            if behind { lateGenerated += 1 }
            guard e.name == "post_viewed", let post = e.postId else { continue }
            let start = ReplayRef.floorDiv(e.timestamp, 60_000) * 60_000
            let key = "\(ReplayRef.formatTimestamp(start))|\(post)"
            all[key, default: 0] += 1
            if !behind { onTime[key, default: 0] += 1 }
        }
        var viewsOut: [String: Int] = [:]
        for r in run.records where r.hasPrefix("post_views|") {
            let f = r.split(separator: "|", omittingEmptySubsequences: false)
            viewsOut["\(f[1])|\(f[3])", default: 0] += Int(f[5].dropFirst("views=".count)) ?? -1_000_000
        }
        let tooFew = onTime.filter { (viewsOut[$0.key] ?? 0) < $0.value }
        let tooMany = viewsOut.filter { $0.value > (all[$0.key] ?? 0) }
        #expect(tooFew.isEmpty, "windows missing on-time views: \(tooFew.prefix(5))")
        #expect(tooMany.isEmpty, "windows with more views than events: \(tooMany.prefix(5))")
        // Every late count is a view dropped from a window (sessions drop nothing here).
        let viewsDropped = all.values.reduce(0, +) - viewsOut.values.reduce(0, +)
        #expect(run.summary.late == viewsDropped)
        #expect(run.summary.late > 0 && run.summary.late <= lateGenerated)
    }

    // MARK: Failures

    @Test("a missing input file fails the library run with an error naming the file")
    func missingInput() throws {
        let dir = try E2ETempDir()
        let missing = dir.path("no-such-file.ndjson")
        let config = ReplayConfiguration(inputPath: missing, outputPath: dir.path("o.ndjson"), parallelism: 2)
        let error = #expect(throws: (any Error).self) { try ReplayJob.run(config) }
        #expect(error.map { String(describing: $0) }?.contains("no-such-file.ndjson") == true, "\(String(describing: error))")
    }

    /// Names of this process's threads that start with `prefix` (Linux `/proc/self/task/*/comm`).
    private func threads(named prefix: String) -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { tid in
            guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8) else { return nil }
            let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
            return name.hasPrefix(prefix) ? name : nil
        }
    }

    @Test("a job that fails to start (e.g. missing input) stops its event-loop threads")
    func failedStartLeavesNoThreads() throws {
        // The same path as a missing input file (the source's reader cannot be created while
        // the plan is built), under a job name of its own so that the loop threads
        // ("runnel-<job>-<i>") can be told apart from those of other tests.
        let env = StreamEnvironment(name: "e2eleak")
        _ = env.source("failing", FailingSource(), watermarks: .boundedOutOfOrderness(.seconds(1)) { $0 })
        let runner = JobRunner(graph: try env.build(), options: .init(parallelism: 2))
        #expect(throws: FailingSource.Failure.self) { try runner.run() }
        var left = threads(named: "runnel-e2eleak")
        for _ in 0..<20 where !left.isEmpty {
            usleep(50_000)
            left = threads(named: "runnel-e2eleak")
        }
        #expect(left.isEmpty, "event-loop threads still running after run() threw: \(left)")
    }
}

/// A source whose readers cannot be created, like an NDJSON source on a missing file.
private struct FailingSource: Source {
    struct Failure: Error {}
    func createReader(subtask: Int, parallelism: Int) throws -> Reader { throw Failure() }
    final class Reader: SourceReader {
        func read(into output: SourceOutput<Int64>, limit: Int) throws -> SourceReadStatus { .finished }
    }
}

extension ReplayEndToEndTests {
    @Test("dead letters of lines read by readers sharing a mapping resolve to the lines' numbers, written or compared")
    func deadLettersNumberedLater() throws {
        // Every fifth line is rejected; blocks of 256 bytes, so most blocks are numbered later.
        let lines = (0..<400).map { i in i % 5 == 0 ? "not json \(i)" : #"{"event_id":"x\#(i)"}"# }
        let path = NSTemporaryDirectory() + "runnel-dead-letters-\(UUID().uuidString).ndjson"
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let queue = try NDJSONBlockQueue(path: path, blockSize: 256, readers: 2)
        let mapping = try NDJSONFileMapping(path: path, readers: 2)
        let readers = try (0..<2).map {
            try NDJSONStripeReader(path: path, reader: $0, of: 2, blockSize: 256, chunkSize: 512, queue: queue, mapping: mapping)
        }
        let decoder = CreatorLineDecoder()
        var letters: [DeadLetter] = []
        var turn = 0
        while !readers.allSatisfy(\.isFinished) {
            _ = try readers[turn % 2].readLines(upTo: 7) { line in
                if case .invalid(let letter) = decoder.decode(line), letter.raw.hasPrefix("not json") { letters.append(letter) }
            }
            turn += 1
        }
        #expect(letters.count == 80)
        for letter in letters {
            let i = Int(letter.raw.split(separator: " ").last!)!
            #expect(letter.lineNumber == Int64(i + 1))
            #expect(letter == DeadLetter(lineNumber: Int64(i + 1), reason: letter.reason, raw: letter.raw))
            var json = JSONWriter()
            letter.encode(into: &json)
            #expect(String(decoding: json.bytes, as: UTF8.self).hasPrefix(#"{"line":\#(i + 1),"#))
        }
    }
}
