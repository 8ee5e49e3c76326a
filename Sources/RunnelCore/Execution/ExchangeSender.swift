/// The producing end of an exchange between tasks: it buffers records per target subtask
/// and ships them as batches through ``Channel``s.
///
/// A forward exchange sends subtask `i`'s records to subtask `i`; a hash exchange sends
/// each record to the subtask that owns its key group. Watermarks, idleness and the end
/// of input go to every target, in order with the records before them.
///
/// Thread safety: owned by the producing task.
public final class ExchangeSender<Element> {
    private let channels: [Channel<Element>]
    var channelsForWiring: [Channel<Element>] { channels }
    private var buffers: [StreamBatch<Element>]
    private let route: ((Element) -> Int)?
    private let batchSize: Int
    private let forwardTarget: Int

    /// Creates a sender.
    /// - Parameters:
    ///   - channels: one channel per target subtask.
    ///   - route: the target index of a record (hash exchange), or `nil` for forward.
    ///   - forwardTarget: the only target of a forward exchange.
    ///   - batchSize: records per shipped batch.
    public init(channels: [Channel<Element>], route: ((Element) -> Int)?, forwardTarget: Int = 0, batchSize: Int) {
        self.channels = channels
        self.route = route
        self.forwardTarget = forwardTarget
        self.batchSize = batchSize
        self.buffers = channels.map { _ in
            var b = StreamBatch<Element>()
            b.reserveCapacity(batchSize)
            return b
        }
    }

    /// The handler an upstream emitter connects to.
    public var handler: ElementHandler<Element> {
        ElementHandler(
            element: { v, ts in self.send(v, ts) },
            watermark: { wm in self.broadcast(.watermark(wm)) },
            endOfInput: { self.broadcast(.end) }
        )
    }

    /// Whether any target channel is full (the task should stop taking input).
    public var isBackpressured: Bool {
        for c in channels where c.isFull { return true }
        return false
    }

    private func send(_ value: Element, _ ts: Timestamp) {
        let target = route?(value) ?? forwardTarget
        buffers[target].append(.record(value, ts))
        if buffers[target].count >= batchSize { flush(target) }
    }

    /// Sends a control item to every target, after the records buffered before it.
    public func broadcast(_ item: StreamItem<Element>) {
        if route == nil {
            buffers[forwardTarget].append(item)
            flush(forwardTarget)
            return
        }
        for i in buffers.indices {
            buffers[i].append(item)
            flush(i)
        }
    }

    /// Ships every non-empty buffer (called at the end of each task step to bound latency).
    public func flushAll() {
        for i in buffers.indices where !buffers[i].isEmpty { flush(i) }
    }

    private func flush(_ i: Int) {
        guard !buffers[i].isEmpty else { return }
        var next = StreamBatch<Element>()
        next.reserveCapacity(batchSize)
        swap(&next, &buffers[i])
        channels[i].push(next)
    }
}
