import Dispatch
import RunnelRuntime

/// A started event loop for a test, with a way to run code on its thread and wait for the
/// result: how server tests set up and poke what lives on a loop (servers, hubs, channels).
public final class TestEventLoop: Sendable {
    /// The loop.
    public let loop: EventLoop

    /// Creates and starts a loop.
    public init(name: String) throws {
        loop = try EventLoop(name: name)
        loop.start()
    }

    /// Runs `body` on the loop's thread and returns its result; nil if it did not finish
    /// within 10 s.
    public func run<T>(_ body: @escaping () -> T) -> T? {
        // The loop runs `body` while this thread waits for it: the two never touch
        // `body` or the result at the same time.
        nonisolated(unsafe) let body = body
        nonisolated(unsafe) var result: T?
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            result = body()
            done.signal()
        }
        guard done.wait(timeout: .now() + .seconds(10)) == .success else { return nil }
        return result
    }

    /// Shuts the loop down and waits (up to 10 s) for its thread to end.
    public func stop() {
        loop.shutdown()
        _ = loop.join(timeoutMilliseconds: 10_000)
    }
}
