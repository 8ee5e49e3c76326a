import Synchronization

/// The blocks of an NDJSON file that no reader has started yet, handed out in file order to
/// whichever reader asks next, as Flink's file source assigns splits on request.
///
/// Readers of a file on separate threads do not read at the same speed: a thread that also
/// carries more of the job's keyed work reads its share more slowly. With a fixed stripe
/// per reader, the faster one finishes early and its thread then idles while the slower
/// one reads on (measured on the creator replay at p = 2: one thread at half load for the
/// last third of a 1 M event run). Handed out on request, the blocks keep every reader busy
/// until the file is read, and keep the readers, and so event time, moving through the file
/// together.
///
/// ## Checkpoints
/// Every reader reports, for a checkpoint, the block it is in (with its position in it)
/// and a share of the queue: the blocks `b` with `b % readers == reader`
/// (``snapshot(reader:checkpointID:)``). The union of the reports is every unread line
/// exactly once only if no block is handed out between the first and the last reader's
/// report. So while the readers have not all reported the same checkpoint,
/// ``take(reader:)`` hands out nothing and answers ``Take/wait``; the reader tries again
/// shortly (a source sleeps a millisecond), and by then the other readers have usually
/// reported. Once every block is handed out, nothing depends on the reports any more.
///
/// Every reader must report every checkpoint that reaches it, once, with increasing ids; a
/// report for any other purpose would hold back hand-outs until the others catch up.
///
/// Thread safety: all methods may be called from any thread.
public final class NDJSONBlockQueue: Sendable {
    /// What ``take(reader:)`` hands out.
    public enum Take: Sendable, Hashable {
        /// The next block to read (from its first line, or from a restored position).
        case item(NDJSONStripeReader.WorkItem)
        /// Nothing now: a checkpoint is part-way through the readers. Ask again shortly.
        case wait
        /// Every block has been handed out: the asking reader is done once its block is.
        case empty
    }

    private struct State {
        /// The blocks in file order; those before `next` have been handed out.
        var items: [NDJSONStripeReader.WorkItem]
        var next = 0
        /// The last checkpoint each reader reported (0 before its first).
        var reported: [Int64]
        /// Whether the items were replaced by a restored checkpoint's (once per queue).
        var restored = false

        /// No checkpoint is part-way through the readers.
        var readersAgree: Bool { reported.allSatisfy { $0 == reported[0] } }
    }

    /// The number of readers taking from the queue.
    public let readers: Int
    private let state: Mutex<State>

    /// A queue of blocks `0..<blocks`, each to be read from its first line.
    public init(blocks: Int, readers: Int) {
        precondition(blocks >= 0, "a file has no negative number of blocks")
        precondition(readers >= 1, "a queue needs a reader")
        self.readers = readers
        state = Mutex(State(items: (0..<blocks).map { NDJSONStripeReader.WorkItem(block: $0) },
                            reported: Array(repeating: 0, count: readers)))
    }

    /// A queue of the blocks of the file at `path`, cut every `blockSize` bytes.
    /// - Throws: ``FileIOError`` when the file cannot be opened or sized.
    public convenience init(path: String, blockSize: Int64, readers: Int) throws {
        precondition(blockSize > 0, "blockSize must be positive")
        let size = try NewlineCounter(path: path).size
        self.init(blocks: Int((size + blockSize - 1) / blockSize), readers: readers)
    }

    /// Hands the next block to `reader`, or tells it to wait or that no block is left.
    public func take(reader: Int) -> Take {
        precondition(reader >= 0 && reader < readers, "reader out of range")
        return state.withLock { s in
            guard s.next < s.items.count else { return .empty }
            guard s.readersAgree else { return .wait }
            s.next += 1
            return .item(s.items[s.next - 1])
        }
    }

    /// Records that `reader` reports checkpoint `checkpointID` (ids increase), and returns
    /// its share of the blocks not yet handed out: those `b` with `b % readers == reader`,
    /// in file order.
    public func snapshot(reader: Int, checkpointID: Int64) -> [NDJSONStripeReader.WorkItem] {
        precondition(reader >= 0 && reader < readers, "reader out of range")
        return state.withLock { s in
            s.reported[reader] = max(s.reported[reader], checkpointID)
            return share(of: reader, in: s)
        }
    }

    /// `reader`'s share of the blocks not yet handed out, as ``snapshot(reader:checkpointID:)``
    /// returns it, without reporting a checkpoint (for inspection).
    public func share(of reader: Int) -> [NDJSONStripeReader.WorkItem] {
        precondition(reader >= 0 && reader < readers, "reader out of range")
        return state.withLock { s in share(of: reader, in: s) }
    }

    /// The one rule that splits the blocks not yet handed out between the readers' records.
    private func share(of reader: Int, in s: State) -> [NDJSONStripeReader.WorkItem] {
        s.items[s.next...].filter { $0.block % readers == reader }
    }

    /// The blocks not yet handed out. (A checkpoint takes its shares through
    /// ``snapshot(reader:checkpointID:)``, which holds back hand-outs until all have.)
    public var pending: [NDJSONStripeReader.WorkItem] {
        state.withLock { s in Array(s.items[s.next...]) }
    }

    /// Replaces the queue by what a checkpoint left to read (every reader's report, in any
    /// order). Every reader of a restored run is given the same reports: the first call
    /// restores for all, and later ones do nothing. Must come before the first hand-out.
    public func restore(_ items: [NDJSONStripeReader.WorkItem]) {
        state.withLock { s in
            precondition(s.next == 0, "a block queue is restored before it hands anything out")
            guard !s.restored else { return }
            s.items = items.sorted { $0.block < $1.block }
            s.restored = true
        }
    }
}
