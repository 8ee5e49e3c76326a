import RunnelCore
import Synchronization
import Testing

/// Counts how many of its instances are alive, so that a test can see a batch destroy
/// exactly the records that were not taken out of it.
private final class Tracked: Sendable {
    static let alive = Atomic<Int>(0)
    let value: Int
    init(_ value: Int) {
        self.value = value
        Self.alive.add(1, ordering: .relaxed)
    }
    deinit { Self.alive.subtract(1, ordering: .relaxed) }
}

@Suite(.serialized) struct StreamBatchTests {
    @Test func aBatchFreesTheRecordsNotTakenAndOnlyThose() {
        let before = Tracked.alive.load(ordering: .relaxed)
        var seen: [Int] = []
        do {
            let c = Channel<Tracked>(capacity: 10)
            let gate = InputGate(channels: [c], handler: ElementHandler(
                element: { v, _ in seen.append(v.value) }, watermark: { _ in }, endOfInput: {}))
            // A barrier stops the gate inside the batch; the rest stays in it until read.
            c.push(StreamBatch([.record(Tracked(1), 1), .barrier(CheckpointBarrier(id: 1)), .record(Tracked(2), 2),
                                .record(Tracked(3), 3)]))
            _ = gate.drain(maxBatches: 1) { true }
            #expect(seen == [1])
            #expect(Tracked.alive.load(ordering: .relaxed) == before + 2)
        }
        // The gate, and with it the batch it held, are gone: the two records never taken
        // were freed with it, and the one taken was not freed a second time.
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
        // A batch dropped unread frees its records.
        do {
            let unread = StreamBatch<Tracked>([.record(Tracked(4), 4), .record(Tracked(5), 5)])
            #expect(unread.count == 2)
            #expect(Tracked.alive.load(ordering: .relaxed) == before + 2)
        }
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
    }

    @Test func aHeldBatchIsReadOnFromWhereTheGateStopped() {
        let before = Tracked.alive.load(ordering: .relaxed)
        var seen: [Int] = []
        do {
            let a = Channel<Tracked>(capacity: 10)
            let b = Channel<Tracked>(capacity: 10)
            let gate = InputGate(channels: [a, b], handler: ElementHandler(
                element: { v, _ in seen.append(v.value) }, watermark: { _ in }, endOfInput: {}))
            a.push(StreamBatch([.record(Tracked(1), 1), .barrier(CheckpointBarrier(id: 1)), .record(Tracked(2), 2),
                                .record(Tracked(3), 3)]))
            b.push(StreamBatch([.barrier(CheckpointBarrier(id: 1)), .record(Tracked(4), 4)]))
            // Input a stops at its barrier; input b's barrier completes the alignment, and the
            // rest of both batches is read: a's from the item after its barrier.
            while gate.drain(maxBatches: 4, canContinue: { true }) > 0 {}
            #expect(seen.sorted() == [1, 2, 3, 4])
            #expect(Tracked.alive.load(ordering: .relaxed) == before)
        }
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
    }

    @Test func aSenderDroppedWithBufferedRecordsFreesThem() {
        let before = Tracked.alive.load(ordering: .relaxed)
        do {
            let c = Channel<Tracked>(capacity: 10)
            let sender = ExchangeSender(channels: [c], route: nil, batchSize: 100)
            for v in 0..<5 { sender.handler.element(Tracked(v), Timestamp(v)) }
            #expect(c.count == 0)
            #expect(Tracked.alive.load(ordering: .relaxed) == before + 5)
        }
        #expect(Tracked.alive.load(ordering: .relaxed) == before)
    }
}
