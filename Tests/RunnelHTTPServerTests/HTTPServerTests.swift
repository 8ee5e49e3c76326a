import RunnelHTTP
import RunnelHTTPServer
import RunnelRuntime
import RunnelTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The HTTP server on a libuv loop, driven by plain socket clients.
@Suite struct HTTPServerTests {
    /// A started loop with a server whose handler answers `GET /healthz`, echoes POST
    /// bodies and upgrades `/upgrade` to an echo of raw bytes.
    final class Fixture: Sendable {
        let events: TestEventLoop
        let port: Int

        init(_ configuration: HTTPServer.Configuration = .init()) throws {
            let events = try TestEventLoop(name: "http-test")
            self.events = events
            port = events.run {
                let server = try? HTTPServer(loop: events.loop, configuration: configuration) { request in
                    switch (request.method, request.path) {
                    case ("GET", "/healthz"): return .response(.text(200, "ok"))
                    case ("POST", "/echo"): return .response(HTTPResponse(status: 200, body: request.body))
                    case ("POST", "/later"):
                        // Answered 50 ms later, from a timer on the loop.
                        return .deferred { respond in
                            var timer: LoopTimer?
                            timer = events.loop.scheduleTimer(afterMilliseconds: 50) {
                                respond(HTTPResponse(status: 202, body: request.body))
                                timer?.cancel()
                            }
                        }
                    case ("GET", "/upgrade"):
                        return .upgrade(HTTPResponse(status: 101, headers: [("Upgrade", "echo"), ("Connection", "Upgrade")])) { connection, rest in
                            if !rest.isEmpty { connection.write([OutboundBytes(rest)]) }
                            connection.onRead = { bytes in connection.write([OutboundBytes(bytes)]) }
                            connection.startReading()
                        }
                    default: return .response(.error(404, "no route for \(request.path)"))
                    }
                }
                return server?.port ?? -1
            } ?? -1
        }

        func stop() { events.stop() }
    }

    @Test("a deferred response keeps its place: requests pipelined behind it are answered after it, in order")
    func deferredResponsesKeepOrder() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let client = try BlockingSocketClient(port: fixture.port)
        client.send("POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nAGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nB")
        let first = client.receiveHTTPResponse()
        #expect(first.status == 202 && first.body == "A")
        #expect(client.receiveHTTPResponse().body == "ok")
        let third = client.receiveHTTPResponse()
        #expect(third.status == 202 && third.body == "B")
        client.send("POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nC")
        #expect(client.receiveHTTPResponse().body == "C")
        #expect(client.peerClosed())
    }

    @Test("a malformed request behind a deferred one is answered after it, with its error, and the connection closes")
    func malformedBehindDeferred() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let client = try BlockingSocketClient(port: fixture.port)
        client.send("POST /later HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nAthis is not HTTP\r\n\r\n")
        let first = client.receiveHTTPResponse()
        #expect(first.status == 202 && first.body == "A")
        #expect(client.receiveHTTPResponse().status == 400)
        #expect(client.peerClosed())
    }

    @Test("keep-alive and pipelined requests on one connection; 404 as JSON; Connection: close is honoured")
    func keepAliveAndPipelining() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let client = try BlockingSocketClient(port: fixture.port)
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(client.receiveHTTPResponse().body == "ok")
        client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        let echo = client.receiveHTTPResponse()
        #expect(echo.status == 200 && echo.body == "abc")
        let missing = client.receiveHTTPResponse()
        #expect(missing.status == 404 && missing.body == #"{"error":"no route for /nope"}"#)
        client.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let last = client.receiveHTTPResponse()
        #expect(last.status == 200 && last.head.contains("Connection: close"))
        #expect(client.peerClosed())
    }

    @Test("oversized headers get 431, an oversized body 413, garbage 400; each then closes")
    func limits() throws {
        let fixture = try Fixture(.init(limits: .init(maxHeaderBytes: 512, maxHeaderCount: 10, maxBodyBytes: 64)))
        defer { fixture.stop() }
        for (request, status) in [
            ("GET /\(String(repeating: "a", count: 600)) HTTP/1.1\r\n\r\n", 431),
            ("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n", 413),
            ("BLAH\r\n\r\n", 400),
        ] {
            let client = try BlockingSocketClient(port: fixture.port)
            client.send(request)
            #expect(client.receiveHTTPResponse().status == status)
            #expect(client.peerClosed())
        }
    }

    @Test("a client that sends part of a request and stalls gets 408 and is closed; an idle one is closed")
    func timeouts() throws {
        let fixture = try Fixture(.init(requestTimeoutMilliseconds: 200, idleTimeoutMilliseconds: 300))
        defer { fixture.stop() }
        let slow = try BlockingSocketClient(port: fixture.port)
        slow.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
        #expect(slow.receiveHTTPResponse().status == 408)
        #expect(slow.peerClosed())
        let idle = try BlockingSocketClient(port: fixture.port)
        #expect(idle.peerClosed())
        // A connection in use is not cut by the idle timeout between requests.
        let busy = try BlockingSocketClient(port: fixture.port)
        for _ in 0..<4 {
            busy.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(busy.receiveHTTPResponse().status == 200)
            usleep(150_000)
        }
    }

    @Test("connections beyond the limit are answered 503")
    func connectionLimit() throws {
        let fixture = try Fixture(.init(maxConnections: 2))
        defer { fixture.stop() }
        let a = try BlockingSocketClient(port: fixture.port), b = try BlockingSocketClient(port: fixture.port)
        for client in [a, b] {
            client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(client.receiveHTTPResponse().status == 200)
        }
        let c = try BlockingSocketClient(port: fixture.port)
        #expect(c.receiveHTTPResponse().status == 503)
        #expect(c.peerClosed())
    }

    @Test("an upgrade hands the connection over with the bytes that followed the request")
    func upgrade() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let client = try BlockingSocketClient(port: fixture.port)
        client.send("GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nearly")
        let head = client.receive(until: "\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(client.receive(5) == Array("early".utf8))
        client.send("later")
        #expect(client.receive(5) == Array("later".utf8))
    }
}
