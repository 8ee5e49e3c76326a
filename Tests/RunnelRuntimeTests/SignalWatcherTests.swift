import Testing

@testable import RunnelRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Named EventLoop… so that `--filter RunnelRuntimeTests.EventLoop` selects it too.
// The helpers (`EventLoopTestSupport`, `LoopTestBox`) live in EventLoopTests.swift.
// The tests are serialized because signal dispositions are process-wide.
@Suite("EventLoop.SignalWatcher", .serialized)
struct EventLoopSignalWatcherTests: EventLoopTestSupport {
    @Test("SIGUSR1 sent to the process reaches the callback on the loop thread")
    func deliversSignalOnLoopThread() throws {
        let loop = try startedLoop("rt-signal")
        defer { shutDownAndCheck(loop) }
        let deliveries = LoopTestBox<[Int32]>([])
        let onLoopThread = LoopTestBox(true)

        let installed = onLoop(loop) { () -> Bool in
            // Watch two signals to exercise the one-handle-per-signal path; only one is raised.
            let watcher = try? SignalWatcher(loop: loop, signals: [SIGUSR1, SIGUSR2, SIGUSR1]) { signal in
                if !loop.inEventLoop { onLoopThread.withLock { $0 = false } }
                deliveries.withLock { $0.append(signal) }
            }
            return watcher?.signals == [SIGUSR1, SIGUSR2]
        }
        #expect(installed == true)
        // libuv installed the process-wide handler synchronously in uv_signal_start, so
        // the signal is handled rather than terminating the test process. kill() rather
        // than raise(): this test thread is a Dispatch worker that blocks SIGUSR1, so a
        // thread-directed raise() would stay pending; a process-directed signal goes to
        // a thread that accepts it.
        #expect(kill(getpid(), SIGUSR1) == 0)

        #expect(waitUntil { deliveries.value == [SIGUSR1] })
        #expect(onLoopThread.value)
    }

    @Test("SIGUSR1 raised on the loop thread is delivered although the loop was started from a worker that blocks signals")
    func raiseOnLoopThread() throws {
        // Swift Testing runs this on a Dispatch worker, which blocks nearly all
        // signals; the loop thread must not inherit that mask.
        let loop = try startedLoop("rt-sigraise")
        defer { shutDownAndCheck(loop) }
        let deliveries = LoopTestBox(0)
        let raised = onLoop(loop) { () -> Bool in
            guard let watcher = try? SignalWatcher(loop: loop, signals: [SIGUSR1], { _ in
                deliveries.withLock { $0 += 1 }
            }) else { return false }
            _ = watcher
            // Thread-directed: handled right here by libuv's handler, reported on a
            // later loop iteration.
            return raise(SIGUSR1) == 0
        }
        #expect(raised == true)
        #expect(waitUntil { deliveries.value == 1 })
    }

    @Test("stop() ends delivery and is idempotent")
    func stopEndsDelivery() throws {
        let loop = try startedLoop("rt-sigstop")
        defer { shutDownAndCheck(loop) }
        let deliveries = LoopTestBox(0)
        let stopped = onLoop(loop) { () -> Bool in
            guard let watcher = try? SignalWatcher(loop: loop, signals: [SIGUSR1], { _ in
                deliveries.withLock { $0 += 1 }
            }) else { return false }
            watcher.stop()
            watcher.stop()
            return !watcher.isActive && loop.registeredHandleOwnerCount == 0
        }
        #expect(stopped == true)
        // SIGUSR1 must not be raised here: after stop() its default action (terminate)
        // is back in force, which is libuv's documented behaviour.
        usleep(5_000)
        #expect(deliveries.value == 0)
    }

    @Test("an invalid signal number throws EINVAL and installs nothing")
    func invalidSignalThrows() throws {
        let loop = try startedLoop("rt-sigbad")
        defer { shutDownAndCheck(loop) }
        let outcome = onLoop(loop) { () -> String in
            do {
                _ = try SignalWatcher(loop: loop, signals: [SIGUSR2, 100_000]) { _ in }
                return "no error"
            } catch let error as UVError {
                return "\(error.name) owners=\(loop.registeredHandleOwnerCount)"
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(outcome == "EINVAL owners=0")
    }
}
