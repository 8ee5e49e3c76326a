import CreatorAnalyticsKit
import Foundation
import RunnelTesting
import Testing

/// `serve` killed with SIGKILL while a client posts events, restarted on the same data
/// directory, with the client sending again what got no answer: the committed final results
/// (`DATA/results/part-*.ndjson`) equal what `replay` writes for the same events, each once.
@Suite(.serialized) struct ServeCrashTests {
    /// Posts `body`; status 0 when the server is gone (refused, reset or closed mid-answer).
    static func post(_ port: Int, _ body: String) -> (status: Int, body: String) {
        guard let result = try? ServeTests.post(port, body) else { return (0, "") }
        return result
    }

    /// The committed result lines of types post_views and session, without the flush event's.
    static func committedLines(_ directory: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("part-") }
        return names.flatMap { ReplayE2E.readLines(directory + "/" + $0) }
            .filter { ($0.contains(#""type":"post_views""#) || $0.contains(#""type":"session""#)) && !$0.contains("p-flush") }
    }

    /// As ``committedLines(_:)``, with the fields live sessions have beyond replay's removed.
    static func committedResults(_ directory: String) -> [String] {
        committedLines(directory).map {
            $0.replacingOccurrences(of: #","bounce":(true|false),"entry_referrer":(null|"[^"]*")"#, with: "", options: .regularExpression)
        }
    }

    @Test("kill -9 serve twice mid-stream (once during a request), restart it, resend what got no answer: the committed post views and sessions equal replay's, none lost, none twice")
    func killAndResume() throws {
        let dir = try E2ETempDir("serve-crash")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 31, count: 20_000).write(to: URL(fileURLWithPath: input))
        let replay = try ReplayE2E.run(input: input, in: dir, parallelism: 2)
        #expect(replay.summary.late == 0, "the generated disorder stays within the bound")
        let expected = replay.outputLines.filter { $0.contains(#""type":"post_views""#) || $0.contains(#""type":"session""#) }.sorted()
        try #require(expected.count > 1_000)

        let data = dir.path("data")
        let arguments = ["--insecure-no-auth", "--coalesce-ms", "100", "--checkpoint-interval", "0.2"]
        var server = try ServeTests.Server(arguments, dataDirectory: data)
        defer { server.stop() }
        try #require(server.port > 0, "\(server.stderr)")

        let lines = ReplayE2E.readLines(input)
        let batches = stride(from: 0, to: lines.count, by: 500).map { lines[$0..<min($0 + 500, lines.count)].joined(separator: "\n") }
        // Kill points: 2 ms into batch 10 (while it is sent or stored, or just after its
        // answer); right before batch 26 (between requests).
        let killBefore: [Int: Double] = [10: 0.002, 26: 0]
        var killed = Set<Int>()
        var restarts = 0
        var i = 0
        var attempts = 0
        func restart() throws {
            server.process.waitUntilExit()
            let died = String(decoding: server.errors.fileHandleForReading.readDataToEndOfFile().prefix(60000), as: UTF8.self)
            #expect(server.process.terminationReason == .uncaughtSignal && server.process.terminationStatus == SIGKILL,
                    "the server died of our SIGKILL, not of anything else: signal \(server.process.terminationStatus), \(died)")
            server = try ServeTests.Server(arguments, dataDirectory: data)
            try #require(server.port > 0, "\(server.stderr)")
            restarts += 1
        }
        while i < batches.count {
            attempts += 1
            try #require(attempts < batches.count * 4, "too many attempts")
            if let delay = killBefore[i], !killed.contains(i) {
                killed.insert(i)
                let pid = server.process.processIdentifier
                if delay == 0 {
                    kill(pid, SIGKILL)
                } else {
                    DispatchQueue.global().asyncAfter(deadline: .now() + delay) { kill(pid, SIGKILL) }
                }
                // Answered or not, the batch is sent again after the restart if it got no 202.
                if Self.post(server.port, batches[i]).status == 202 { i += 1 }
                try restart()
                continue
            }
            let (status, body) = Self.post(server.port, batches[i])
            if status == 202 {
                i += 1
            } else if status == 503 {
                Thread.sleep(forTimeInterval: 0.2)
            } else {
                Issue.record("the server failed without being killed: \(status) \(body)")
                try restart()
            }
        }
        #expect(restarts == 2, "\(restarts) restarts")
        // A view an hour later moves event time past every window and session of the file.
        let flush = #"{"event_id":"00000000-0000-4000-8000-0000000f1005","event_name":"post_viewed","timestamp":"2026-02-23T01:00:00Z","post_id":"p-flush","creator_id":"c-flush"}"#
        #expect(Self.post(server.port, flush).status == 202)

        // Final results are committed with the checkpoints that follow them.
        var committed: [String] = []
        let deadline = Date().addingTimeInterval(90)
        repeat {
            Thread.sleep(forTimeInterval: 0.25)
            committed = Self.committedResults(data + "/results")
        } while committed.count < expected.count && Date() < deadline
        Thread.sleep(forTimeInterval: 1)  // anything extra would be committed by now
        committed = Self.committedResults(data + "/results").sorted()
        #expect(committed.count == expected.count, "\(committed.count) committed results, replay has \(expected.count)")
        let missing = Set(expected).subtracting(committed)
        let extra = Set(committed).subtracting(expected)
        #expect(missing.isEmpty && extra.isEmpty, "missing \(missing.count), e.g. \(missing.prefix(2)); extra \(extra.count), e.g. \(extra.prefix(2))")
        #expect(committed.count == expected.count && committed == expected, "no result is committed twice")
        let sessions = Self.committedLines(data + "/results").filter { $0.contains(#""type":"session""#) }
        #expect(sessions.allSatisfy { $0.contains(#""entry_referrer":"#) && $0.contains(#""bounce":"#) })
        #expect(sessions.contains { $0.contains(#""entry_referrer":"http"#) }, "sessions name the referrer they entered from")
    }
}
