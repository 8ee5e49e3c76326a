#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP client on 127.0.0.1, for tests of servers on the loops: it speaks
/// through the kernel's sockets exactly as an outside client would. Every receive gives
/// up after a timeout, so a broken server fails a test instead of hanging it.
public final class BlockingSocketClient {
    /// The socket.
    public let fd: Int32

    /// Why connecting failed.
    public struct ConnectError: Error { public var errno: Int32 }

    /// Connects to `127.0.0.1:port`; receives time out after `timeoutSeconds`.
    public init(port: Int, timeoutSeconds: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            Glibc.close(fd)
            throw ConnectError(errno: code)
        }
    }

    deinit { Glibc.close(fd) }

    /// Sends all of `bytes` (errors ignored: a closed peer shows in the next receive).
    public func send(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            done += n
        }
    }

    /// Sends `text` as UTF-8.
    public func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads until `count` bytes arrived, the peer closed, or the timeout.
    public func receive(_ count: Int) -> [UInt8] {
        var got: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while got.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, min($0.count, count - got.count), 0) }
            if n <= 0 { break }
            got += chunk[0..<n]
        }
        return got
    }

    /// Reads until `terminator` has arrived (and returns everything up to and including
    /// it), or the peer closed, or the timeout.
    public func receive(until terminator: String) -> String {
        let end = Array(terminator.utf8)
        var got: [UInt8] = []
        var byte: UInt8 = 0
        while !(got.count >= end.count && Array(got.suffix(end.count)) == end) {
            if recv(fd, &byte, 1, 0) <= 0 { break }
            got.append(byte)
        }
        return String(decoding: got, as: UTF8.self)
    }

    /// Reads one HTTP/1.1 response with a `Content-Length` body: (status, head, body).
    public func receiveHTTPResponse() -> (status: Int, head: String, body: String) {
        let head = receive(until: "\r\n\r\n")
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingPrefix(" ")) } ?? 0
        return (status, head, String(decoding: receive(length), as: UTF8.self))
    }

    /// Whether the peer closed (a receive returns end of file) within the timeout.
    public func peerClosed() -> Bool {
        var byte: UInt8 = 0
        while true {
            let n = recv(fd, &byte, 1, 0)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }
}
