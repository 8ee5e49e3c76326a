import CreatorAnalyticsKit
import Foundation
import RunnelCheckpoint
import Testing

/// Real crashes: `creator-analytics replay` with checkpoints is killed with SIGKILL at random
/// moments, several times, and restarted with `--restore latest` until it finishes. The
/// committed output (`part-*.ndjson`) must equal an uninterrupted run's, line for line as a
/// multiset: nothing lost, nothing doubled.
@Suite(.serialized) struct ReplayCrashTests {
    /// Starts the CLI, kills it with SIGKILL after `killAfter` seconds unless it exited;
    /// returns the exit status, or nil if it was killed.
    func runOrKill(_ arguments: [String], killAfter: TimeInterval,
                   killWhen condition: (() -> Bool)? = nil) throws -> (status: Int32?, stderr: String) {
        let process = Process()
        process.executableURL = try CreatorAnalyticsCLI.location.get()
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(killAfter)
        while process.isRunning && Date() < deadline && !(condition?() ?? false) { usleep(5_000) }
        var killed = false
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            killed = true
        }
        process.waitUntilExit()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        return (killed ? nil : process.terminationStatus, text)
    }

    /// Every line of the committed part files in `directory`.
    static func committedLines(_ directory: String) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("part-") }.sorted()
        return names.flatMap { ReplayE2E.readLines(directory + "/" + $0) }
    }

    /// The sorted result lines of an uninterrupted run over `input` at parallelism 2: what
    /// every interrupted run must end up with.
    static func uninterruptedResults(_ input: String, in dir: E2ETempDir) throws -> [String] {
        _ = try CreatorAnalyticsCLI.run(["replay", "--input", input, "--output", dir.path("plain.ndjson"), "--parallelism", "2"])
        return ReplayE2E.readLines(dir.path("plain.ndjson")).sorted()
    }

    @Test("killed with SIGKILL several times and restored, at alternating parallelism, from full or incremental checkpoints: committed output equals an uninterrupted run",
          arguments: [(UInt64(1), 1, false), (UInt64(2), 2, true)])
    func killAndRestore(seed: UInt64, parallelism: Int, incremental: Bool) throws {
        let dir = try E2ETempDir("replay-crash")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: seed, count: 30_000).write(to: URL(fileURLWithPath: input))
        _ = try CreatorAnalyticsCLI.run(["replay", "--input", input, "--output", dir.path("plain.ndjson"),
                                         "--dead-letter", dir.path("plain-dead.ndjson"), "--parallelism", "\(parallelism)"])
        let expected = ReplayE2E.readLines(dir.path("plain.ndjson")).sorted()
        let expectedDead = ReplayE2E.readLines(dir.path("plain-dead.ndjson")).sorted()
        #expect(expected.count > 1000)

        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var notes: [String] = []
        for attempt in 0..<40 {
            // Restarts alternate between parallelism 1 and 2 (state and file positions are
            // redistributed on restore).
            let p = attempt % 2 == 0 ? parallelism : 3 - parallelism
            let arguments = ["replay", "--input", input, "--output", dir.path("out"), "--dead-letter", dir.path("dead"),
                             "--checkpoint-dir", dir.path("checkpoints"), "--checkpoint-interval", "0.05",
                             "--parallelism", "\(p)", "--rate", "20000", "--restore", "latest"]
                // The second case restores from incremental checkpoints (chains of deltas).
                + (incremental ? ["--incremental-checkpoints"] : [])
            // Early attempts are killed at random moments; later ones may run to the end. At
            // 20 k events/s the input takes 1.5 s, so the first two attempts (killed within
            // 0.6 s each) cannot finish it: at least two kills whatever the machine's speed.
            let killAfter = attempt < 4 ? Double.random(in: 0.15...0.6, using: &generator) : 30
            let (status, stderr) = try runOrKill(arguments, killAfter: killAfter)
            notes.append(stderr.split(separator: "\n").first.map(String.init) ?? "")
            if let status {
                #expect(status == 0, "attempt \(attempt): \(stderr)")
                break
            }
            kills += 1
        }
        #expect(kills >= 2, "the job was killed several times: \(notes)")
        #expect(notes.contains { $0.contains("restoring from") }, "a run restored a checkpoint: \(notes)")
        let got = try Self.committedLines(dir.path("out")).sorted()
        let (missing, extra) = ReplayRestoreTests.difference(expected, got)
        #expect(missing.isEmpty && extra.isEmpty, "\(missing.count) missing, \(extra.count) doubled after \(kills) kills")
        let gotDead = try Self.committedLines(dir.path("dead")).sorted()
        #expect(gotDead == expectedDead, "dead letters: \(gotDead.count) vs \(expectedDead.count)")
        // Nothing uncommitted is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path("out")).allSatisfy { !$0.hasPrefix(".") })
    }

    @Test("SIGTERM stops the job with a savepoint; restoring it finishes the output exactly once")
    func stopWithSavepoint() throws {
        let dir = try E2ETempDir("replay-savepoint")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 9, count: 20_000).write(to: URL(fileURLWithPath: input))
        let expected = try Self.uninterruptedResults(input, in: dir)
        let arguments = ["replay", "--input", input, "--output", dir.path("out"), "--checkpoint-dir", dir.path("checkpoints"),
                         "--checkpoint-interval", "60", "--parallelism", "2", "--rate", "10000", "--restore", "latest"]

        let process = Process()
        process.executableURL = try CreatorAnalyticsCLI.location.get()
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        usleep(600_000)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("stopped with savepoint"), "\(stderr)")
        let store = try CheckpointStore(directory: dir.path("checkpoints"), create: false)
        let savepoint = try #require(try store.latestValid())
        #expect(savepoint.manifest.kind == .savepoint)
        #expect(try Self.committedLines(dir.path("out")).count < expected.count, "the job stopped before the end")

        let resumed = try CreatorAnalyticsCLI.run(arguments)
        #expect(resumed.status == 0)
        #expect(resumed.stderr.contains("restoring from"), "\(resumed.stderr)")
        #expect(try Self.committedLines(dir.path("out")).sorted() == expected)
    }

    @Test("a damaged newest checkpoint is reported and the previous one restored; output still exact")
    func corruptNewestCheckpoint() throws {
        let dir = try E2ETempDir("replay-corrupt")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 21, count: 30_000).write(to: URL(fileURLWithPath: input))
        let expected = try Self.uninterruptedResults(input, in: dir)
        let arguments = ["replay", "--input", input, "--output", dir.path("out"), "--checkpoint-dir", dir.path("checkpoints"),
                         "--checkpoint-interval", "0.05", "--parallelism", "2", "--rate", "20000", "--restore", "latest"]
        // Killed once two checkpoints are complete (however busy the machine is), at the latest after 1.2 s.
        let (status, _) = try runOrKill(arguments, killAfter: 1.2) {
            ((try? CheckpointStore(directory: dir.path("checkpoints"), create: false).completedIDs().count) ?? 0) >= 2
        }
        try #require(status == nil, "the first run was killed mid-way")
        let store = try CheckpointStore(directory: dir.path("checkpoints"), create: false)
        let ids = try store.completedIDs()
        try #require(ids.count >= 2, "two complete checkpoints to fall back between")
        // Flip a byte in the middle of the newest checkpoint's largest state file.
        let newest = store.path(of: ids.last!)
        let victim = try FileManager.default.contentsOfDirectory(atPath: newest).filter { $0.hasSuffix(".state") }
            .max { (try? FileManager.default.attributesOfItem(atPath: newest + "/" + $0)[.size] as? Int ?? 0) ?? 0 < (try? FileManager.default.attributesOfItem(atPath: newest + "/" + $1)[.size] as? Int ?? 0) ?? 0 }!
        var data = try Data(contentsOf: URL(fileURLWithPath: newest + "/" + victim))
        data[data.count / 2] ^= 0x20
        try data.write(to: URL(fileURLWithPath: newest + "/" + victim))

        let resumed = try CreatorAnalyticsCLI.run(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("checkpoint \(ids.last!) cannot be restored"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("restoring from") && !resumed.stderr.contains("chk-\(ids.last!) "), "\(resumed.stderr)")
        #expect(try Self.committedLines(dir.path("out")).sorted() == expected)
    }

    @Test("a checkpoint that cannot be written is aborted; the job goes on and its output is exact")
    func failedCheckpointWrite() throws {
        let dir = try E2ETempDir("replay-write-failure")
        let input = dir.path("events.ndjson")
        try ReplayE2E.generate(seed: 23, count: 30_000).write(to: URL(fileURLWithPath: input))
        let expected = try Self.uninterruptedResults(input, in: dir)
        let checkpoints = dir.path("checkpoints")
        let process = Process()
        process.executableURL = try CreatorAnalyticsCLI.location.get()
        process.arguments = ["replay", "--input", input, "--output", dir.path("out"), "--checkpoint-dir", checkpoints,
                             "--checkpoint-interval", "0.05", "--parallelism", "2", "--rate", "20000"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // While it runs, the checkpoint directory turns into a plain file (as if the disk
        // failed), then comes back.
        usleep(300_000)
        try FileManager.default.moveItem(atPath: checkpoints, toPath: checkpoints + ".away")
        // The job makes the checkpoint directory again when it finds it missing, and may do
        // so before the file is in place (and be writing into it): then its new directory
        // goes, until the file is there.
        var replaced = false
        for _ in 0..<100 where !replaced {
            replaced = FileManager.default.createFile(atPath: checkpoints, contents: Data("not a directory".utf8))
            if !replaced {
                try? FileManager.default.removeItem(atPath: checkpoints)
                usleep(1_000)
            }
        }
        #expect(replaced, "a plain file took the checkpoint directory's place")
        usleep(300_000)
        try? FileManager.default.removeItem(atPath: checkpoints)
        // The job may create the directory again in between: then that one goes, and the
        // old one comes back.
        var restored = false
        for _ in 0..<100 where !restored {
            do {
                try FileManager.default.moveItem(atPath: checkpoints + ".away", toPath: checkpoints)
                restored = true
            } catch {
                try? FileManager.default.removeItem(atPath: checkpoints)
            }
        }
        #expect(restored, "the checkpoint directory came back")
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("runnel: checkpoint") && stderr.contains("failed"),
                "a checkpoint failed while the directory was gone: \(stderr)")
        #expect(try Self.committedLines(dir.path("out")).sorted() == expected)
        #expect(try CheckpointStore(directory: checkpoints, create: false).latestValid() != nil)
    }

    @Test("checkpoint files that cannot be written in full (a file-size limit, as on a full disk) abort those checkpoints; the job finishes exactly")
    func checkpointWritesFailMidFile() throws {
        let dir = try E2ETempDir("replay-size-limit")
        let input = dir.path("events.ndjson")
        // One viewer of one post, 100 views a second for five minutes: 30 k distinct event
        // ids to deduplicate (state that grows all run) but only a few result lines (five
        // one-minute windows, one session), so output part files stay small.
        var lines = ""
        for i in 0..<30_000 {
            let millis = i * 10
            let time = String(format: "2026-02-23T00:%02d:%02d.%03dZ", millis / 60_000, millis / 1000 % 60, millis % 1000)
            lines += #"{"event_id":"\#(UUID().uuidString.lowercased())","event_name":"post_viewed","timestamp":"\#(time)","#
                + #""user_id":"u-1","post_id":"p-1","creator_id":"c-1"}"# + "\n"
        }
        try lines.write(toFile: input, atomically: true, encoding: .utf8)
        let expected = try Self.uninterruptedResults(input, in: dir)
        let checkpoints = dir.path("checkpoints")
        // No tmpfs or loop device can be mounted here, so the disk "fills" through the
        // file-size limit (RLIMIT_FSIZE, `ulimit -f`): a write past 256 blocks fails with
        // EFBIG, as one past the end of a full disk fails with ENOSPC. The deduplication
        // state files outgrow it as the run goes on; the output part files and the final
        // checkpoint stay below it. SIGXFSZ is ignored so that the failing write returns an
        // error instead of killing the process.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f 256; exec \"$0\" \"$@\"", try CreatorAnalyticsCLI.location.get().path,
                             "replay", "--input", input, "--output", dir.path("out"), "--checkpoint-dir", checkpoints,
                             "--checkpoint-interval", "0.05", "--parallelism", "2", "--rate", "20000"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("failed and was discarded") && stderr.contains("File too large"),
                "checkpoints failed on the size limit: \(stderr)")
        #expect(try Self.committedLines(dir.path("out")).sorted() == expected)
        // What is left on disk is complete: the final checkpoint, and no partial one.
        let store = try CheckpointStore(directory: checkpoints, create: false)
        #expect(try store.latestValid() != nil)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: checkpoints).filter { $0.hasPrefix(".inprogress") }
        #expect(leftovers.isEmpty, "partial checkpoints left behind: \(leftovers)")
    }
}
