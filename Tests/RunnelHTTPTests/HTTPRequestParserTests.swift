import RunnelHTTP
import Testing

/// HTTP/1.1 requests read through libhttp-parser, with the limits against hostile clients.
@Suite struct HTTPRequestParserTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("a request with a body, fed whole and fed one byte at a time")
    func requestWithBody() throws {
        let text = "POST /v1/events?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5\r\n\r\nhello"
        let expected = HTTPRequest(method: "POST", target: "/v1/events?x=1",
                                   headers: [("Host", "a"), ("Content-Type", "application/x-ndjson"), ("Content-Length", "5")],
                                   body: Self.bytes("hello"))
        #expect(try HTTPRequestParser().feed(Self.bytes(text)) == [expected])
        let parser = HTTPRequestParser()
        var got: [HTTPRequest] = []
        for byte in Self.bytes(text) { got += try parser.feed([byte]) }
        #expect(got == [expected])
        #expect(expected.header("content-type") == "application/x-ndjson")
        #expect(expected.path == "/v1/events")
        #expect(expected.queryParameter("x") == "1")
    }

    @Test("pipelined requests come out in order; keep-alive follows the version and Connection")
    func pipelining() throws {
        let parser = HTTPRequestParser()
        let got = try parser.feed(Self.bytes("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
        #expect(got.map(\.target) == ["/a", "/b", "/c"])
        #expect(got.map(\.keepAlive) == [true, false, false])
        #expect(got[1].version == (1, 0))
    }

    @Test("a chunked body is joined")
    func chunkedBody() throws {
        let got = try HTTPRequestParser().feed(Self.bytes(
            "POST /v1/events HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"))
        #expect(got.first?.body == Self.bytes("Wikipedia"))
    }

    @Test("an upgrade request stops parsing; what follows is kept for the new protocol")
    func upgrade() throws {
        let parser = HTTPRequestParser()
        let got = try parser.feed(Self.bytes("GET /v1/feed?token=a%2Bb HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n") + [0x81, 0x85])
        #expect(got.count == 1 && got[0].isUpgrade)
        #expect(got[0].queryParameter("token") == "a+b")
        #expect(parser.upgraded)
        #expect(parser.remainder == [0x81, 0x85])
        #expect(try parser.feed([1, 2]) == [])
        #expect(parser.remainder == [0x81, 0x85, 1, 2])
    }

    @Test("limits: oversized headers give 431, an oversized declared or chunked body 413 before it is read, garbage 400")
    func limits() {
        let limits = HTTPRequestParser.Limits(maxHeaderBytes: 200, maxHeaderCount: 5, maxBodyBytes: 100)
        func failure(_ text: String) -> Int? {
            do {
                _ = try HTTPRequestParser(limits: limits).feed(Self.bytes(text))
                return nil
            } catch {
                return error.status
            }
        }
        #expect(failure("GET /\(String(repeating: "a", count: 300)) HTTP/1.1\r\n\r\n") == 431)
        #expect(failure("GET / HTTP/1.1\r\n" + (0..<6).map { "X-\($0): 1\r\n" }.joined() + "\r\n") == 431)
        // Declared too large: refused with only the headers read.
        #expect(failure("POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n") == 413)
        #expect(failure("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" + String(repeating: "x", count: 101) + "\r\n") == 413)
        #expect(failure("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + String(repeating: "x", count: 100)) == nil)
        #expect(failure("HELLO\r\n\r\n") == 400)
        #expect(failure("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n") == 400)
    }

    @Test("after a failure every later feed fails the same way")
    func failureIsFinal() {
        let parser = HTTPRequestParser()
        #expect(throws: HTTPRequestParser.Failure.self) { try parser.feed(Self.bytes("NOT HTTP\r\n\r\n")) }
        #expect(throws: HTTPRequestParser.Failure.self) { try parser.feed(Self.bytes("GET / HTTP/1.1\r\n\r\n")) }
    }
}
