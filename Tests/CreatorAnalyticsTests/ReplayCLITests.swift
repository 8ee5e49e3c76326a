import CreatorAnalyticsKit
import Foundation
import Testing

/// Runs the built `creator-analytics` executable.
enum CreatorAnalyticsCLI {
    /// Where the executable is, or why it was not found.
    static let location: Result<URL, LocateError> = locate()

    struct LocateError: Error, CustomStringConvertible {
        var searched: [String]
        var description: String {
            "creator-analytics executable not found (build it with `swift build --build-tests`); searched: \(searched.joined(separator: ", "))"
        }
    }

    /// Looks, in order: `$CREATOR_ANALYTICS_BIN`; the build products directory of this test
    /// bundle (from the process's executable and `Bundle.main`, walking up a few levels as the
    /// `.xctest` may be a directory bundle); then every `.build*` directory of the package
    /// (found from this source file's path), newest executable first.
    static func locate() -> Result<URL, LocateError> {
        let fm = FileManager.default
        var searched: [String] = []
        func executable(_ url: URL) -> URL? {
            let path = url.standardizedFileURL.path
            searched.append(path)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue, fm.isExecutableFile(atPath: path) else { return nil }
            return URL(fileURLWithPath: path)
        }
        if let env = ProcessInfo.processInfo.environment["CREATOR_ANALYTICS_BIN"], let url = executable(URL(fileURLWithPath: env)) {
            return .success(url)
        }
        var starts: [URL] = []
        if let arg0 = CommandLine.arguments.first, !arg0.isEmpty {
            starts.append(URL(fileURLWithPath: arg0).resolvingSymlinksInPath())
        }
        if let exe = Bundle.main.executableURL { starts.append(exe.resolvingSymlinksInPath()) }
        starts.append(Bundle.main.bundleURL.resolvingSymlinksInPath())
        for start in starts {
            var dir = start.deletingLastPathComponent()
            for _ in 0..<4 {
                if let found = executable(dir.appendingPathComponent("creator-analytics")) { return .success(found) }
                dir = dir.deletingLastPathComponent()
            }
        }
        // <package>/Tests/CreatorAnalyticsTests/ReplayCLITests.swift
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let scratch = ((try? fm.contentsOfDirectory(atPath: package.path)) ?? []).filter { $0.hasPrefix(".build") }
        var candidates: [(URL, Date)] = []
        for s in scratch {
            let root = package.appendingPathComponent(s)
            var dirs = [root.appendingPathComponent("debug"), root.appendingPathComponent("release")]
            for sub in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] where sub.contains("-") {
                dirs += [root.appendingPathComponent(sub).appendingPathComponent("debug"),
                         root.appendingPathComponent(sub).appendingPathComponent("release")]
            }
            for d in dirs {
                if let found = executable(d.appendingPathComponent("creator-analytics")) {
                    let date = (try? fm.attributesOfItem(atPath: found.path)[.modificationDate] as? Date) ?? .distantPast
                    candidates.append((found, date))
                }
            }
        }
        if let newest = candidates.max(by: { $0.1 < $1.1 }) { return .success(newest.0) }
        return .failure(LocateError(searched: searched))
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs the executable with `arguments` and waits (at most `timeout` seconds).
    static func run(_ arguments: [String], timeout: TimeInterval = 60) throws -> Output {
        let process = Process()
        process.executableURL = try location.get()
        process.arguments = arguments
        let dir = try E2ETempDir("cli-io")
        let out = dir.path("stdout"), err = dir.path("stderr")
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let outHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            Issue.record("creator-analytics \(arguments.joined(separator: " ")) timed out after \(timeout) s")
        }
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Output(status: process.terminationStatus,
                      stdout: String(decoding: FileManager.default.contents(atPath: out) ?? Data(), as: UTF8.self),
                      stderr: String(decoding: FileManager.default.contents(atPath: err) ?? Data(), as: UTF8.self))
    }
}

