import CreatorAnalyticsKit
import Foundation
import RunnelHTTP
import RunnelOperators
import RunnelTesting
import Testing

/// The collector's answers, without a server: counts, per-event errors, backpressure.
@Suite struct EventCollectorTests {
    static let lines = String(decoding: ReplayE2E.generate(seed: 3, count: 50), as: UTF8.self)
        .split(separator: "\n").filter { $0.contains("\"event_name\":\"post_viewed\"") }.map(String.init)

    static func post(_ body: String, type: String = "application/x-ndjson") -> HTTPRequest {
        HTTPRequest(method: "POST", target: "/v1/events", headers: [("Content-Type", type)], body: Array(body.utf8))
    }

    @Test("when the job's queue has no room for a batch, nothing of it is taken: 503 with Retry-After")
    func backpressure() {
        let queue = EventQueue<CreatorEvent>(capacity: 5)
        let collector = EventCollector(queue: queue)
        let four = Self.post(Self.lines.prefix(4).joined(separator: "\n"))
        #expect(collector.handle(four).status == 202)
        #expect(queue.count == 4)
        let response = collector.handle(Self.post(Self.lines.prefix(3).joined(separator: "\n")))
        #expect(response.status == 503)
        #expect(response.headers.contains { $0.name == "Retry-After" })
        #expect(queue.count == 4, "a refused batch adds nothing")
        #expect(collector.accepted == 4 && collector.saturated == 1)
    }

    @Test("bad requests: wrong method, type, encoding, empty or malformed bodies")
    func badRequests() {
        let collector = EventCollector(queue: EventQueue(capacity: 100))
        #expect(collector.handle(HTTPRequest(method: "GET", target: "/v1/events")).status == 405)
        #expect(collector.handle(Self.post("{}", type: "text/plain")).status == 415)
        var brotli = Self.post("x")
        brotli.headers.append(("Content-Encoding", "br"))
        #expect(collector.handle(brotli).status == 415)
        var badGzip = Self.post("not gzip")
        badGzip.headers.append(("Content-Encoding", "gzip"))
        #expect(collector.handle(badGzip).status == 400)
        #expect(collector.handle(Self.post("\n \n")).status == 400)
        #expect(collector.handle(Self.post("{\"a\":", type: "application/json")).status == 400)
        #expect(collector.handle(Self.post("[" + Self.lines.prefix(2).joined(separator: ",") + "]", type: "application/json; charset=utf-8")).status == 202)
    }

    @Test("a gzip-compressed NDJSON body is accepted like a plain one")
    func gzipBody() throws {
        let collector = EventCollector(queue: EventQueue(capacity: 100))
        let compressed = try SystemGzip.compress(Array(Self.lines.prefix(5).joined(separator: "\n").utf8))
        var request = HTTPRequest(method: "POST", target: "/v1/events",
                                  headers: [("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip")], body: compressed)
        let response = collector.handle(request)
        #expect(response.status == 202)
        #expect(String(decoding: response.body, as: UTF8.self).hasPrefix(#"{"accepted":5,"#))
        request.body = Array(compressed.prefix(10))
        #expect(collector.handle(request).status == 400)
    }
}
