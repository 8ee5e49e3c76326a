import RunnelCore
import Testing

/// What an input gate handed to its operator.
private enum Delivered: Equatable, CustomStringConvertible {
    case record(Int, Timestamp)
    case watermark(Timestamp)
    case end

    var description: String {
        switch self {
        case .record(let v, let t): return "r\(v)@\(t)"
        case .watermark(let w): return "wm\(w)"
        case .end: return "end"
        }
    }
}

private final class Recorder {
    var items: [Delivered] = []
    var handler: ElementHandler<Int> {
        ElementHandler(
            element: { v, t in self.items.append(.record(v, t)) },
            watermark: { w in self.items.append(.watermark(w)) },
            endOfInput: { self.items.append(.end) })
    }
    var watermarks: [Timestamp] {
        items.compactMap { if case .watermark(let w) = $0 { return w } else { return nil } }
    }
    var records: [Int] {
        items.compactMap { if case .record(let v, _) = $0 { return v } else { return nil } }
    }
}

private func batch(_ items: StreamItem<Int>...) -> StreamBatch<Int> { StreamBatch(items) }

/// The exchange plumbing on its own: channels, input gates and exchange senders.
@Suite struct ChannelTests {
    // MARK: Channel

    @Test func channelIsFIFOAndCountsBatches() {
        let c = Channel<Int>(capacity: 4)
        #expect(c.pop() == nil)
        #expect(c.count == 0)
        for i in 0..<3 { c.push(batch(.record(i, Timestamp(i)))) }
        #expect(c.count == 3)
        var seen: [Int] = []
        while let b = c.pop() {
            for item in b { if case .record(let v, _) = item { seen.append(v) } }
        }
        #expect(seen == [0, 1, 2])
        #expect(c.count == 0)
    }

    @Test func channelWakesTheConsumerOnEveryPush() {
        let c = Channel<Int>(capacity: 2)
        let consumer = CountingWaker()
        c.consumerWaker = consumer
        c.push(batch(.record(1, 0)))
        c.push(batch(.watermark(5)))
        #expect(consumer.count == 2)
    }

    @Test func channelIsFullAtCapacityAndWakesTheProducerBelowIt() {
        let c = Channel<Int>(capacity: 2)
        let producer = CountingWaker()
        c.producerWaker = producer
        c.push(batch(.record(1, 0)))
        #expect(!c.isFull)
        c.push(batch(.record(2, 0)))
        #expect(c.isFull)
        c.push(batch(.record(3, 0)))  // a producer may always finish its batch
        #expect(c.isFull)
        #expect(c.count == 3)
        _ = c.pop()  // 3 → 2: still full, no wake-up
        #expect(c.isFull)
        #expect(producer.count == 0)
        _ = c.pop()  // 2 → 1: below capacity, wake the producer once
        #expect(!c.isFull)
        #expect(producer.count == 1)
        _ = c.pop()
        #expect(producer.count == 1)
        #expect(c.pop() == nil)
        #expect(producer.count == 1)
        // Full again, drained again: another wake-up.
        c.push(batch(.record(4, 0)))
        c.push(batch(.record(5, 0)))
        _ = c.pop()
        #expect(producer.count == 2)
    }

    @Test func channelAcrossThreadsLosesNothing() async {
        let c = Channel<Int>(capacity: 8)
        let n = 20_000
        let producer = Task.detached {
            for i in 0..<n {
                while c.isFull { await Task.yield() }
                c.push(batch(.record(i, Timestamp(i))))
            }
        }
        var received: [Int] = []
        received.reserveCapacity(n)
        while received.count < n {
            if let b = c.pop() {
                for item in b { if case .record(let v, _) = item { received.append(v) } }
            } else {
                await Task.yield()
            }
        }
        await producer.value
        #expect(received == Array(0..<n))
        #expect(c.count == 0)
    }

    // MARK: Input gate

