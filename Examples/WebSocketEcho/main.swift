import Foundation
import RunnelHTTP
import RunnelHTTPServer
import RunnelRuntime
import RunnelWebSocket
import RunnelWebSocketServer

// websocket-echo: a WebSocket echo server on Runnel's transport, the smallest complete use
// of `HTTPServer`, `WebSocketUpgrade` and `WebSocketChannel`. Every path upgrades; text
// comes back as text and binary as binary, unchanged. It is the server that Autobahn's
// fuzzing client runs against (scripts/autobahn.sh), so its message limit defaults to
// 16 MiB, the largest message in Autobahn's cases.
//
//     websocket-echo [--port 9001] [--max-message-size BYTES]

var port = 9001
var maxMessageSize = 16 << 20
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": port = arguments.next().flatMap { Int($0) } ?? port
    case "--max-message-size": maxMessageSize = arguments.next().flatMap { Int($0) } ?? maxMessageSize
    default:
        FileHandle.standardError.write(Data("usage: websocket-echo [--port P] [--max-message-size BYTES]\n".utf8))
        exit(2)
    }
}

/// The server, kept for the life of the process (set and read on the loop's thread only).
nonisolated(unsafe) var runningServer: HTTPServer?

let loop = try EventLoop(name: "echo")
loop.start()
// A client may send a message as large as the limit before reading the echo of the last.
let limits = WebSocketChannel.Limits(maxMessageSize: maxMessageSize, maxQueuedBytes: 4 * maxMessageSize + (4 << 20))
let (configuredPort, configuredLimit) = (port, maxMessageSize)
loop.execute {
    do {
        let server = try HTTPServer(loop: loop, configuration: .init(port: configuredPort)) { request in
            WebSocketUpgrade.reply(to: request, limits: limits) { channel in
                channel.onMessage = { [unowned channel] message in
                    switch message {
                    case .text(let text): channel.send(text: text)
                    case .binary(let bytes): channel.send(binary: bytes)
                    }
                }
            }
        }
        runningServer = server
        FileHandle.standardError.write(Data("websocket-echo on ws://127.0.0.1:\(server.port) (messages up to \(configuredLimit) bytes)\n".utf8))
    } catch {
        FileHandle.standardError.write(Data("websocket-echo: \(error)\n".utf8))
        exit(1)
    }
}
loop.join()
