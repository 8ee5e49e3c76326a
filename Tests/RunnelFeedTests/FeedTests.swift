import Foundation
import RunnelAuth
import RunnelFeed
import RunnelHTTPServer
import RunnelTesting
import RunnelWebSocket
import Testing

#if canImport(Glibc)
import Glibc
#endif

import RunnelRuntime

/// Topics, access rules and the message formats.
@Suite struct FeedTopicTests {
    @Test("topic names round-trip; unknown names are refused")
    func names() {
        for name in ["post_views", "sessions", "platform", "trending", "creator:c-1"] { #expect(FeedTopic(name)?.description == name) }
        for name in ["", "views", "creator:", "Creator:c-1"] { #expect(FeedTopic(name) == nil) }
    }

    @Test("a creator sees only their own creator topic; an admin sees everything")
    func access() {
        let creator = AccessToken(subject: "c-1", role: .creator, expiresAt: 0)
        let admin = AccessToken(subject: "ops", role: .admin, expiresAt: 0)
        #expect(FeedTopic.creator("c-1").isAllowed(for: creator))
        #expect(!FeedTopic.creator("c-2").isAllowed(for: creator))
        #expect(FeedTopic.trending.isAllowed(for: creator), "trending posts are public popularity")
        for topic in [FeedTopic.postViews, .sessions, .platform] { #expect(!topic.isAllowed(for: creator)) }
        for topic in [FeedTopic.postViews, .sessions, .platform, .trending, .creator("c-2")] { #expect(topic.isAllowed(for: admin)) }
    }

    @Test("client requests: subscribe and unsubscribe parse; anything else is refused with a reason")
    func requests() throws {
        #expect(try FeedClientRequest(parsing: #"{"op":"subscribe","topics":["post_views","creator:c"]}"#)
                == FeedClientRequest(parsing: #"{"topics":["post_views","creator:c"],"op":"subscribe"}"#))
        #expect(try FeedClientRequest(parsing: #"{"op":"unsubscribe","topics":["sessions"]}"#).operation == .unsubscribe)
        for bad in ["", "[]", #"{"op":"sub","topics":["a"]}"#, #"{"op":"subscribe"}"#, #"{"op":"subscribe","topics":[]}"#,
                    #"{"op":"subscribe","topics":[1]}"#] {
            #expect(throws: FeedProtocolError.self, "\(bad)") { try FeedClientRequest(parsing: bad) }
        }
    }
}

/// The feed end to end: tokens checked at the upgrade, subscriptions with access control,
/// snapshots, coalescing of partial results and immediate final ones, over raw WebSocket
/// clients.
@Suite(.serialized) struct FeedHubTests {
    static let secret = Array("feed-test-secret".utf8)
    static let key: (UInt8, UInt8, UInt8, UInt8) = (9, 8, 7, 6)

    /// `@unchecked Sendable`: `hub` is touched only on the loop's thread.
    final class Fixture: @unchecked Sendable {
        let events: TestEventLoop
        private(set) var port = 0
        var hub: FeedHub!

        init(coalesceMilliseconds: UInt64) throws {
            events = try TestEventLoop(name: "feed-test")
            port = events.run { [self] in
                hub = FeedHub(loop: events.loop, coalesceMilliseconds: coalesceMilliseconds)
                let verifier = HS256TokenVerifier(secret: FeedHubTests.secret)
                let server = try? HTTPServer(loop: events.loop) { [self] request in
                    request.path == "/v1/feed"
                        ? FeedEndpoint.reply(to: request, verifier: verifier, now: Int64(Date().timeIntervalSince1970), hub: hub)
                        : .response(.error(404, "not found"))
                }
                return server?.port ?? -1
            } ?? -1
        }

        func onLoop(_ body: @escaping () -> Void) { _ = events.run(body) }

        func stop() { events.stop() }
    }

    /// A raw WebSocket client of the feed.
    static func client(port: Int, token: String?, extensions: String? = nil) throws -> BlockingWebSocketClient {
        try BlockingWebSocketClient(port: port, token: token, extensions: extensions, maskingKey: key, timeoutSeconds: 5)
    }

    static func token(_ subject: String, _ role: AccessToken.Role, expiresIn seconds: Int64 = 600) -> String {
        HS256TokenVerifier(secret: secret).sign(AccessToken(subject: subject, role: role, expiresAt: Int64(Date().timeIntervalSince1970) + seconds))
    }

    @Test("no token, a bad token or an expired one is refused with 401 before the upgrade")
    func refusedTokens() throws {
        let fixture = try Fixture(coalesceMilliseconds: 50)
        defer { fixture.stop() }
        for token in [nil, "not.a.token", HS256TokenVerifier(secret: Array("other".utf8)).sign(AccessToken(subject: "c", role: .admin, expiresAt: .max)),
                      Self.token("c", .admin, expiresIn: -1)] {
            #expect(try Self.client(port: fixture.port, token: token).handshakeStatus() == "HTTP/1.1 401 Unauthorized")
        }
    }

    @Test("a token in an Authorization: Bearer header is checked like one in ?token=")
    func bearerHeader() throws {
        let fixture = try Fixture(coalesceMilliseconds: 50)
        defer { fixture.stop() }
        let accepted = try BlockingWebSocketClient(port: fixture.port, headers: [("Authorization", "Bearer " + Self.token("ops", .admin))],
                                                   timeoutSeconds: 5)
        #expect(accepted.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        accepted.send(#"{"op":"subscribe","topics":["sessions"]}"#)
        #expect(accepted.next() == #"{"op":"subscribed","topics":["sessions"]}"#, "an admin token: platform-wide topics allowed")
        let expired = try BlockingWebSocketClient(port: fixture.port, headers: [("Authorization", "Bearer " + Self.token("ops", .admin, expiresIn: -1))],
                                                  timeoutSeconds: 5)
        #expect(expired.handshakeStatus() == "HTTP/1.1 401 Unauthorized")
        let otherScheme = try BlockingWebSocketClient(port: fixture.port, headers: [("Authorization", "Basic " + Self.token("ops", .admin))],
                                                      timeoutSeconds: 5)
        #expect(otherScheme.handshakeStatus() == "HTTP/1.1 401 Unauthorized")
    }

    @Test("a creator gets their own topic and a snapshot; other topics are refused and the connection stays open")
    func creatorAccess() throws {
        let fixture = try Fixture(coalesceMilliseconds: 50)
        defer { fixture.stop() }
        fixture.onLoop {
            fixture.hub.publish(#"{"post_id":"p-1","views":3}"#, key: "p-1", topics: [.postViews, .creator("c-1")], final: true)
        }
        let client = try Self.client(port: fixture.port, token: Self.token("c-1", .creator))
        #expect(client.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        client.send(#"{"op":"subscribe","topics":["creator:c-2","post_views","creator:c-1","nonsense"]}"#)
        #expect(client.next() == #"{"op":"error","error":"forbidden","topic":"creator:c-2"}"#)
        #expect(client.next() == #"{"op":"error","error":"forbidden","topic":"post_views"}"#)
        #expect(client.next() == #"{"op":"error","error":"unknown_topic","topic":"nonsense"}"#)
        #expect(client.next() == #"{"op":"subscribed","topics":["creator:c-1"]}"#)
        #expect(client.next() == #"{"op":"snapshot","topic":"creator:c-1","data":[{"post_id":"p-1","views":3,"final":true}]}"#)
        client.send("not json")
        #expect(client.next()?.contains(#""error":"bad_request""#) == true)
        fixture.onLoop {
            fixture.hub.publish(#"{"post_id":"p-2","views":1}"#, key: "p-2", topics: [.postViews, .creator("c-2")], final: true)
            fixture.hub.publish(#"{"post_id":"p-1","views":4}"#, key: "p-1", topics: [.postViews, .creator("c-1")], final: true)
        }
        #expect(client.next() == #"{"topic":"creator:c-1","data":{"post_id":"p-1","views":4,"final":true}}"#,
                "only its own creator's update arrives")
    }

    @Test("partial results: a key's first in an interval at once, the last of the rest at the interval's end; final ones at once")
    func coalescing() throws {
        let fixture = try Fixture(coalesceMilliseconds: 300)
        defer { fixture.stop() }
        let admin = try Self.client(port: fixture.port, token: Self.token("ops", .admin))
        #expect(admin.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        admin.send(#"{"op":"subscribe","topics":["post_views"]}"#)
        #expect(admin.next() == #"{"op":"subscribed","topics":["post_views"]}"#)
        #expect(admin.next() == #"{"op":"snapshot","topic":"post_views","data":[]}"#)
        fixture.onLoop {
            for views in 1...5 { fixture.hub.publish(#"{"post_id":"a","views":\#(views)}"#, key: "a", topics: [.postViews], final: false) }
            fixture.hub.publish(#"{"post_id":"b","views":9}"#, key: "b", topics: [.postViews], final: true)
        }
        #expect(admin.next() == #"{"topic":"post_views","data":{"post_id":"a","views":1,"final":false}}"#,
                "a key's first partial result goes out at once")
        #expect(admin.next() == #"{"topic":"post_views","data":{"post_id":"b","views":9,"final":true}}"#, "final results at once")
        #expect(admin.next() == #"{"topic":"post_views","data":{"post_id":"a","views":5,"final":false}}"#,
                "of the later partials, the last one at the interval's end")
        fixture.onLoop {
            fixture.hub.publish(#"{"post_id":"a","views":6}"#, key: "a", topics: [.postViews], final: false)
            fixture.hub.publish(#"{"post_id":"a","views":7}"#, key: "a", topics: [.postViews], final: true)
        }
        #expect(admin.next() == #"{"topic":"post_views","data":{"post_id":"a","views":7,"final":true}}"#,
                "a final result replaces the pending partial of its key")
        // After a quiet interval, a key's next partial result is not held back.
        usleep(700_000)
        let published = Date()
        fixture.onLoop { fixture.hub.publish(#"{"post_id":"c","views":1}"#, key: "c", topics: [.postViews], final: false) }
        #expect(admin.next() == #"{"topic":"post_views","data":{"post_id":"c","views":1,"final":false}}"#)
        #expect(Date().timeIntervalSince(published) < 0.15, "sent without waiting for the 300 ms interval")
        admin.send(#"{"op":"unsubscribe","topics":["post_views"]}"#)
        #expect(admin.next() == #"{"op":"unsubscribed","topics":["post_views"]}"#)
    }

    @Test("a subscriber that stops reading is closed with 1008 and counted; deliveries and refusals are counted too")
    func slowConsumerIsCounted() throws {
        let fixture = try Fixture(coalesceMilliseconds: 50)
        defer { fixture.stop() }
        let slow = try Self.client(port: fixture.port, token: Self.token("ops", .admin))
        #expect(slow.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        slow.send(#"{"op":"subscribe","topics":["post_views","creator:c-9"]}"#)
        #expect(slow.next() == #"{"op":"subscribed","topics":["post_views","creator:c-9"]}"#)
        let creator = try Self.client(port: fixture.port, token: Self.token("c-1", .creator))
        #expect(creator.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        creator.send(#"{"op":"subscribe","topics":["sessions"]}"#)
        #expect(creator.next() == #"{"op":"error","error":"forbidden","topic":"sessions"}"#)
        // 48 MiB of final results in 64 KiB messages: more than the loopback socket's
        // buffers and the channel's 4 MiB queue together, so the client that never reads
        // falls behind by more than its limit.
        let filler = String(repeating: "x", count: 64 * 1024)
        var statistics = FeedHub.Statistics()
        for round in 0..<12 {
            fixture.onLoop {
                for i in 0..<64 {
                    fixture.hub.publish(#"{"post_id":"p-\#(round)-\#(i)","pad":"\#(filler)"}"#, key: "p-\(round)-\(i)", topics: [.postViews], final: true)
                }
            }
        }
        // The connection goes when the client answers the close frame or, as this one never
        // reads, when the closing handshake times out (2 s).
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            fixture.onLoop { statistics = fixture.hub.statistics }
            if statistics.slowConsumerDisconnects > 0 { break }
            usleep(50_000)
        }
        #expect(statistics.slowConsumerDisconnects == 1, "\(statistics)")
        #expect(statistics.connectionsOpened == 2)
        #expect(statistics.forbiddenSubscriptions == 1)
        #expect(statistics.resultsPublished >= 64 && statistics.deliveries >= 64 && statistics.deliveries <= statistics.resultsPublished,
                "at most one delivery per result (the creator is not subscribed to post_views; none once the slow one is gone)")
    }

    @Test("permessage-deflate: a client that offers it gets updates compressed (once for all such clients); others get them plain")
    func compressedFeed() throws {
        let fixture = try Fixture(coalesceMilliseconds: 50)
        defer { fixture.stop() }
        let compressing = try Self.client(port: fixture.port, token: Self.token("ops", .admin), extensions: "permessage-deflate; client_max_window_bits")
        let status = compressing.handshakeResponse()
        #expect(status.contains("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"), "\(status)")
        let plain = try Self.client(port: fixture.port, token: Self.token("ops", .admin))
        #expect(plain.handshakeStatus() == "HTTP/1.1 101 Switching Protocols")
        for client in [compressing, plain] {
            client.send(#"{"op":"subscribe","topics":["post_views"]}"#)
            #expect(client.next() == #"{"op":"subscribed","topics":["post_views"]}"#)
            #expect(client.next() == #"{"op":"snapshot","topic":"post_views","data":[]}"#)
        }
        let record = #"{"type":"post_views","window_start":"2026-02-23T00:01:00.000Z","post_id":"p-1","creator_id":"c-7","views":12,"unique_viewers":10}"#
        fixture.onLoop { fixture.hub.publish(record, key: "p-1", topics: [.postViews], final: true) }
        let expected = #"{"topic":"post_views","data":"# + String(record.dropLast()) + #","final":true}}"#
        let received = compressing.nextText()
        #expect(received?.text == expected)
        #expect(received?.compressed == true)
        let receivedPlain = plain.nextText()
        #expect(receivedPlain?.text == expected)
        #expect(receivedPlain?.compressed == false)
    }
}