    @Test func gateDeliversBatchesInOrderPerInput() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        a.push(batch(.record(1, 10), .record(2, 11)))
        a.push(batch(.record(3, 12)))
        b.push(batch(.record(100, 5)))
        b.push(batch(.record(101, 6), .record(102, 7)))
        #expect(gate.hasPendingInput)
        #expect(gate.queuedBatches == 4)
        let processed = gate.drain(maxBatches: 100) { true }
        #expect(processed == 4)
        #expect(r.records.filter { $0 < 100 } == [1, 2, 3])
        #expect(r.records.filter { $0 >= 100 } == [100, 101, 102])
        // Round robin: the first batch of each input before the second of either.
        #expect(r.records == [1, 2, 100, 3, 101, 102])
        #expect(!gate.hasPendingInput)
        #expect(!gate.isFinished)
    }

    @Test func gateRespectsMaxBatchesAndBackpressure() {
        let a = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a], handler: r.handler)
        for i in 0..<5 { a.push(batch(.record(i, 0))) }
        #expect(gate.drain(maxBatches: 2) { true } == 2)
        #expect(r.records == [0, 1])
        #expect(gate.drain(maxBatches: 10) { false } == 0)
        var budget = 2
        #expect(gate.drain(maxBatches: 10) { budget -= 1; return budget >= 0 } == 2)
        #expect(r.records == [0, 1, 2, 3])
    }

    @Test func gateWatermarkIsTheMinimumOverInputs() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        a.push(batch(.watermark(10)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks.isEmpty)  // b has promised nothing yet
        #expect(gate.currentWatermark == Watermark.initial)
        b.push(batch(.watermark(5)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [5])
        b.push(batch(.watermark(20)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [5, 10])
        a.push(batch(.watermark(8)))  // a going back is ignored
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [5, 10])
        a.push(batch(.watermark(30)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [5, 10, 20])
        #expect(gate.currentWatermark == 20)
    }

    @Test func gateWatermarkFollowsRecordsInOrder() {
        let a = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a], handler: r.handler)
        a.push(batch(.record(1, 3), .watermark(3), .record(2, 7), .watermark(7)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.items == [.record(1, 3), .watermark(3), .record(2, 7), .watermark(7)])
    }

    /// When the last active input goes idle, the gate moves on to the largest watermark of
    /// its inputs (before it announces idleness): otherwise the input that went idle last
    /// would hold event time at its old watermark until someone sent again.
    @Test func allInputsIdleAdvancesToTheLargestWatermark() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        var idleness: [Bool] = []
        gate.setIdleHandler { idleness.append($0) }
        a.push(batch(.watermark(10)))
        b.push(batch(.watermark(50)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10])
        b.push(batch(.idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10], "a is active and holds 10")
        a.push(batch(.idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50])
        #expect(idleness == [true])
        // a comes back below the gate's watermark: the gate does not go back.
        a.push(batch(.watermark(20)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50])
        #expect(idleness == [true, false])
        a.push(batch(.watermark(60)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50, 60])
    }

    /// Waking from all-idle, the gate counts the inputs still idle at their watermarks for
    /// the hold, so that a window downstream does not close on the first input's watermark
    /// before the other input (the other subtask of the same upstream step) sends what it
    /// emits for that watermark; an input still idle when the hold ends is left out again.
    @Test func wakingFromAllIdleHoldsForTheInputsStillIdle() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        var clock: Timestamp = 1_000
        var rechecks: [Timestamp] = []
        gate.configureWakeHold(milliseconds: 500, now: { clock }) { rechecks.append($0) }
        a.push(batch(.watermark(50), .idle(true)))
        b.push(batch(.watermark(50), .idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [50] && gate.isIdle)

        // a wakes and runs ahead; b, about to wake, still counts at 50.
        a.push(batch(.idle(false), .record(1, 60), .watermark(100)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [50], "held for b")
        #expect(rechecks == [1_500])
        // b wakes with a result stamped 70 (behind a's watermark, ahead of the gate's), then 100.
        b.push(batch(.idle(false), .record(2, 70), .watermark(100)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.items.suffix(2) == [.record(2, 70), .watermark(100)], "b's record came before the watermark passed it")

        // Everyone idle again; a wakes, b stays idle: the hold ends at its time.
        a.push(batch(.idle(true)))
        b.push(batch(.idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        clock = 5_000
        a.push(batch(.idle(false), .watermark(200)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks.last == 100 && rechecks.last == 5_500)
        clock = 5_400
        gate.recheckWakeHold()
        #expect(r.watermarks.last == 100 && rechecks.last == 5_500, "too early: checked again at 5.5 s")
        clock = 5_500
        gate.recheckWakeHold()
        #expect(r.watermarks.last == 200, "b, still idle after the hold, is left out")
    }

    /// Without a hold configured (the default of a bare gate), an input waking from all-idle
    /// moves the gate on at once, as before.
    @Test func withoutAHoldTheWakingInputLeadsAtOnce() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        a.push(batch(.watermark(50), .idle(true)))
        b.push(batch(.watermark(50), .idle(true)))
        a.push(batch(.idle(false), .watermark(100)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [50, 100])
    }

    @Test func idleInputIsLeftOutUntilItSendsAgain() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        a.push(batch(.watermark(50)))
        b.push(batch(.watermark(10)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10])
        b.push(batch(.idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50])  // only a counts
        a.push(batch(.watermark(60)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50, 60])
        // b comes back with its old watermark: the gate's watermark does not go back, and
        // b holds it until it catches up.
        b.push(batch(.idle(false)))
        a.push(batch(.watermark(70)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50, 60])
        b.push(batch(.watermark(65)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50, 60, 65])
        // A watermark from an idle input makes it active again.
        b.push(batch(.idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50, 60, 65, 70])
        b.push(batch(.watermark(68)))
        _ = gate.drain(maxBatches: 10) { true }
        a.push(batch(.watermark(90)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [10, 50, 60, 65, 70])  // b (68) is active again and holds 70
    }

    @Test func allInputsIdleEmitNothing() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        a.push(batch(.idle(true)))
        b.push(batch(.idle(true)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.items.isEmpty)
        a.push(batch(.watermark(5)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [5])
    }

    @Test func endedInputsCountAsEndOfTimeAndTheLastEndFinishesTheGate() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        a.push(batch(.record(1, 1), .watermark(1), .end))
        b.push(batch(.watermark(3)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [3])  // a ended: only b holds the watermark
        #expect(!gate.isFinished)
        b.push(batch(.record(2, 40), .watermark(40)))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.watermarks == [3, 40])
        b.push(batch(.watermark(Watermark.endOfTime), .end))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(gate.isFinished)
        #expect(r.items.suffix(2) == [.watermark(Watermark.endOfTime), .end])
        #expect(r.items.filter { $0 == .end }.count == 1)
        // Nothing is drained after the end.
        b.push(batch(.record(3, 50)))
        #expect(gate.drain(maxBatches: 10) { true } == 0)
    }

    @Test func endWithoutFinalWatermarkStillFlushesTime() {
        let a = Channel<Int>(capacity: 8)
        let r = Recorder()
        let gate = InputGate(channels: [a], handler: r.handler)
        a.push(batch(.watermark(7), .end))
        _ = gate.drain(maxBatches: 10) { true }
        #expect(r.items == [.watermark(7), .watermark(Watermark.endOfTime), .end])
    }

    @Test func gateWithoutChannelsIsFinished() {
        let r = Recorder()
        let gate = InputGate<Int>(channels: [], handler: r.handler)
        #expect(gate.isFinished)
        #expect(gate.drain(maxBatches: 10) { true } == 0)
    }

    @Test func gateWakerIsInstalledOnEveryChannel() {
        let a = Channel<Int>(capacity: 8), b = Channel<Int>(capacity: 8)
        let gate = InputGate(channels: [a, b], handler: Recorder().handler)
        let waker = CountingWaker()
        gate.setConsumerWaker(waker)
        a.push(batch(.record(1, 0)))
        b.push(batch(.record(2, 0)))
        #expect(waker.count == 2)
    }

    // MARK: Exchange sender

    @Test func forwardSenderBatchesRecordsAndFlushesControlItems() {
        let c = Channel<Int>(capacity: 100)
        let sender = ExchangeSender(channels: [c], route: nil, batchSize: 3)
        let h = sender.handler
        h.element(1, 10)
        h.element(2, 11)
        #expect(c.count == 0)  // buffered
        h.element(3, 12)
        #expect(c.count == 1)  // a full batch is shipped
        h.element(4, 13)
        h.watermark(13)  // control items go after the records before them, at once
        #expect(c.count == 2)
        h.element(5, 14)
        sender.flushAll()
        #expect(c.count == 3)
        sender.flushAll()  // nothing buffered: no empty batch
        #expect(c.count == 3)
        h.endOfInput()
        #expect(renderBatches(c, timestamps: true) == ["r1@10 r2@11 r3@12", "r4@13 wm13", "r5@14", "end"])
    }

    @Test func hashSenderRoutesRecordsAndBroadcastsControlItems() {
        let channels = (0..<3).map { _ in Channel<Int>(capacity: 100) }
        let sender = ExchangeSender(channels: channels, route: { $0 % 3 }, batchSize: 100)
        let h = sender.handler
        for v in 0..<9 { h.element(v, Timestamp(v)) }
        h.watermark(8)
        sender.broadcastIdle(true)
        h.endOfInput()
        for (i, c) in channels.enumerated() {
            var items: [StreamItem<Int>] = []
            while let b = c.pop() { items.append(contentsOf: b) }
            let records = items.compactMap { if case .record(let v, _) = $0 { return v } else { return nil } }
            #expect(records == [i, i + 3, i + 6])
            guard items.count == 6 else {
                Issue.record("channel \(i) got \(items.count) items")
                continue
            }
            if case .watermark(8) = items[3] {} else { Issue.record("channel \(i): no watermark after the records") }
            if case .idle(true) = items[4] {} else { Issue.record("channel \(i): no idle marker") }
            if case .end = items[5] {} else { Issue.record("channel \(i): no end") }
        }
    }

    @Test func senderIsBackpressuredWhileAnyTargetIsFull() {
        let channels = (0..<2).map { _ in Channel<Int>(capacity: 1) }
        let sender = ExchangeSender(channels: channels, route: { $0 % 2 }, batchSize: 1)
        let waker = CountingWaker()
        sender.setProducerWaker(waker)
        #expect(!sender.isBackpressured)
        sender.handler.element(1, 0)  // → channel 1, which is now full
        #expect(sender.isBackpressured)
        _ = channels[1].pop()
        #expect(!sender.isBackpressured)
        #expect(waker.count == 1)
        sender.handler.element(0, 0)
        #expect(sender.isBackpressured)
        _ = channels[0].pop()
        #expect(waker.count == 2)
    }

    @Test func senderToGateEndToEnd() {
        let channels = (0..<2).map { _ in Channel<Int>(capacity: 4) }
        let s0 = ExchangeSender(channels: [channels[0]], route: nil, batchSize: 4)
        let s1 = ExchangeSender(channels: [channels[1]], route: nil, batchSize: 4)
        let r = Recorder()
        let gate = InputGate(channels: channels, handler: r.handler)
        for i in 0..<10 { s0.handler.element(i, Timestamp(i)) }
        s0.handler.watermark(9)
        for i in 100..<103 { s1.handler.element(i, Timestamp(i)) }
        s1.handler.watermark(102)
        s0.handler.endOfInput()
        while gate.drain(maxBatches: 1, canContinue: { true }) > 0 {}
        #expect(r.records.filter { $0 < 100 } == Array(0..<10))
        #expect(r.records.filter { $0 >= 100 } == [100, 101, 102])
        #expect(r.watermarks == [9, 102])
        #expect(!gate.isFinished)
        s1.handler.endOfInput()
        _ = gate.drain(maxBatches: 10) { true }
        #expect(gate.isFinished)
        #expect(r.items.last == .end)
    }

    // MARK: Key hashes carried by keyed exchanges

    @Test func keyedSenderShipsEachBatchWithItsRecordsKeyHashes() {
        let channels = (0..<2).map { _ in Channel<Int>(capacity: 100) }
        // Hash = value * 10; target = hash % 20 == 0 ? 0 : 1 (even values to 0, odd to 1).
        let sender = ExchangeSender(channels: channels, keyHash: { UInt64($0 * 10) },
                                    target: { $0 % 20 == 0 ? 0 : 1 }, batchSize: 3)
        let h = sender.handler
        for v in 0..<6 { h.element(v, Timestamp(v)) }
        h.watermark(5)
        h.endOfInput()
        // A full batch holds the hashes item and two records (batchSize counts items); a
        // control item shipped alone carries no hashes.
        #expect(renderBatches(channels[0]) == ["hashes[0, 0, 20] r0 r2", "hashes[0, 40, 0] r4 wm5", "end"])
        #expect(renderBatches(channels[1]) == ["hashes[0, 10, 30] r1 r3", "hashes[0, 50, 0] r5 wm5", "end"])
    }

    @Test func aKeyedSenderWithBatchesOfOneShipsEachRecordWithItsHash() {
        let c = Channel<Int>(capacity: 100)
        let sender = ExchangeSender(channels: [c], keyHash: { UInt64($0) * 3 }, target: { _ in 0 }, batchSize: 1)
        let h = sender.handler
        for v in 1...3 { h.element(v, Timestamp(v)) }
        h.watermark(3)
        // A batch of one record still starts with its hashes item.
        #expect(renderBatches(c) == ["hashes[0, 3] r1", "hashes[0, 6] r2", "hashes[0, 9] r3", "wm3"])
    }

    /// The batches queued on `c`, one string each, items by kind and value (a record's
    /// timestamp after an `@` when `timestamps`).
    private func renderBatches(_ c: Channel<Int>, timestamps: Bool = false) -> [String] {
        var batches: [String] = []
        while let b = c.pop() {
            batches.append(b.map { item -> String in
                switch item {
                case .record(let v, let t): return timestamps ? "r\(v)@\(t)" : "r\(v)"
                case .keyHashes(let hashes): return "hashes\(Array(hashes))"
                case .watermark(let w): return "wm\(w)"
                case .idle(let i): return "idle\(i)"
                case .barrier(let b): return "barrier\(b.id)"
                case .end: return "end"
                }
            }.joined(separator: " "))
        }
        return batches
    }

    /// Records the keyed entry points a gate calls.
    private final class KeyedRecorder {
        var calls: [String] = []
        var handler: ElementHandler<Int> {
            ElementHandler(
                element: { v, _ in self.calls.append("e\(v)") },
                watermark: { w in self.calls.append("wm\(w)") },
                endOfInput: { self.calls.append("end") },
                hashedElement: { v, _, hash in self.calls.append("h\(v)#\(hash)") },
                prefetch: { hash in self.calls.append("p\(hash)") })
        }
    }

    @Test func gateHandsKeyHashesToAKeyedHandlerAndPrefetchesAhead() {
        let c = Channel<Int>(capacity: 10)
        let r = KeyedRecorder()
        let gate = InputGate(channels: [c], handler: r.handler)
        let distance = InputGate<Int>.prefetchDistance
        let n = distance + 2
        var items: [StreamItem<Int>] = [.keyHashes(ContiguousArray([0] + (1...n).map { UInt64($0 * 100) }))]
        items += (1...n).map { .record($0, Timestamp($0)) }
        c.push(StreamBatch(items))
        _ = gate.drain(maxBatches: 1) { true }
        // On the hashes (item 0), records 1 to distance are prefetched; then record k after
        // the prefetch of record k + distance (when there is one).
        var expected = (1...distance).map { "p\($0 * 100)" }
        for k in 1...n {
            if k + distance <= n { expected.append("p\((k + distance) * 100)") }
            expected.append("h\(k)#\(k * 100)")
        }
        #expect(r.calls == expected)
    }

    @Test func gateGivesRecordsWithoutHashesToThePlainEntryPoint() {
        let c = Channel<Int>(capacity: 10)
        let r = KeyedRecorder()
        let gate = InputGate(channels: [c], handler: r.handler)
        c.push(batch(.record(1, 1), .record(2, 2), .watermark(2)))
        _ = gate.drain(maxBatches: 1) { true }
        #expect(r.calls == ["e1", "e2", "wm2"])
    }

    @Test func gateWithAPlainHandlerTakesKeyedBatches() {
        let c = Channel<Int>(capacity: 10)
        let r = Recorder()
        let gate = InputGate(channels: [c], handler: r.handler)
        c.push(batch(.keyHashes([0, 7, 8]), .record(1, 1), .record(2, 2)))
        _ = gate.drain(maxBatches: 1) { true }
        #expect(r.records == [1, 2])
    }

    @Test func keyHashesOutliveABarrierThatHoldsTheRestOfTheBatch() {
        let a = Channel<Int>(capacity: 10), b = Channel<Int>(capacity: 10)
        let r = KeyedRecorder()
        let gate = InputGate(channels: [a, b], handler: r.handler)
        var barriers: [Int64] = []
        gate.setBarrierHandler { barriers.append($0.id) }
        // Input a delivers the barrier first; its batch's last record waits for b's barrier.
        a.push(batch(.keyHashes([0, 11, 0, 33]), .record(1, 1), .barrier(CheckpointBarrier(id: 1)), .record(3, 3)))
        _ = gate.drain(maxBatches: 1) { true }
        b.push(batch(.barrier(CheckpointBarrier(id: 1))))
        while gate.drain(maxBatches: 1, canContinue: { true }) > 0 {}
        #expect(barriers == [1])
        #expect(r.calls.filter { $0.hasPrefix("h") || $0.hasPrefix("e") } == ["h1#11", "h3#33"])
    }

    @Test func aBatchsHashesDoNotOutliveIt() {
        // A barrier as the last item does not hold the batch: the next batch, without a
        // hashes item, must not take this one's hashes.
        let c = Channel<Int>(capacity: 10)
        let r = KeyedRecorder()
        let gate = InputGate(channels: [c], handler: r.handler)
        c.push(batch(.keyHashes([0, 5, 0]), .record(1, 1), .barrier(CheckpointBarrier(id: 1))))
        c.push(batch(.record(2, 2)))
        while gate.drain(maxBatches: 1, canContinue: { true }) > 0 {}
        #expect(r.calls.filter { !$0.hasPrefix("p") } == ["h1#5", "e2"])
    }

    @Test func aShortOrEmptyHashesItemIsSafe() {
        // Not what a sender ships, but the gate must not trap on it.
        let c = Channel<Int>(capacity: 10)
        let r = KeyedRecorder()
        let gate = InputGate(channels: [c], handler: r.handler)
        c.push(batch(.keyHashes([]), .record(1, 1), .record(2, 2)))
        c.push(batch(.record(3, 3), .keyHashes([0]), .record(4, 4)))
        while gate.drain(maxBatches: 1, canContinue: { true }) > 0 {}
        #expect(r.calls.filter { !$0.hasPrefix("p") } == ["e1", "e2", "e3", "e4"])
    }

    @Test(arguments: [1, 2, 8, 2_048])
    func keyedSenderToGateEndToEnd(batchSize: Int) {
        let channels = (0..<2).map { _ in Channel<Int>(capacity: 100) }
        let sender = ExchangeSender(channels: channels, keyHash: { UInt64($0) &* 0x9E37_79B9 },
                                    target: { Int($0 % 2) }, batchSize: batchSize)
        let recorders = [KeyedRecorder(), KeyedRecorder()]
        let gates = (0..<2).map { InputGate(channels: [channels[$0]], handler: recorders[$0].handler) }
        for v in 0..<50 { sender.handler.element(v, Timestamp(v)) }
        sender.handler.watermark(49)
        sender.handler.endOfInput()
        for g in gates { while g.drain(maxBatches: 1, canContinue: { true }) > 0 {} }
        for (t, r) in recorders.enumerated() {
            let delivered = r.calls.filter { $0.hasPrefix("h") }
            let expected = (0..<50).filter { Int((UInt64($0) &* 0x9E37_79B9) % 2) == t }
                .map { "h\($0)#\(UInt64($0) &* 0x9E37_79B9)" }
            #expect(delivered == expected)
            #expect(!r.calls.contains { $0.hasPrefix("e") && $0 != "end" })
            #expect(r.calls.contains("wm49"))
            #expect(r.calls.last == "end")
        }
    }
}
