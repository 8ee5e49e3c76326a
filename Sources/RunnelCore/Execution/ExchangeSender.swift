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
    /// Per target, the memory of the batch being filled (room for `batchSize + 1` items: a
    /// keyed batch of size 1 holds its hashes item and a record) and how many items it
    /// holds. Plain memory that becomes the shipped ``StreamBatch``: an array per target
    /// checked its uniqueness and capacity (and the outer array's) on every record.
    private let pending: UnsafeMutablePointer<UnsafeMutablePointer<StreamItem<Element>>>
    private let pendingCounts: UnsafeMutablePointer<Int>
    private let route: ((Element) -> Int)?
    /// Whether this is a keyed exchange, which sends records with their key hashes.
    private let isKeyed: Bool
    /// For a keyed exchange: the stable hash of a record's key, and the target of a hash.
    /// Not optional: unwrapping an optional closure retains it, per record.
    private let keyHash: (Element) -> UInt64
    private let targetOfHash: (UInt64) -> Int
    /// For a keyed exchange: per target, the key hashes of the buffered batch's items by
    /// position (as many as the batch has items), sent in its first item
    /// (``StreamItem/keyHashes(_:)``, a placeholder until the batch is shipped). Plain
    /// memory of `batchSize + 1` hashes each: appending to an array of arrays checked
    /// uniqueness and capacity twice per record.
    private let keyHashes: [UnsafeMutablePointer<UInt64>]
    private let batchSize: Int
    private let forwardTarget: Int

    /// Creates a sender.
    /// - Parameters:
    ///   - channels: one channel per target subtask.
    ///   - route: the target index of a record (hash exchange), or `nil` for forward.
    ///   - forwardTarget: the only target of a forward exchange.
    ///   - batchSize: items per shipped batch (records, and the control items among them).
    public convenience init(channels: [Channel<Element>], route: ((Element) -> Int)?, forwardTarget: Int = 0, batchSize: Int) {
        self.init(channels: channels, route: route, isKeyed: false, keyHash: { _ in 0 }, target: { _ in 0 },
                  forwardTarget: forwardTarget, batchSize: batchSize)
    }

    /// The one initializer both kinds of exchange go through.
    private init(channels: [Channel<Element>], route: ((Element) -> Int)?, isKeyed: Bool, keyHash: @escaping (Element) -> UInt64,
                 target: @escaping (UInt64) -> Int, forwardTarget: Int, batchSize: Int) {
        precondition(batchSize > 0, "an exchange batch holds at least one item")
        self.channels = channels
        self.route = route
        self.isKeyed = isKeyed
        self.keyHash = keyHash
        self.targetOfHash = target
        self.forwardTarget = forwardTarget
        self.batchSize = batchSize
        pending = .allocate(capacity: channels.count)
        pendingCounts = .allocate(capacity: channels.count)
        for i in channels.indices {
            (pending + i).initialize(to: .allocate(capacity: batchSize + 1))
            (pendingCounts + i).initialize(to: 0)
        }
        self.keyHashes = isKeyed ? channels.map { _ in .allocate(capacity: batchSize + 1) } : []
    }

    deinit {
        for i in channels.indices {
            pending[i].deinitialize(count: pendingCounts[i])
            pending[i].deallocate()
        }
        pending.deallocate()
        pendingCounts.deallocate()
        for hashes in keyHashes { hashes.deallocate() }
    }

    /// Creates the sender of a keyed exchange: each record goes to `target(keyHash(record))`
    /// with its key hash (each batch starts with a ``StreamItem/keyHashes(_:)`` item).
    /// - Parameters:
    ///   - channels: one channel per target subtask.
    ///   - keyHash: the stable hash of a record's key (the receiver's keyed operator gets it).
    ///   - target: the index of the channel that takes a record with this key hash.
    ///   - batchSize: items per shipped batch; the hashes item counts as one, except that a
    ///     batch of size 1 ships its hashes item with its one record.
    public convenience init(channels: [Channel<Element>], keyHash: @escaping (Element) -> UInt64, target: @escaping (UInt64) -> Int,
                            batchSize: Int) {
        self.init(channels: channels, route: nil, isKeyed: true, keyHash: keyHash, target: target, forwardTarget: 0,
                  batchSize: batchSize)
    }

    /// The handler an upstream emitter connects to: a record it is given goes into a batch as
    /// it is; one it is lent, as a copy.
    public var handler: ElementHandler<Element> {
        ElementHandler(
            element: { v, ts in self.send(consume v, ts) },
            lentElement: { v, ts in self.send(copy v, ts) },
            watermark: { wm in self.broadcast(.watermark(wm)) },
            endOfInput: { self.broadcast(.end) }
        )
    }

    /// Whether any target channel is full (the task should stop taking input).
    public var isBackpressured: Bool {
        for c in channels where c.isFull { return true }
        return false
    }

    private func send(_ value: consuming Element, _ ts: Timestamp) {
        let target: Int
        if isKeyed {
            let hash = keyHash(value)
            target = targetOfHash(hash)
            let hashes = keyHashes[target]
            var n = pendingCounts[target]
            if n == 0 {
                pending[target].initialize(to: .keyHashes([]))
                hashes[0] = 0
                n = 1
            }
            assert(n <= batchSize, "a batch is shipped once full")
            hashes[n] = hash
            (pending[target] + n).initialize(to: .record(consume value, ts))
            pendingCounts[target] = n &+ 1
        } else {
            target = route?(value) ?? forwardTarget
            append(.record(consume value, ts), to: target)
        }
        if pendingCounts[target] >= batchSize { flush(target) }
    }

    /// Sends a control item to every target, after the records buffered before it.
    public func broadcast(_ item: StreamItem<Element>) {
        if route == nil && !isKeyed {
            append(item, to: forwardTarget)
            flush(forwardTarget)
            return
        }
        for i in channels.indices {
            // Keeps the positions of a keyed batch's hashes (an empty buffer gets none).
            if isKeyed && pendingCounts[i] > 0 { keyHashes[i][pendingCounts[i]] = 0 }
            append(item, to: i)
            flush(i)
        }
    }

    /// Adds an item to target `i`'s batch (which has room: a full batch is shipped at once,
    /// so it holds at most `batchSize - 1` items here).
    @inline(__always)
    private func append(_ item: consuming StreamItem<Element>, to i: Int) {
        assert(pendingCounts[i] < batchSize, "a batch is shipped once full")
        (pending[i] + pendingCounts[i]).initialize(to: consume item)
        pendingCounts[i] += 1
    }

    /// Ships every non-empty buffer (called at the end of each task step to bound latency).
    public func flushAll() {
        for i in channels.indices where pendingCounts[i] > 0 { flush(i) }
    }

    private func flush(_ i: Int) {
        let count = pendingCounts[i]
        guard count > 0 else { return }
        let items = pending[i]
        // A keyed batch with records starts with the placeholder of its hashes item (a control
        // item alone has none), filled in here.
        if isKeyed, case .keyHashes = items.pointee {
            items.pointee = .keyHashes(ContiguousArray(UnsafeBufferPointer(start: keyHashes[i], count: count)))
        }
        pending[i] = .allocate(capacity: batchSize + 1)
        pendingCounts[i] = 0
        channels[i].push(StreamBatch(takingOwnershipOf: items, count: count))
    }
}
