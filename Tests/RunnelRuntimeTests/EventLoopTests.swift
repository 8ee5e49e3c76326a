import Dispatch
import Synchronization
import Testing

@testable import RunnelRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Shared helpers for the event-loop test suites (this file and SignalWatcherTests.swift).
///
/// Declared as protocol-extension methods rather than free functions so that they cannot
/// collide with helpers other test files in this target may declare.
///
/// Every wait is bounded: a broken loop fails the test instead of hanging the run. The
/// bound is generous because CI machines may have only two cores shared with other
/// tests running in parallel.
protocol EventLoopTestSupport {}

extension EventLoopTestSupport {
    /// The bound on every wait in these suites.
    var timeoutMilliseconds: UInt64 { 10_000 }

    /// Polls `condition` every millisecond until it holds or the timeout elapses.
    func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = MonotonicClock.nowNanoseconds() + timeoutMilliseconds * 1_000_000
        while !condition() {
            if MonotonicClock.nowNanoseconds() > deadline {
                return condition()
            }
            usleep(1_000)
        }
        return true
    }

    /// Runs `body` on `loop` and returns its result, or `nil` if it did not run in time.
    func onLoop<T: Sendable>(_ loop: EventLoop, _ body: @escaping @Sendable () -> T) -> T? {
        let result = LoopTestBox<T?>(nil)
        let done = OneShotLatch()
        loop.execute {
            let value = body()
            result.withLock { $0 = value }
            done.open()
        }
        guard done.wait(timeoutNanoseconds: timeoutMilliseconds * 1_000_000) else { return nil }
        return result.value
    }

    /// Shuts `loop` down and checks that it stops in time with every handle closed.
    func shutDownAndCheck(_ loop: EventLoop, sourceLocation: SourceLocation = #_sourceLocation) {
        loop.shutdown()
        let stopped = loop.join(timeoutMilliseconds: timeoutMilliseconds)
        #expect(stopped, "loop '\(loop.name)' did not stop in time", sourceLocation: sourceLocation)
        if stopped {
            // 0 means uv_loop_close found no open handle: every close callback had run.
            #expect(loop.loopCloseResult == 0, sourceLocation: sourceLocation)
            #expect(loop.hasStopped, sourceLocation: sourceLocation)
        }
    }

    /// Makes and starts a loop.
    func startedLoop(_ name: String) throws -> EventLoop {
        let loop = try EventLoop(name: name)
        loop.start()
        return loop
    }
}

/// A value behind a mutex, shareable between the test thread and loop threads.
final class LoopTestBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) {
        mutex = Mutex(value)
    }

    func withLock<Result: Sendable>(_ body: (inout Value) -> Result) -> Result {
        mutex.withLock { value in body(&value) }
    }

    var value: Value {
        withLock { $0 }
    }
}

/// Weak references to loop objects, for checking that shutdown released them.
/// `@unchecked Sendable`: written on the loop thread before shutdown, read by the test
/// thread only after `join`, which orders the accesses.
private final class WeakReferences: @unchecked Sendable {
    private struct Entry {
        weak var object: AnyObject?
    }
    private var entries: [Entry] = []

    func add(_ object: AnyObject) {
        entries.append(Entry(object: object))
    }

    var count: Int { entries.count }
    var liveCount: Int { entries.filter { $0.object != nil }.count }
}

