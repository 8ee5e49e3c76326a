import CreatorAnalyticsKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The loader against a scripted collector: batches refused with 503 are sent again after
/// Retry-After; other refusals stop the load; counts add up.
@Suite struct EventLoaderTests {
    /// A one-connection HTTP server answering requests with `answers` in turn (then 202).
    final class ScriptedCollector: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        private(set) var bodies: [String] = []
        private let lock = NSLock()

        /// Binds a port at once; listens on it only after `listenAfter` seconds (until then
        /// connections are refused).
        init(answers: [(status: Int, body: String)], listenAfter: Double = 0) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            listener = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            let listener = fd
            if listenAfter == 0 { listen(fd, 1) }
            Thread.detachNewThread { [self] in
                if listenAfter > 0 {
                    Thread.sleep(forTimeInterval: listenAfter)
                    listen(listener, 1)
                }
                let connection = accept(listener, nil, nil)
                var buffer: [UInt8] = []
                var answers = answers
                while true {
                    var chunk = [UInt8](repeating: 0, count: 65_536)
                    let n = recv(connection, &chunk, chunk.count, 0)
                    if n <= 0 { break }
                    buffer += chunk.prefix(n)
                    while let end = buffer.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                        let head = String(decoding: buffer[..<end], as: UTF8.self)
                        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                        guard buffer.count >= end + length else { break }
                        lock.withLock { bodies.append(String(decoding: buffer[end..<end + length], as: UTF8.self)) }
                        buffer.removeFirst(end + length)
                        let (status, body) = answers.isEmpty ? (202, #"{"accepted":2,"rejected":1,"errors":[]}"#) : answers.removeFirst()
                        let reply = "HTTP/1.1 \(status) X\r\nContent-Length: \(body.utf8.count)\r\nRetry-After: 0.05\r\n\r\n\(body)"
                        _ = reply.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                    }
                }
                close(connection)
            }
        }

        deinit { close(listener) }

        var received: [String] { lock.withLock { bodies } }
    }

    @Test("a batch refused with 503 is sent again until taken; the collector's counts add up")
    func retriesAfter503() throws {
        let collector = try ScriptedCollector(answers: [(503, "busy"), (503, "busy")])
        var reports: [EventLoader.Progress] = []
        let loader = EventLoader(client: try CollectorClient(url: "http://127.0.0.1:\(collector.port)/v1/events"), rate: 0, batchSize: 3) {
            reports.append($0)
        }
        for i in 0..<6 { try loader.add(Array("{\"n\":\(i)}".utf8)) }
        let totals = try loader.finish()
        #expect(totals.sent == 6 && totals.retries == 2)
        #expect(totals.accepted == 4 && totals.rejected == 2)
        #expect(reports.map(\.sent) == [3, 6])
        #expect(collector.received == [#"{"n":0}"# + "\n" + #"{"n":1}"# + "\n" + #"{"n":2}"# + "\n",
                                       #"{"n":0}"# + "\n" + #"{"n":1}"# + "\n" + #"{"n":2}"# + "\n",
                                       #"{"n":0}"# + "\n" + #"{"n":1}"# + "\n" + #"{"n":2}"# + "\n",
                                       #"{"n":3}"# + "\n" + #"{"n":4}"# + "\n" + #"{"n":5}"# + "\n"])
    }

    @Test("a batch that gets no answer (the collector is not there yet, or restarting) is sent again until one comes; the load gives up after its limit")
    func resendsWithoutAnswer() throws {
        let closed = try CollectorClient(url: "http://127.0.0.1:1/v1/events")
        let doomed = EventLoader(client: closed, rate: 0, batchSize: 1, giveUpAfter: 0.3)
        let started = Date()
        #expect(throws: CollectorClient.ClientError.self) { try doomed.add(Array("{}".utf8)) }
        #expect(Date().timeIntervalSince(started) >= 0.3 && doomed.progress.resends >= 2)

        // A collector that comes up after a while: the batch goes through then.
        let late = try ScriptedCollector(answers: [], listenAfter: 0.3)
        let loader = EventLoader(client: try CollectorClient(url: "http://127.0.0.1:\(late.port)/v1/events"), rate: 0, batchSize: 2, giveUpAfter: 10)
        try loader.add(Array("{\"a\":1}".utf8))
        try loader.add(Array("{\"a\":2}".utf8))
        let totals = try loader.finish()
        #expect(totals.sent == 2 && totals.accepted == 2 && totals.resends >= 1)
        #expect(late.received == ["{\"a\":1}\n{\"a\":2}\n"])
    }

    @Test("another refusal stops the load with the collector's answer")
    func otherRefusalsStop() throws {
        let collector = try ScriptedCollector(answers: [(415, "Content-Type must be application/x-ndjson")])
        let loader = EventLoader(client: try CollectorClient(url: "http://127.0.0.1:\(collector.port)/v1/events"), rate: 0, batchSize: 1)
        #expect(throws: EventLoader.LoadError.self) { try loader.add(Array("{}".utf8)) }
        #expect(throws: CollectorClient.ClientError.self) { try CollectorClient(url: "https://example.com/") }
    }
}
