/// A batch of stream items: the unit that crosses threads, from an ``ExchangeSender`` to an
/// ``InputGate`` through a ``Channel``.
///
/// The consumer takes the items out in order, moving each one (`takeItems(_:)`), and the batch
/// frees only what was never taken. Plain memory rather than a `ContiguousArray`, for that:
/// an array destroys all its elements when it is freed, through the generic value witness of
/// `StreamItem` (a runtime call to find each item's case, then its destroy), so the gate
/// had to leave a trivial item behind in place of each record it moved out, and the array
/// still visited every one of them: about 140 instructions per record and exchange, 1.2 % of
/// the replay's instructions at parallelism 2. The sender fills a batch's memory directly
/// too (``ExchangeSender``), without an array's uniqueness and capacity checks per record.
///
/// Thread safety: one owner at a time; the channel's lock orders the hand-over.
public final class StreamBatch<Element>: @unchecked Sendable {
    // @unchecked: a batch is filled by one thread and read by another only after the
    // channel's lock has handed it over.
    private let items: UnsafeMutablePointer<StreamItem<Element>>
    /// The number of items put in the batch (taken or not).
    public let itemCount: Int
    /// Items before this index have been taken out.
    public private(set) var taken = 0

    /// Takes over `count` initialized items at `items` (memory from `allocate`); the batch
    /// deinitializes and frees them.
    init(takingOwnershipOf items: UnsafeMutablePointer<StreamItem<Element>>, count: Int) {
        precondition(count >= 0)
        self.items = items
        self.itemCount = count
    }

    /// A batch of the given items.
    public convenience init(_ items: some Collection<StreamItem<Element>>) {
        let capacity = Swift.max(items.count, 1)
        let memory = UnsafeMutablePointer<StreamItem<Element>>.allocate(capacity: capacity)
        var count = 0
        for item in items {
            (memory + count).initialize(to: item)
            count += 1
        }
        self.init(takingOwnershipOf: memory, count: count)
    }

    deinit {
        (items + taken).deinitialize(count: itemCount - taken)
        items.deallocate()
    }

    /// Calls `body` with the batch's memory and the number of items taken so far; `body`
    /// moves items out from that index on, in order, and returns the new number taken (the
    /// items from there on stay initialized). This is the consumer's per-record loop, over
    /// plain memory.
    @inline(__always)
    func takeItems(_ body: (UnsafeMutablePointer<StreamItem<Element>>, _ from: Int) -> Int) {
        let newTaken = body(items, taken)
        precondition(newTaken >= taken && newTaken <= itemCount, "items are taken in order")
        taken = newTaken
    }

    /// Whether items are left that were not taken (a barrier stopped the consumer).
    var hasItemsLeft: Bool { taken < itemCount }
}

/// The items not yet taken out (for tests and diagnostics).
extension StreamBatch: RandomAccessCollection {
    public var startIndex: Int { taken }
    public var endIndex: Int { itemCount }
    public subscript(position: Int) -> StreamItem<Element> {
        precondition(position >= taken && position < itemCount, "index out of range")
        return items[position]
    }
}