@Suite("EventLoop")
struct EventLoopTests: EventLoopTestSupport {
    @Test("execute from 4 threads × 10k runs each item once, in per-submitter order, on the loop thread")
    func executeFromManyThreads() throws {
        let loop = try startedLoop("rt-exec")
        defer { shutDownAndCheck(loop) }

        let submitters = 4
        let perSubmitter = 10_000

        /// Loop-thread-confined bookkeeping; read by the test only after `completed`
        /// reaches its target, which (Atomic, sequentially consistent) orders the reads.
        final class Recorder: @unchecked Sendable {
            var next: [Int]
            var outOfOrder = 0
            var offLoopThread = 0
            let completed = Atomic<Int>(0)
            init(submitters: Int) { next = Array(repeating: 0, count: submitters) }
        }
        let recorder = Recorder(submitters: submitters)

        let group = DispatchGroup()
        for submitter in 0..<submitters {
            DispatchQueue.global().async(group: group) {
                for sequence in 0..<perSubmitter {
                    loop.execute {
                        if !loop.inEventLoop { recorder.offLoopThread += 1 }
                        if recorder.next[submitter] != sequence { recorder.outOfOrder += 1 }
                        recorder.next[submitter] = sequence + 1
                        recorder.completed.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + .milliseconds(Int(timeoutMilliseconds))) == .success)

        let total = submitters * perSubmitter
        #expect(waitUntil { recorder.completed.load(ordering: .sequentiallyConsistent) >= total })
        // Give any duplicate execution a chance to show up before checking "exactly once".
        #expect(onLoop(loop) { true } == true)
        #expect(recorder.completed.load(ordering: .sequentiallyConsistent) == total)
        #expect(onLoop(loop) { recorder.next } == Array(repeating: perSubmitter, count: submitters))
        #expect(onLoop(loop) { recorder.outOfOrder } == 0)
        #expect(onLoop(loop) { recorder.offLoopThread } == 0)
        #expect(!loop.inEventLoop)
    }

    @Test("work submitted before start runs after start, in order")
    func executeBeforeStart() throws {
        let loop = try EventLoop(name: "rt-prestart")
        let log = LoopTestBox<[Int]>([])
        for index in 0..<5 {
            loop.execute { log.withLock { $0.append(index) } }
        }
        usleep(5_000)
        #expect(log.value.isEmpty)
        loop.start()
        #expect(waitUntil { log.value.count == 5 })
        #expect(log.value == [0, 1, 2, 3, 4])
        shutDownAndCheck(loop)
    }

    @Test("timers fire in due order, repeat, reschedule and cancel")
    func timers() throws {
        let loop = try startedLoop("rt-timers")
        defer { shutDownAndCheck(loop) }
        let log = LoopTestBox<[String]>([])
        let repeatFires = LoopTestBox(0)
        let checks = LoopTestBox<[String: Bool]>([:])

        loop.execute {
            _ = loop.scheduleTimer(afterMilliseconds: 30) { log.withLock { $0.append("30ms") } }
            _ = loop.scheduleTimer(afterMilliseconds: 10) { log.withLock { $0.append("10ms") } }
            _ = loop.scheduleTimer(afterMilliseconds: 20) { log.withLock { $0.append("20ms") } }
            // Same due time: libuv fires them in scheduling order.
            for label in ["tie-a", "tie-b", "tie-c"] {
                _ = loop.scheduleTimer(afterMilliseconds: 5) { log.withLock { $0.append(label) } }
            }

            var repeating: LoopTimer?
            repeating = loop.scheduleTimer(afterMilliseconds: 1, repeatMilliseconds: 2) {
                let count = repeatFires.withLock { value -> Int in
                    value += 1
                    return value
                }
                if count == 5 {
                    repeating?.cancel()  // cancelling from inside the callback is allowed
                    let timer = repeating!
                    checks.withLock {
                        $0["cancelledInside"] = timer.isCancelled && !timer.isScheduled
                        $0["rescheduleAfterCancel"] = timer.reschedule(afterMilliseconds: 1)
                    }
                }
            }

            let cancelled = loop.scheduleTimer(afterMilliseconds: 15) { log.withLock { $0.append("cancelled") } }
            checks.withLock { $0["scheduledBeforeCancel"] = cancelled.isScheduled }
            cancelled.cancel()
            cancelled.cancel()  // idempotent

            let postponed = loop.scheduleTimer(afterMilliseconds: 60_000) { log.withLock { $0.append("rescheduled") } }
            postponed.reschedule(afterMilliseconds: 40)
        }

        #expect(waitUntil { log.value.contains("rescheduled") && repeatFires.value >= 5 })
        // Long enough for a wrongly-live repeating or cancelled timer to fire again.
        usleep(60_000)
        #expect(log.value == ["tie-a", "tie-b", "tie-c", "10ms", "20ms", "30ms", "rescheduled"])
        #expect(repeatFires.value == 5)
        #expect(checks.value == [
            "scheduledBeforeCancel": true,
            "cancelledInside": true,
            "rescheduleAfterCancel": false,
        ])
        #expect(onLoop(loop) { loop.registeredHandleOwnerCount } == 7,
                "the 7 fired one-shot timers stay registered (idle) until cancelled or shutdown")
    }

    @Test("a fired one-shot timer can be rescheduled")
    func oneShotRescheduleAfterFiring() throws {
        let loop = try startedLoop("rt-oneshot")
        defer { shutDownAndCheck(loop) }
        let fires = LoopTestBox(0)
        let scheduledWhileFiring = LoopTestBox<[Bool]>([])
        loop.execute {
            var timer: LoopTimer?
            timer = loop.scheduleTimer(afterMilliseconds: 1) {
                let count = fires.withLock { value -> Int in
                    value += 1
                    return value
                }
                let isScheduled = timer?.isScheduled ?? true
                scheduledWhileFiring.withLock { $0.append(isScheduled) }
                if count < 3 {
                    timer?.reschedule(afterMilliseconds: 1)
                } else {
                    timer?.cancel()
                }
            }
        }
        #expect(waitUntil { fires.value == 3 })
        usleep(20_000)
        #expect(fires.value == 3)
        #expect(scheduledWhileFiring.value == [false, false, false], "a fired one-shot timer is idle")
        #expect(onLoop(loop) { loop.registeredHandleOwnerCount } == 0)
    }

    @Test("loop time advances and clocks are sane")
    func clocks() throws {
        let loop = try startedLoop("rt-clock")
        defer { shutDownAndCheck(loop) }
        let first = try #require(onLoop(loop) { loop.now })
        usleep(20_000)
        let second = try #require(onLoop(loop) { () -> UInt64 in
            loop.updateTime()
            return loop.now
        })
        #expect(second >= first + 15)

        let a = MonotonicClock.nowNanoseconds()
        let b = MonotonicClock.nowNanoseconds()
        #expect(b >= a)
        // 2020-01-01T00:00:00Z in milliseconds.
        #expect(WallClock.nowMilliseconds() > 1_577_836_800_000)
    }

    @Test("LoopWakeup coalesces signals but never loses one")
    func wakeupNeverLosesASignal() throws {
        let loop = try startedLoop("rt-wakeup")
        defer { shutDownAndCheck(loop) }

        final class Counters: Sendable {
            let produced = Atomic<Int>(0)
            let observed = Atomic<Int>(0)
            let invocations = Atomic<Int>(0)
        }
        let counters = Counters()
        let wakeupBox = LoopTestBox<LoopWakeup?>(nil)
        let created = onLoop(loop) { () -> Bool in
            guard let wakeup = try? LoopWakeup(loop: loop, {
                counters.invocations.wrappingAdd(1, ordering: .relaxed)
                // Everything produced before the signal that caused this call is visible.
                counters.observed.store(counters.produced.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
            }) else { return false }
            wakeupBox.withLock { $0 = wakeup }
            return true
        }
        #expect(created == true)
        let wakeup = try #require(wakeupBox.value)

        let producers = 2
        let perProducer = 50_000
        let group = DispatchGroup()
        for _ in 0..<producers {
            DispatchQueue.global().async(group: group) {
                for _ in 0..<perProducer {
                    counters.produced.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    _ = wakeup.signal()
                }
            }
        }
        #expect(group.wait(timeout: .now() + .milliseconds(Int(timeoutMilliseconds))) == .success)

        let total = producers * perProducer
        #expect(waitUntil { counters.observed.load(ordering: .sequentiallyConsistent) == total })
        let invocations = counters.invocations.load(ordering: .relaxed)
        #expect(invocations >= 1)
        #expect(invocations < total, "100k signals from two threads should have coalesced")

        #expect(onLoop(loop) { () -> Bool in
            wakeup.close()
            return wakeup.isClosed
        } == true)
        #expect(wakeup.signal() == false)
    }

    @Test("signals sent while the loop is busy coalesce into one callback")
    func wakeupCoalescesDeterministically() throws {
        let loop = try startedLoop("rt-coalesce")
        defer { shutDownAndCheck(loop) }
        let invocations = LoopTestBox(0)
        let ok = onLoop(loop) { () -> Bool in
            guard let wakeup = try? LoopWakeup(loop: loop, { invocations.withLock { $0 += 1 } }) else { return false }
            // The loop thread is busy here, so all ten signals are pending at once.
            for _ in 0..<10 { wakeup.signal() }
            return true
        }
        #expect(ok == true)
        #expect(waitUntil { invocations.value >= 1 })
        usleep(20_000)
        #expect(invocations.value == 1)
    }

    @Test("executeSoon yields to timers and submitted work between steps")
    func executeSoonInterleaves() throws {
        let loop = try startedLoop("rt-soon")
        defer { shutDownAndCheck(loop) }
        let log = LoopTestBox<[String]>([])
        let steps = 50

        loop.execute {
            func step(_ index: Int) {
                log.withLock { $0.append("step\(index)") }
                if index < steps {
                    loop.executeSoon { step(index + 1) }
                }
            }
            loop.executeSoon { step(1) }
            loop.execute { log.withLock { $0.append("submitted") } }
            _ = loop.scheduleTimer(afterMilliseconds: 0) { log.withLock { $0.append("timer") } }
        }

        #expect(waitUntil { log.value.contains("step\(steps)") && log.value.count == steps + 2 })
        let entries = log.value
        let stepIndices = (1...steps).compactMap { entries.firstIndex(of: "step\($0)") }
        #expect(stepIndices == stepIndices.sorted(), "steps run in order")
        let submitted = try #require(entries.firstIndex(of: "submitted"))
        let timer = try #require(entries.firstIndex(of: "timer"))
        let step3 = try #require(entries.firstIndex(of: "step3"))
        #expect(submitted < step3, "cross-thread work ran between yielded steps: \(entries.prefix(6))")
        #expect(timer < step3, "a due timer ran between yielded steps: \(entries.prefix(6))")
    }

    @Test("shutdown with live timers, wake-ups, a signal watcher and a perpetual yielder closes everything")
    func shutdownWithLiveHandles() throws {
        let loop = try startedLoop("rt-shutdown")
        let references = WeakReferences()
        let wakeups = LoopTestBox<[LoopWakeup]>([])
        let yields = LoopTestBox(0)
        let repeatFires = LoopTestBox(0)

        let created = onLoop(loop) { () -> Bool in
            for index in 0..<100 {
                let timer = loop.scheduleTimer(afterMilliseconds: UInt64(index % 3), repeatMilliseconds: 1) {
                    repeatFires.withLock { $0 += 1 }
                }
                references.add(timer)
            }
            references.add(loop.scheduleTimer(afterMilliseconds: 3_600_000) {})
            for _ in 0..<10 {
                guard let wakeup = try? LoopWakeup(loop: loop, {}) else { return false }
                references.add(wakeup)
                wakeups.withLock { $0.append(wakeup) }
            }
            guard let watcher = try? SignalWatcher(loop: loop, signals: [SIGUSR2], { _ in }) else { return false }
            references.add(watcher)
            // A source that yields forever must not keep the loop from shutting down.
            func yieldForever() {
                yields.withLock { $0 += 1 }
                loop.executeSoon(yieldForever)
            }
            loop.executeSoon(yieldForever)
            return loop.registeredHandleOwnerCount == 112
        }
        #expect(created == true)
        #expect(waitUntil { yields.value > 10 && repeatFires.value > 100 })

        // Hammer a wake-up from another thread while the loop shuts down: signal()
        // must either be delivered or report the wake-up closed, never crash.
        final class Flag: Sendable {
            let isSet = Atomic<Bool>(true)
        }
        let hammering = Flag()
        let hammerDone = OneShotLatch()
        let refused = LoopTestBox(false)
        do {
            let hammer = try #require(wakeups.value.first)
            DispatchQueue.global().async {
                while hammering.isSet.load(ordering: .relaxed) {
                    if !hammer.signal() {
                        refused.withLock { $0 = true }
                        break
                    }
                }
                hammerDone.open()
            }
        }
        usleep(2_000)

        shutDownAndCheck(loop)
        #expect(hammerDone.wait(timeoutNanoseconds: timeoutMilliseconds * 1_000_000))
        #expect(refused.value, "signal() reports false once the loop has closed the wake-up")
        hammering.isSet.store(false, ordering: .relaxed)

        // Work after shutdown is discarded, not run and not crashing.
        let ranAfterShutdown = LoopTestBox(false)
        loop.execute { ranAfterShutdown.withLock { $0 = true } }
        usleep(5_000)
        #expect(ranAfterShutdown.value == false)

        #expect(wakeups.value.allSatisfy { $0.isClosed && !$0.signal() })
        // Drop the test's own strong references to the wake-ups; the hammer's closure
        // is released by Dispatch shortly after it returns, hence the bounded wait.
        wakeups.withLock { $0.removeAll() }
        #expect(references.count == 112)
        #expect(waitUntil { references.liveCount == 0 }, "loop objects leaked past shutdown: \(references.liveCount)")
    }

    @Test("an unstarted loop shuts down synchronously; shutdown and join are idempotent")
    func shutdownUnstarted() throws {
        let loop = try EventLoop(name: "rt-unstarted")
        let ran = LoopTestBox(false)
        loop.execute { ran.withLock { $0 = true } }
        loop.shutdown()
        #expect(loop.hasStopped)
        #expect(loop.join(timeoutMilliseconds: 0))
        loop.join()
        loop.shutdown()
        #expect(loop.loopCloseResult == 0)
        #expect(ran.value == false)

        // Dropping a never-started, never-shut-down loop must clean up in deinit.
        _ = try EventLoop(name: "rt-dropped")
    }

    @Test("shutdown requested from the loop thread itself")
    func shutdownFromLoopThread() throws {
        let loop = try startedLoop("rt-selfstop")
        let afterward = LoopTestBox(false)
        loop.execute {
            _ = loop.scheduleTimer(afterMilliseconds: 1, repeatMilliseconds: 1) {}
            loop.shutdown()
            loop.execute { afterward.withLock { $0 = true } }
        }
        #expect(loop.join(timeoutMilliseconds: timeoutMilliseconds))
        #expect(loop.loopCloseResult == 0)
        #expect(afterward.value == false)
    }

    @Test("EventLoopGroup hands out loops round-robin and shuts them all down")
    func groupRoundRobin() throws {
        let group = try EventLoopGroup(loopCount: 3, namePrefix: "rt-group")
        #expect(group.count == 3)
        #expect(EventLoopGroup.defaultLoopCount >= 1)

        let picks = (0..<7).map { _ in ObjectIdentifier(group.next()) }
        let expected = [0, 1, 2, 0, 1, 2, 0].map { ObjectIdentifier(group.loop(at: $0)) }
        #expect(picks == expected)

        for index in 0..<group.count {
            let loop = group.loop(at: index)
            #expect(loop.name == "rt-group-\(index)")
            let observed = onLoop(loop) { () -> String? in
                guard loop.inEventLoop else { return nil }
                return NativeThread.currentName
            }
            #expect(observed == "rt-group-\(index)")
            let other = group.loop(at: (index + 1) % group.count)
            #expect(onLoop(loop) { other.inEventLoop } == false)
        }

        #expect(group.shutdownGracefully(timeoutMilliseconds: timeoutMilliseconds))
        for loop in group.loops {
            #expect(loop.hasStopped)
            #expect(loop.loopCloseResult == 0)
        }
        group.shutdownGracefully()  // idempotent; returns at once
    }

    @Test("UVError carries libuv's name and message")
    func uvErrorText() throws {
        // libuv error codes on Unix are negated errno values.
        let error = UVError(code: -EBUSY, operation: "uv_loop_close")
        #expect(error.name == "EBUSY")
        #expect(!error.message.isEmpty)
        #expect(error.description.hasPrefix("uv_loop_close: EBUSY"))
        #expect(throws: UVError.self) { try uvCheck(-EINVAL, "test") }
        #expect((try? uvCheck(3, "test")) == 3)
    }

    @Test("AllocatorStatistics does not crash and RSS readings are positive")
    func allocatorStatistics() {
        // The test binary may or may not use jemalloc as its allocator.
        if let statistics = AllocatorStatistics.current() {
            #expect(statistics.allocatedBytes > 0)
            #expect(statistics.activeBytes >= statistics.allocatedBytes)
        }
        #expect(AllocatorStatistics.peakResidentSetBytes() > 0)
        let current = AllocatorStatistics.currentResidentSetBytes()
        #expect((current ?? 0) > 0)
    }
}
