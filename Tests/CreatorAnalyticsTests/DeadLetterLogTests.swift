import CreatorAnalyticsKit
import Foundation
import RunnelHTTP
import RunnelOperators
import Testing

/// IP addresses are truncated before rejected events are stored; the collector's
/// dead-letter file holds each rejected event with its reason.
@Suite struct DeadLetterLogTests {
    @Test("IPv4 to /24, IPv6 to /48; anything else is not an address", arguments: [
        ("203.0.113.77", "203.0.113.0"),
        ("10.0.0.0", "10.0.0.0"),
        ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
        ("2001:db8::1", "2001:db8::"),
        ("::ffff:198.51.100.7", "::"),
        ("999.1.1.1", nil),
        ("example.com", nil),
        ("", nil),
    ] as [(String, String?)])
    func anonymize(address: String, expected: String?) {
        #expect(IPAddressAnonymizer.anonymize(address) == expected)
    }

    @Test("a JSON line gets its ip_address truncated (or 'invalid'); any other line has every address in it truncated")
    func anonymizeLines() throws {
        let line = #"{"event_id":"e","ip_address":"198.51.100.23","user_id":"u-1"}"#
        let object = try #require(try JSONSerialization.jsonObject(with: Data(IPAddressAnonymizer.anonymizeLine(line).utf8)) as? [String: String])
        #expect(object == ["event_id": "e", "ip_address": "198.51.100.0", "user_id": "u-1"])
        let bad = IPAddressAnonymizer.anonymizeLine(#"{"ip_address":"not an ip"}"#)
        #expect(bad == #"{"ip_address":"invalid"}"#)
        #expect(IPAddressAnonymizer.anonymizeLine(#"{"no_ip":1}"#) == #"{"no_ip":1}"#)
        let malformed = #"{"event_id":"e","ip_address":"198.51.100.23", from 2001:db8:1:2::9 at 12:30"#
        #expect(IPAddressAnonymizer.anonymizeLine(malformed) == #"{"event_id":"e","ip_address":"198.51.100.0", from 2001:db8:1:: at 12:30"#)
    }

    @Test("an event line as the collector stores it: every ip_address value truncated in place, the rest byte for byte; a title that merely mentions the key is left alone")
    func anonymizeEventLines() {
        let line = #"{"event_id":"e","ip_address" : "198.51.100.23","post_title":"why \"ip_address\": matters","extra":{"ip_address":"2001:db8:85a3:8d3::1"}}"#
        #expect(IPAddressAnonymizer.anonymizeEventLine(line)
                == #"{"event_id":"e","ip_address" : "198.51.100.0","post_title":"why \"ip_address\": matters","extra":{"ip_address":"2001:db8:85a3::"}}"#)
        #expect(IPAddressAnonymizer.anonymizeEventLine(#"{"ip_address":null,"a":1}"#) == #"{"ip_address":null,"a":1}"#)
        #expect(IPAddressAnonymizer.anonymizeEventLine(#"{"ip_address":"nope"}"#) == #"{"ip_address":"invalid"}"#)
        #expect(IPAddressAnonymizer.anonymizeEventLine(#"{"user_id":"u"}"#) == #"{"user_id":"u"}"#)
        // An escaped key is found by the full rewrite.
        let escaped = IPAddressAnonymizer.anonymizeEventLine(#"{"ip\u005faddress":"203.0.113.9"}"#)
        #expect(escaped == #"{"ip_address":"203.0.113.0"}"#)
    }

    @Test("the collector appends each rejected event to its dead-letter file, with category, reason and a truncated address")
    func collectorWritesDeadLetters() throws {
        let path = NSTemporaryDirectory() + "runnel-dead-letters-\(getpid())/rejected.ndjson"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let log = try DeadLetterLog(path: path)
        let collector = EventCollector(queue: EventQueue(capacity: 100), deadLetters: log)
        let good = CreatorEventSchemaTests.valid[1]
        let wrongPlatform = good.replacingOccurrences(of: #""platform":"mobile_ios""#, with: #""platform":"tv""#)
            .replacingOccurrences(of: "2001:db8::1", with: "198.51.100.77")
        let body = [good, wrongPlatform, #"{"event_id":"x","ip_address":"203.0.113.5""#].joined(separator: "\n")
        let response = collector.handle(HTTPRequest(method: "POST", target: "/v1/events",
                                                    headers: [("Content-Type", "application/x-ndjson")], body: Array(body.utf8)))
        #expect(response.status == 202)
        try log.close()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2 && log.written == 2)
        let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
        #expect(first["category"] == "value:platform")
        #expect(first["reason"] == #"platform must be one of web, mobile_ios, mobile_android (got "tv")"#)
        #expect(first["raw"]?.contains("198.51.100.0") == true && first["raw"]?.contains("198.51.100.77") == false)
        #expect(first["received_at"]?.hasSuffix("Z") == true)
        let second = try #require(try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: String])
        #expect(second["category"] == "malformed" && second["reason"] == "malformed JSON")
        #expect(second["raw"] == #"{"event_id":"x","ip_address":"203.0.113.0""#)
        // Reopened, the file is appended to, not truncated.
        let again = try DeadLetterLog(path: path)
        try again.record(raw: "x", category: "malformed", reason: "r", receivedAtMillis: 0)
        try again.close()
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 3)
    }
}
