import RunnelJSON
import Testing

@Suite("NDJSONBlockQueue")
struct NDJSONBlockQueueTests {
    func blocks(_ takes: [NDJSONBlockQueue.Take]) -> [Int] {
        takes.compactMap { if case .item(let item) = $0 { return item.block } else { return nil } }
    }

    @Test("hands out every block once, in file order, to whichever reader asks")
    func handsOutInOrder() {
        let queue = NDJSONBlockQueue(blocks: 5, readers: 2)
        let takes = [queue.take(reader: 1), queue.take(reader: 1), queue.take(reader: 0), queue.take(reader: 1), queue.take(reader: 0)]
        #expect(blocks(takes) == [0, 1, 2, 3, 4])
        #expect(queue.take(reader: 0) == .empty)
        #expect(queue.take(reader: 1) == .empty)
        #expect(NDJSONBlockQueue(blocks: 0, readers: 3).take(reader: 2) == .empty)
    }

    @Test("hands out nothing while a checkpoint is part-way through the readers")
    func waitsForEveryReport() {
        let queue = NDJSONBlockQueue(blocks: 6, readers: 3)
        #expect(blocks([queue.take(reader: 0)]) == [0])
        _ = queue.snapshot(reader: 1, checkpointID: 7)
        #expect(queue.take(reader: 0) == .wait)
        #expect(queue.take(reader: 1) == .wait)
        _ = queue.snapshot(reader: 0, checkpointID: 7)
        #expect(queue.take(reader: 2) == .wait)
        _ = queue.snapshot(reader: 2, checkpointID: 7)
        #expect(blocks([queue.take(reader: 2)]) == [1])
        // A reader that missed a checkpoint (it was aborted) catches up with the next one.
        _ = queue.snapshot(reader: 0, checkpointID: 8)
        _ = queue.snapshot(reader: 1, checkpointID: 9)
        _ = queue.snapshot(reader: 2, checkpointID: 9)
        #expect(queue.take(reader: 1) == .wait)
        _ = queue.snapshot(reader: 0, checkpointID: 9)
        #expect(blocks([queue.take(reader: 1)]) == [2])
    }

    @Test("once every block is handed out, readers are told so whatever the checkpoints")
    func emptyWhateverTheCheckpoints() {
        let queue = NDJSONBlockQueue(blocks: 1, readers: 2)
        #expect(blocks([queue.take(reader: 0)]) == [0])
        // Reader 1 finishes and reports no more checkpoints; reader 0 reports one.
        #expect(queue.take(reader: 1) == .empty)
        #expect(queue.snapshot(reader: 0, checkpointID: 3).isEmpty)
        #expect(queue.take(reader: 0) == .empty)
    }

    @Test("the readers' shares of a checkpoint are the blocks not handed out, each once")
    func sharesPartitionTheRest() {
        let queue = NDJSONBlockQueue(blocks: 10, readers: 3)
        _ = (0..<4).map { _ in queue.take(reader: 0) }
        let inspected = (0..<3).map { queue.share(of: $0) }
        let shares = (0..<3).map { queue.snapshot(reader: $0, checkpointID: 1) }
        #expect(inspected == shares, "inspection splits the blocks as a checkpoint does")
        #expect(shares.map { $0.map(\.block) } == [[6, 9], [4, 7], [5, 8]])
        #expect(queue.pending.map(\.block) == Array(4..<10))
    }

    @Test("restores once, from every reader's record, in file order")
    func restoresOnce() {
        let queue = NDJSONBlockQueue(blocks: 4, readers: 2)
        let resumed = NDJSONStripeReader.WorkItem(block: 3, resume: NDJSONPosition(offset: 1234, lineNumber: 40))
        queue.restore([NDJSONStripeReader.WorkItem(block: 8), resumed, NDJSONStripeReader.WorkItem(block: 5)])
        queue.restore([NDJSONStripeReader.WorkItem(block: 0)])
        #expect(queue.pending == [resumed, NDJSONStripeReader.WorkItem(block: 5), NDJSONStripeReader.WorkItem(block: 8)])
        #expect(queue.take(reader: 1) == .item(resumed))
    }
}
