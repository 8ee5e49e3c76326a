import RunnelCore
import RunnelJSON
import RunnelRuntime
import Synchronization

/// One update for the feed: a result as a JSON object, what it is a value of, and the
/// topics it goes to.
public struct FeedUpdate: Sendable {
    /// The record, a JSON object.
    public var json: String
    /// What the record is a value of (e.g. a post and window), for coalescing and snapshots.
    public var key: String
    /// The topics it is published to.
    public var topics: [FeedTopic]
    /// Whether it is a final result (not a partial one of an open window).
    public var final: Bool

    /// Creates an update.
    public init(json: String, key: String, topics: [FeedTopic], final: Bool) {
        self.json = json
        self.key = key
        self.topics = topics
        self.final = final
    }
}

/// A sink that publishes a job's results to a ``FeedHub`` running on another loop.
///
/// Writers run on the job's task threads; they add updates to a shared batch and wake the
/// hub's loop once per batch (not once per record), where the updates are published.
/// Delivery is at most once per connection and idempotent per key: a reconnecting
/// dashboard gets the latest values in its snapshot.
public struct FeedSink<Element>: Sink, Sendable {
    /// Turns a record into an update (nil: not for the feed).
    public let update: @Sendable (Element) -> FeedUpdate?
    private let outbox: Outbox

    /// Creates a sink publishing to `hub`, which runs on `loop`.
    public init(hub: FeedHub, loop: EventLoop, update: @escaping @Sendable (Element) -> FeedUpdate?) {
        self.update = update
        outbox = Outbox(hub: hub, loop: loop)
    }

    public func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(sink: self) }

    /// One subtask's writer.
    public final class Writer: SinkWriter {
        let sink: FeedSink

        init(sink: FeedSink) { self.sink = sink }

        public func write(_ value: Element, timestamp: Timestamp) throws {
            if let update = sink.update(value) { sink.outbox.add(update) }
        }

        public func finish() throws {}
    }

    /// Updates waiting for the hub's loop. `@unchecked Sendable`: the hub is used only on
    /// its loop (inside `loop.execute`); the batch is behind a mutex.
    final class Outbox: @unchecked Sendable {
        let hub: FeedHub
        let loop: EventLoop
        private let batch = Mutex<[FeedUpdate]>([])

        init(hub: FeedHub, loop: EventLoop) {
            self.hub = hub
            self.loop = loop
        }

        func add(_ update: FeedUpdate) {
            let first = batch.withLock { b in
                b.append(update)
                return b.count == 1
            }
            guard first else { return }
            loop.execute { [self] in
                let updates = batch.withLock { b in
                    defer { b.removeAll(keepingCapacity: true) }
                    return b
                }
                for u in updates { hub.publish(u.json, key: u.key, topics: u.topics, final: u.final) }
            }
        }
    }
}