@Suite("creator-analytics CLI", .serialized, .timeLimit(.minutes(2)))
struct ReplayCLITests {
    /// Fails with a clear message (rather than silently passing) if the binary is missing.
    private func requireBinary() throws {
        if case .failure(let error) = CreatorAnalyticsCLI.location {
            Issue.record("\(error)")
            throw error
        }
    }

    @Test("generate, then replay at p = 2: exit 0, summary on stderr, files equal the library run and the reference")
    func generateAndReplay() throws {
        try requireBinary()
        let dir = try E2ETempDir("cli")
        let events = dir.path("events.ndjson"), output = dir.path("results.ndjson"), dead = dir.path("bad.ndjson")

        let gen = try CreatorAnalyticsCLI.run(["generate", "--events", "5000", "--seed", "3", "--output", events])
        #expect(gen.status == 0, "generate failed: \(gen.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: events))
        #expect(data == ReplayE2E.generate(seed: 3, count: 5000), "the CLI generator must equal the library generator for a seed")

        let replay = try CreatorAnalyticsCLI.run(["replay", "--input", events, "--output", output,
                                                  "--dead-letter", dead, "--parallelism", "2"])
        #expect(replay.status == 0, "replay failed: \(replay.stderr)")
        #expect(replay.stdout.isEmpty, "results go to the file, not to standard output")

        let x = ReplayRef.evaluate(ReplayRef.decode(data))
        let summaryLines = replay.stderr.split(separator: "\n")
        #expect(summaryLines.count == 1, "one summary line on stderr: \(replay.stderr)")
        let summary = String(summaryLines.last ?? "")
        for part in ["events read \(x.linesRead)", "valid \(x.valid)", "invalid \(x.invalid)", "duplicates \(x.duplicates)",
                     "late 0", "results written \(x.resultsWritten)", "wall time ", "events/s "] {
            #expect(summary.contains(part), "summary lacks '\(part)': \(summary)")
        }

        let cliLines = ReplayE2E.readLines(output)
        let cliRecords = cliLines.map(ReplayRef.normalize(outputLine:)).sorted()
        ReplayE2E.expectSameLines(cliRecords, x.records, "CLI results vs reference")
        let cliDead = ReplayE2E.readLines(dead)
        ReplayE2E.expectDeadLetters(cliDead.compactMap(ReplayE2E.parseDeadLetter), lineCount: cliDead.count,
                                    x.deadLetters, "CLI")

        let library = try ReplayE2E.run(input: events, in: dir, parallelism: 2)
        ReplayE2E.expectSameLines(cliRecords, library.records, "CLI results vs library run")
        #expect(cliLines.sorted() == library.outputLines.sorted(), "byte-identical result lines (up to order)")
    }

    @Test("--output - writes the results to standard output; the summary stays on stderr")
    func outputToStdout() throws {
        try requireBinary()
        let dir = try E2ETempDir("cli-stdout")
        let events = dir.path("events.ndjson")
        let data = ReplayE2E.generate(seed: 4, count: 3000)
        try data.write(to: URL(fileURLWithPath: events))
        let replay = try CreatorAnalyticsCLI.run(["replay", "--input", events, "--output", "-", "--parallelism", "1"])
        #expect(replay.status == 0, "\(replay.stderr)")
        let x = ReplayRef.evaluate(ReplayRef.decode(data))
        let records = ReplayRef.splitLines(Data(replay.stdout.utf8)).map(ReplayRef.normalize(outputLine:)).sorted()
        ReplayE2E.expectSameLines(records, x.records, "stdout results")
        #expect(replay.stderr.contains("results written \(x.resultsWritten)"), "\(replay.stderr)")
    }

