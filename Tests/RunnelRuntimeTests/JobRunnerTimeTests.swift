import RunnelCore
import RunnelOperators
import RunnelRuntime
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The libuv runtime's processing time (uv_timer), early firing and cancellation.
@Suite(.timeLimit(.minutes(1))) struct JobRunnerTimeTests {
    @Test func processingTimeWindowsFireOnLoopTimersAndFlushAtTheEnd() throws {
        let env = StreamEnvironment(name: "proc-time")
        let sink = CollectSink<WindowResult<Int, Int>>()
        // 300 records at 3000/s: about 100 ms of processing time, so several 20 ms windows.
        env.source("gen", GeneratorSource(count: 300, recordsPerSecond: 3000) { $0 },
                   watermarks: .monotonousTimestamps { Int64($0) })
            .keyBy { $0 % 3 }
            .window(TumblingWindows(.milliseconds(20), domain: .processingTime))
            .aggregate("count", CountAggregate<Int>())
            .sink("collect", sink)
        try JobRunner(graph: env.build(), options: .init(parallelism: 2)).run()
        let results = sink.results
        #expect(results.reduce(0) { $0 + $1.value } == 300, "every record counted exactly once")
        #expect(Set(results.map(\.window.start)).count >= 2, "windows fired as processing time passed")
    }

    @Test func earlyFiringEmitsPartialResultsThenTheFinalOne() throws {
        let env = StreamEnvironment(name: "early")
        let sink = CollectSink<WindowResult<Int, Int>>()
        // Event time stays inside one 1-hour window while ~150 ms of processing time pass.
        env.source("gen", GeneratorSource(count: 300, recordsPerSecond: 2000) { $0 },
                   watermarks: .monotonousTimestamps { _ in 1_000 })
            .keyBy { _ in 0 }
            .window(TumblingWindows(.seconds(3600)))
            .trigger(EarlyFiringTrigger(every: .milliseconds(20)))
            .aggregate("count", CountAggregate<Int>())
            .sink("collect", sink)
        try JobRunner(graph: env.build(), options: .init(parallelism: 1)).run()
        let results = sink.results
        let early = results.filter { $0.firing == .early }
        let final = results.filter { $0.firing == .onTime }
        #expect(!early.isEmpty)
        #expect(final.map(\.value) == [300])
        #expect(early.map(\.value) == early.map(\.value).sorted(), "partial counts only grow")
        #expect(early.allSatisfy { $0.value <= 300 })
    }

    @Test func cancelStopsAnUnboundedJob() throws {
        let env = StreamEnvironment(name: "forever")
        final class CountingSink: Sink, @unchecked Sendable {
            let count: UnsafeAtomicBox
            init(_ count: UnsafeAtomicBox) { self.count = count }
            func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(count) }
            final class Writer: SinkWriter {
                let count: UnsafeAtomicBox
                init(_ count: UnsafeAtomicBox) { self.count = count }
                func write(_ value: Int, timestamp: Timestamp) throws { count.increment() }
                func finish() throws {}
            }
        }
        let box = UnsafeAtomicBox()
        env.source("gen", GeneratorSource(recordsPerSecond: 10_000) { $0 }, watermarks: .monotonousTimestamps { Int64($0) })
            .sink("count", CountingSink(box))
        let runner = JobRunner(graph: try env.build(), options: .init(parallelism: 2))
        let canceller = TestThread {
            usleep(150_000)
            runner.cancel()
        }
        #expect(throws: JobRunner.RunError.self) { try runner.run() }
        canceller.join()
        #expect(box.value > 0, "the job ran before it was cancelled")
    }
}

extension JobRunnerTimeTests {
    @Test func cancelledFileSinkKeepsCompleteLines() throws {
        let path = "/tmp/runnel-cancel-\(getpid()).ndjson"
        defer { unlink(path) }
        let env = StreamEnvironment(name: "cancel-file")
        env.source("gen", GeneratorSource(recordsPerSecond: 5_000) { $0 }, watermarks: .monotonousTimestamps { Int64($0) })
            .sink("file", try NDJSONFileSink<Int>(path: path) { n, json in
                json.beginObject(); json.key("n"); json.int(n); json.endObject()
            })
        let runner = JobRunner(graph: try env.build(), options: .init(parallelism: 2))
        let canceller = TestThread {
            usleep(200_000)
            runner.cancel()
        }
        #expect(throws: JobRunner.RunError.self) { try runner.run() }
        canceller.join()
        // The buffered lines were written on cancellation, and only whole lines.
        let text = readPrefix(of: path)
        #expect(!text.isEmpty)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n")
        #expect(lines.count > 100)
        #expect(lines.allSatisfy { $0.hasPrefix("{\"n\":") && $0.hasSuffix("}") })
    }
}

/// Up to the first MiB of a file (the cancellation tests write less than that).
func readPrefix(of path: String) -> String {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 1 << 20)
    let n = read(fd, &bytes, bytes.count)
    return String(decoding: bytes[0..<max(n, 0)], as: UTF8.self)
}

/// A counter shared with a sink.
final class UnsafeAtomicBox: Sendable {
    private let storage = Atomic<Int>(0)
    func increment() { storage.add(1, ordering: .relaxed) }
    var value: Int { storage.load(ordering: .relaxed) }
}

/// A plain thread for the test (no Foundation).
struct TestThread {
    private let thread: pthread_t
    init(_ body: @escaping @Sendable () -> Void) {
        final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var t = pthread_t()
        pthread_create(&t, nil, { arg in
            let box = Unmanaged<AnyObject>.fromOpaque(arg!).takeRetainedValue() as! Box
            box.body()
            return nil
        }, box)
        thread = t
    }
    func join() { pthread_join(thread, nil) }
}

extension JobRunnerTimeTests {
    /// SIGTERM reaches the job through uv_signal: it is cancelled (sinks closed) and `run()`
    /// reports the signal; the process itself is not killed.
    @Test func sigtermCancelsAJobThatWatchesSignals() throws {
        let path = "/tmp/runnel-sigterm-\(getpid()).ndjson"
        defer { unlink(path) }
        let env = StreamEnvironment(name: "sigterm")
        let box = UnsafeAtomicBox()
        env.source("gen", GeneratorSource(recordsPerSecond: 5_000) { $0 }, watermarks: .monotonousTimestamps { Int64($0) })
            .map("count") { n -> Int in box.increment(); return n }
            .sink("file", try NDJSONFileSink<Int>(path: path) { n, json in
                json.beginObject(); json.key("n"); json.int(n); json.endObject()
            })
        let runner = JobRunner(graph: try env.build(), options: .init(parallelism: 1, handleSignals: true))
        let signaller = TestThread {
            // Records flowing means the job (and its signal watcher) is running.
            while box.value < 100 { usleep(1_000) }
            kill(getpid(), SIGTERM)
        }
        do {
            try runner.run()
            Issue.record("the job should have been cancelled")
        } catch let error as JobRunner.RunError {
            #expect("\(error)" == "job cancelled by signal \(SIGTERM)")
        }
        signaller.join()
        let text = readPrefix(of: path)
        #expect(!text.isEmpty)
        #expect(text.hasSuffix("\n"), "only complete lines were written")
    }
}
