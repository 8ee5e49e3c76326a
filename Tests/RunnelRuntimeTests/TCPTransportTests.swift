import RunnelTesting
import Testing

@testable import RunnelRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The TCP transport on a libuv loop, against plain blocking sockets as clients.
@Suite struct TCPTransportTests: EventLoopTestSupport {
    typealias Client = BlockingSocketClient

    /// Starts an echo server on a new loop; returns the loop, the port, and a counter of
    /// connections that ended (with the errors they ended with).
    func echoServer(_ name: String) throws -> (EventLoop, Int, LoopTestBox<[String]>) {
        let loop = try EventLoop(name: name)
        loop.start()
        let ended = LoopTestBox<[String]>([])
        let port = onLoop(loop) { () -> Int in
            let listener = try? TCPListener(loop: loop, host: "127.0.0.1", port: 0) { connection in
                connection.onRead = { bytes in
                    let text = String(decoding: bytes, as: UTF8.self)
                    if text.hasPrefix("three") {
                        connection.write([OutboundBytes(Array("one,".utf8)), OutboundBytes(Array("two,".utf8)), OutboundBytes(Array("three".utf8))])
                    } else if text.hasPrefix("bye") {
                        connection.close()
                    } else {
                        connection.write([OutboundBytes(bytes)])
                    }
                }
                connection.onClose = { error in ended.withLock { $0.append(error.map { "\($0)" } ?? "ok") } }
                connection.startReading()
            }
            return listener?.port ?? -1
        }
        #expect(port ?? -1 > 0)
        return (loop, port ?? -1, ended)
    }

    @Test("echo, several buffers in one write, and both ways of closing")
    func echoAndClose() throws {
        let (loop, port, ended) = try echoServer("tcp-echo")
        do {
            let client = try Client(port: port)
            client.send("hello")
            #expect(client.receive(5) == Array("hello".utf8))
            client.send("three")
            #expect(client.receive(13) == Array("one,two,three".utf8))
            client.send("bye")
            #expect(client.peerClosed(), "the server closed the connection")
        }
        do {
            let client = try Client(port: port)
            client.send("x")
            #expect(client.receive(1) == Array("x".utf8))
        }  // the client closes: the server sees end of file
        #expect(waitUntil { ended.withLock { $0.count } == 2 })
        #expect(ended.value == ["ok", "ok"])
        shutDownAndCheck(loop)
    }

    @Test("many clients at once, each echoed its own bytes; shutdown closes the rest")
    func manyClients() throws {
        let (loop, port, _) = try echoServer("tcp-many")
        let clients = try (0..<64).map { _ in try Client(port: port) }
        for (i, client) in clients.enumerated() { client.send("client \(i);") }
        for (i, client) in clients.enumerated() {
            let expected = "client \(i);"
            #expect(client.receive(expected.utf8.count) == Array(expected.utf8))
        }
        // A large message crosses many reads and writes intact.
        let big = String(repeating: "0123456789", count: 50_000)
        clients[0].send(big)
        #expect(clients[0].receive(big.utf8.count) == Array(big.utf8))
        shutDownAndCheck(loop)
        #expect(clients.allSatisfy { $0.peerClosed() }, "shutdown closed every connection")
    }

    @Test("binding an address in use or an invalid host throws")
    func bindFailures() throws {
        let loop = try EventLoop(name: "tcp-bind")
        loop.start()
        let results = onLoop(loop) { () -> [String] in
            var out: [String] = []
            do throws(UVError) {
                let first = try TCPListener(loop: loop, host: "127.0.0.1", port: 0) { _ in }
                do throws(UVError) {
                    _ = try TCPListener(loop: loop, host: "127.0.0.1", port: first.port) { _ in }
                    out.append("second bind succeeded")
                } catch { out.append(error.name) }
            } catch { out.append("first: \(error)") }
            do throws(UVError) {
                _ = try TCPListener(loop: loop, host: "not-an-address", port: 0) { _ in }
                out.append("bad host accepted")
            } catch { out.append(error.name) }
            return out
        }
        #expect(results == ["EADDRINUSE", "EINVAL"])
        shutDownAndCheck(loop)
    }

    @Test("a connection made from a loop exchanges bytes; connecting to a closed port reports the error")
    func connectFromALoop() throws {
        let (loop, port, _) = try echoServer("tcp-connect")
        let received = LoopTestBox<[String]>([])
        _ = onLoop(loop) { () -> Bool in
            TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port) { result in
                guard case .success(let connection) = result else {
                    received.withLock { $0.append("failed") }
                    return
                }
                connection.onRead = { bytes in received.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } }
                connection.startReading()
                connection.write([OutboundBytes(Array("ping".utf8))])
            }
            // A port nobody listens on: the listener's port after it closed.
            let closed = try? TCPListener(loop: loop, host: "127.0.0.1", port: 0) { _ in }
            let unused = closed?.port ?? 1
            closed?.close()
            TCPConnection.connect(loop: loop, host: "127.0.0.1", port: unused) { result in
                if case .failure(let error) = result { received.withLock { $0.append(error.name) } }
            }
            return true
        }
        #expect(waitUntil { received.value.count >= 2 })
        #expect(Set(received.value) == ["ping", "ECONNREFUSED"])
        shutDownAndCheck(loop)
    }
}