    @Test("--out-of-orderness is taken in seconds", arguments: ["10", "2.5"])
    func outOfOrdernessOption(seconds: String) throws {
        try requireBinary()
        let dir = try E2ETempDir("cli-ooo")
        let events = dir.path("events.ndjson"), output = dir.path("o.ndjson")
        // After the first read the watermark is 10:01:05 − bound − 1 ms: with 10 s the view at
        // 10:00:59.999 is on time, with 2.5 s it is late.
        var lines = [#"{"event_id":"m","event_name":"user_logged_in","timestamp":"2026-03-01T10:01:05.000Z","user_id":"u"}"#]
        lines += Array(repeating: "", count: ReplayRef.sourceLinesPerRead - 1)
        lines.append(#"{"event_id":"v","event_name":"post_viewed","timestamp":"2026-03-01T10:00:59.999Z","session_id":"s","post_id":"p","creator_id":"c"}"#)
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        try data.write(to: URL(fileURLWithPath: events))
        let replay = try CreatorAnalyticsCLI.run(["replay", "--input", events, "--output", output, "--parallelism", "1",
                                                  "--out-of-orderness", seconds])
        #expect(replay.status == 0, "\(replay.stderr)")
        var options = ReplayRef.Options()
        options.outOfOrdernessMillis = Int64((Double(seconds)! * 1000).rounded())
        options.watermarkBlockLines = ReplayRef.sourceLinesPerRead
        let x = ReplayRef.evaluate(ReplayRef.decode(data), options)
        #expect(x.late == (seconds == "10" ? 0 : 1))
        ReplayE2E.expectSameLines(ReplayE2E.readLines(output).map(ReplayRef.normalize(outputLine:)).sorted(), x.records,
                                  "--out-of-orderness \(seconds)")
        #expect(replay.stderr.contains("late \(x.late),"), "\(replay.stderr)")
    }

    @Test("invalid arguments exit non-zero with a message", arguments: [
        (["replay", "--input", "IN", "--output", "OUT", "--parallelism", "0"], "parallelism"),
        (["replay", "--input", "IN", "--output", "OUT", "--parallelism", "-3"], "parallelism"),
        (["replay", "--input", "IN", "--output", "OUT", "--parallelism", "two"], "parallelism"),
        (["replay", "--output", "OUT"], "--input"),
        (["replay", "--input", "IN"], "--output"),
        (["replay", "--input", "IN", "--output", "OUT", "--out-of-orderness", "-1"], "out-of-orderness"),
        (["replay", "--input", "IN", "--output", "OUT", "--no-such-flag"], "no-such-flag"),
        (["frobnicate"], "frobnicate"),
    ])
    func invalidArguments(arguments: [String], mentions: String) throws {
        try requireBinary()
        let dir = try E2ETempDir("cli-args")
        let input = dir.path("in.ndjson")
        try Data(#"{"event_id":"a","event_name":"user_logged_in","timestamp":"2026-03-01T10:00:00Z","user_id":"u"}"#.utf8)
            .write(to: URL(fileURLWithPath: input))
        let args = arguments.map { $0 == "IN" ? input : $0 == "OUT" ? dir.path("out.ndjson") : $0 }
        let result = try CreatorAnalyticsCLI.run(args)
        #expect(result.status != 0, "\(args) must fail")
        #expect(result.stderr.contains(mentions), "\(args): stderr should mention '\(mentions)': \(result.stderr)")
        #expect(!result.stderr.contains("events read"), "no job may run: \(result.stderr)")
    }

    @Test("a nonexistent input file: a clear error naming the file and a non-zero exit")
    func missingInputFile() throws {
        try requireBinary()
        let dir = try E2ETempDir("cli-missing")
        let missing = dir.path("does-not-exist.ndjson")
        let result = try CreatorAnalyticsCLI.run(["replay", "--input", missing, "--output", dir.path("o.ndjson"),
                                                  "--parallelism", "2"], timeout: 20)
        #expect(result.status != 0)
        #expect(result.stderr.contains("does-not-exist.ndjson"), "\(result.stderr)")
        #expect(!result.stderr.contains("events read"), "\(result.stderr)")
    }
}
