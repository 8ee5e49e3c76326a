import Testing

@testable import RunnelRuntime

#if canImport(Glibc)
import Glibc
#endif

/// The TCP transport on a libuv loop, against plain blocking sockets as clients.
@Suite struct TCPTransportTests: EventLoopTestSupport {
    /// A blocking client socket connected to 127.0.0.1:`port`, with a receive timeout.
    final class Client {
        let fd: Int32

        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else { throw ClientError(errno: errno) }
        }

        deinit { Glibc.close(fd) }

        func send(_ text: String) {
            let bytes = Array(text.utf8)
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// Reads until `count` bytes arrived, the peer closed, or the timeout.
        func receive(_ count: Int) -> String {
            var got: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while got.count < count {
                let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                got += chunk[0..<n]
            }
            return String(decoding: got, as: UTF8.self)
        }

        /// Whether the peer closed (recv returns 0) within the timeout.
        func peerClosed() -> Bool {
            var byte: UInt8 = 0
            return recv(fd, &byte, 1, 0) == 0
        }
    }

    struct ClientError: Error { var errno: Int32 }

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
            #expect(client.receive(5) == "hello")
            client.send("three")
            #expect(client.receive(13) == "one,two,three")
            client.send("bye")
            #expect(client.peerClosed(), "the server closed the connection")
        }
        do {
            let client = try Client(port: port)
            client.send("x")
            #expect(client.receive(1) == "x")
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
            #expect(client.receive(expected.utf8.count) == expected)
        }
        // A large message crosses many reads and writes intact.
        let big = String(repeating: "0123456789", count: 50_000)
        clients[0].send(big)
        #expect(clients[0].receive(big.utf8.count) == big)
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
}
