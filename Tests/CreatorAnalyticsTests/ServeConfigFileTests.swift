import CreatorAnalyticsKit
import Foundation
import RunnelTesting
import Testing

/// serve's options from a YAML file and the environment.
@Suite struct ServeConfigFileTests {
    @Test("a file sets options by their flag names; the environment wins over it; unknown keys and bad values are errors")
    func parse() throws {
        let file = try ServeConfigFile.parse("""
            port: 9090
            demo: true
            dead-letter: /tmp/x.ndjson
            """)
        #expect(file.values == ["port": "9090", "demo": "true", "dead-letter": "/tmp/x.ndjson"])
        #expect(file.value("port", environment: [:]) == "9090")
        #expect(file.value("port", environment: ["RUNNEL_PORT": "7070"]) == "7070")
        #expect(file.value("demo-rate", environment: ["RUNNEL_DEMO_RATE": "5"]) == "5")
        #expect(file.value("host", environment: [:]) == nil)
        #expect(try ServeConfigFile.parse("").values.isEmpty)
        #expect(throws: ServeConfigFile.Invalid.self) { try ServeConfigFile.parse("prot: 9090") }
        #expect(throws: ServeConfigFile.Invalid.self) { try ServeConfigFile.parse("port: eighty") }
        #expect(throws: ServeConfigFile.Invalid.self) { try ServeConfigFile.parse("demo: maybe") }
        #expect(throws: ServeConfigFile.Invalid.self) { try ServeConfigFile.parse("- port") }
        #expect(throws: ServeConfigFile.Invalid.self) { try ServeConfigFile.parse("port: [1, 2]") }
    }

    @Test("serve takes its options from --config and the environment; a bad file stops it with a clear message")
    func serveUsesTheFile() throws {
        let dir = try E2ETempDir()
        let config = dir.path("serve.yaml")
        try "demo: true\ncoalesce-ms: 100\ninsecure-no-auth: true\n".write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ServeTests.Server(["--config", config], environment: ["RUNNEL_DEMO_RATE": "1500"])
        defer { server.stop() }
        try #require(server.port > 0, "serve printed its port: \(server.stderr)")
        #expect(server.stderr.contains("--insecure-no-auth"), "the file's insecure-no-auth took effect: \(server.stderr)")
        var sent = 0
        let deadline = Date().addingTimeInterval(10)
        while sent == 0 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.2)
            let client = try BlockingSocketClient(port: server.port)
            client.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            let page = client.receiveHTTPResponse().body
            if let line = page.split(separator: "\n").first(where: { $0.hasPrefix("runnel_demo_events_sent_total ") }) {
                sent = Int(line.split(separator: " ")[1]) ?? 0
            }
        }
        #expect(sent > 0, "the file's demo: true started the demo traffic")

        let bad = dir.path("bad.yaml")
        try "prot: 8080\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try ServeTests.Server(["--config", bad])
        refused.process.waitUntilExit()
        let message = refused.stderr + String(decoding: refused.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(refused.process.terminationStatus != 0)
        #expect(message.contains("unknown option 'prot'"), "\(message)")
    }
}
