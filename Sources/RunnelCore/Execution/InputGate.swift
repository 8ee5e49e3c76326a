/// The receiving end of a task: it drains the task's input channels and computes the
/// task's watermark as the minimum over its open, active inputs.
///
/// - An input that announced idleness is left out of the minimum until it sends a record
///   or a watermark again.
/// - An input that ended is left out too; when every input has ended the watermark is the
///   end of time and the gate delivers the end of input.
/// - When every open input is idle the gate is idle: its watermark holds, and the task is
///   told (``setIdleHandler(_:)``) so it can announce idleness downstream, as a source does.
/// - When one input of an all-idle gate becomes active again, the others usually wake too
///   (idleness travels downstream from the same sources, and the subtasks of a step wake one
///   after the other). For a while (``configureWakeHold(milliseconds:now:recheckAt:)``) the
///   gate counts the inputs still idle at their last watermarks, so that it does not run
///   ahead of what they send once awake: otherwise a window closed on the first input's
///   watermark would drop, as late, the results another upstream subtask emits for the same
///   watermark a moment later. Inputs still idle after the hold are left out again.
///
/// Thread safety: owned by the consuming task.
public final class InputGate<Element> {
    private struct InputState {
        var watermark: Timestamp = Watermark.initial
        var idle = false
        var ended = false
        /// Delivered the barrier being aligned: not read until every input has.
        var blocked = false
        /// The rest of a batch that held a barrier (from its first item not taken), read
        /// before the channel's next batch.
        var held: StreamBatch<Element>?
        /// The key hashes of the held batch, if keyed (see ``StreamItem/keyHashes(_:)``).
        var heldKeyHashes: ContiguousArray<UInt64> = []
    }

    private let channels: [Channel<Element>]
    var channelsForWiring: [Channel<Element>] { channels }
    private var inputs: [InputState]
    private let handler: ElementHandler<Element>
    private var emittedWatermark: Timestamp = Watermark.initial
    private var next = 0
    private var idleHandler: (Bool) -> Void = { _ in }
    private var barrierHandler: (CheckpointBarrier) -> Void = { _ in }
    /// The barrier being aligned (some inputs delivered it, others not yet).
    private var pendingBarrier: CheckpointBarrier?
    /// Whether all inputs have ended and the end was delivered.
    public private(set) var isFinished = false
    /// Whether every open input is idle.
    public private(set) var isIdle = false
    /// The task's current watermark.
    public var currentWatermark: Timestamp { emittedWatermark }

    // Waking from all-idle (see the type's documentation).
    private var wakeHoldMilliseconds: Int64 = 0
    private var now: () -> Timestamp = { 0 }
    private var recheckAt: (Timestamp) -> Void = { _ in }
    /// Until when inputs still idle count at their last watermarks; nil when not waking.
    private var wakingUntil: Timestamp?

    /// Processes the items of a batch from input `i`, from its first item not yet taken, and
    /// stops after a checkpoint barrier (leaving the batch's later items in it). Formed in
    /// `init`, where the element type is concrete: the task reaches the gate through an
    /// existential, and a method called from there would run the per-record loop as
    /// unspecialized generic code.
    private var processBatch: ((StreamBatch<Element>, Int) -> Void)!

    /// How many items ahead of the one processed the gate asks a keyed handler to prefetch
    /// the state of a record (``ElementHandler/prefetch``; in a keyed batch nearly every
    /// item is a record, and a control item's position prefetches harmlessly for hash 0):
    /// enough for a load from memory (~100 ns) to complete while the records between are
    /// processed (each takes hundreds of nanoseconds in a keyed operator), few enough that
    /// the lines fetched are still in the cache when used.
    public static var prefetchDistance: Int { 4 }

    /// Creates a gate over `channels` feeding `handler`.
    public init(channels: [Channel<Element>], handler: ElementHandler<Element>) {
        self.channels = channels
        self.inputs = Array(repeating: InputState(), count: channels.count)
        self.handler = handler
        if channels.isEmpty { isFinished = true }
        processBatch = { [unowned self] batch, i in
            // One strong reference per batch: touching an unowned reference costs an atomic
            // retain and release, which would otherwise happen per record.
            let gate = self
            let element = handler.element
            let hashedElement = handler.hashedElement
            let prefetches = handler.isKeyed
            let prefetch = handler.prefetch
            let count = batch.itemCount
            // Records are moved out of the batch rather than copied: a copy retained each
            // record here and the batch released it again later, two atomic operations per
            // record on objects last touched by the producer's thread, whose cache line then
            // had to cross cores twice. The batch frees only the items not taken.
            batch.takeItems { base, start -> Int in
                // The key hashes of a keyed batch (its first item), by position; kept with
                // the rest of a batch a barrier holds. A batch's hashes belong to it alone: a
                // new batch starts without any.
                var hashes: ContiguousArray<UInt64> = start > 0 ? gate.inputs[i].heldKeyHashes : []
                gate.inputs[i].heldKeyHashes = []
                for index in start..<count {
                    if prefetches, index &+ Self.prefetchDistance < hashes.count {
                        prefetch(hashes[index &+ Self.prefetchDistance])
                    }
                    // Consumed, so that the record is moved out of it rather than copied
                    // (and the item destroyed after).
                    let item = (base + index).move()
                    switch consume item {
                    case .record(let value, let ts):
                        if gate.inputs[i].idle { gate.setIdle(false, input: i) }
                        if index < hashes.count {
                            hashedElement(consume value, ts, hashes[index])
                        } else {
                            element(consume value, ts)
                        }
                    case .keyHashes(let keyHashes):
                        hashes = keyHashes
                        // The records the loop's look-ahead has passed already.
                        if prefetches {
                            var ahead = index &+ 1
                            let upper = min(index &+ 1 &+ Self.prefetchDistance, hashes.count)
                            while ahead < upper {
                                prefetch(hashes[ahead])
                                ahead &+= 1
                            }
                        }
                    case .watermark(let wm):
                        gate.receiveWatermark(wm, input: i)
                    case .idle(let idle):
                        gate.setIdle(idle, input: i)
                    case .barrier(let barrier):
                        gate.receiveBarrier(barrier, input: i)
                        // Kept only for the rest of this batch, if `drain` holds one.
                        if index &+ 1 < count { gate.inputs[i].heldKeyHashes = hashes }
                        return index &+ 1
                    case .end:
                        gate.receiveEnd(input: i)
                    }
                }
                return count
            }
        }
    }

    public func setIdleHandler(_ handler: @escaping (Bool) -> Void) { idleHandler = handler }

    /// After waking from all-idle, counts the inputs still idle for `milliseconds` of
    /// processing time (`now`); `recheckAt` must call ``recheckWakeHold()`` at the time given
    /// (on the task's thread). Off (0) unless configured.
    public func configureWakeHold(milliseconds: Int64, now: @escaping () -> Timestamp, recheckAt: @escaping (Timestamp) -> Void) {
        wakeHoldMilliseconds = milliseconds
        self.now = now
        self.recheckAt = recheckAt
    }

    /// Ends the wake hold once its time has passed (the inputs still idle are left out again).
    public func recheckWakeHold() {
        guard let until = wakingUntil else { return }
        if now() >= until {
            wakingUntil = nil
            advanceWatermark()
        } else {
            recheckAt(until)
        }
    }

    /// Sets what runs when a checkpoint barrier has arrived on every open input.
    public func setBarrierHandler(_ handler: @escaping (CheckpointBarrier) -> Void) { barrierHandler = handler }

    /// Processes up to `maxBatches` batches, visiting inputs round-robin, while `canContinue`
    /// holds (it checks downstream backpressure). Returns the number of batches processed.
    public func drain(maxBatches: Int, canContinue: () -> Bool) -> Int {
        var processed = 0
        var emptyInARow = 0
        while processed < maxBatches, !isFinished, emptyInARow < channels.count, canContinue() {
            let i = next
            next = (next + 1) % channels.count
            // An input that delivered the barrier being aligned waits for the others.
            if inputs[i].blocked {
                emptyInARow += 1
                continue
            }
            let batch: StreamBatch<Element>
            if let held = inputs[i].held {
                batch = held
                inputs[i].held = nil
            } else if let popped = channels[i].pop() {
                batch = popped
            } else {
                emptyInARow += 1
                continue
            }
            emptyInARow = 0
            processed += 1
            processBatch(batch, i)
            if batch.hasItemsLeft { inputs[i].held = batch }
        }
        return processed
    }

    /// Whether any input that may be read has a batch waiting.
    public var hasPendingInput: Bool {
        for i in inputs.indices where !inputs[i].blocked && (inputs[i].held != nil || channels[i].count > 0) { return true }
        return false
    }

    /// Input `i` delivered `barrier`: it waits until every open input has; then the task
    /// snapshots and every input is read again.
    private func receiveBarrier(_ barrier: CheckpointBarrier, input i: Int) {
        inputs[i].blocked = true
        pendingBarrier = barrier
        completeAlignmentIfReady(barrier)
    }

    private func completeAlignmentIfReady(_ barrier: CheckpointBarrier) {
        // Ended inputs send no barrier; they count as aligned.
        guard inputs.allSatisfy({ $0.blocked || $0.ended }) else { return }
        for i in inputs.indices { inputs[i].blocked = false }
        pendingBarrier = nil
        barrierHandler(barrier)
    }

    private func receiveWatermark(_ wm: Timestamp, input i: Int) {
        if wm > inputs[i].watermark { inputs[i].watermark = wm }
        if inputs[i].idle {
            setIdle(false, input: i)
        } else {
            advanceWatermark()
        }
    }

    private func setIdle(_ idle: Bool, input i: Int) {
        inputs[i].idle = idle
        if !idle && isIdle && wakeHoldMilliseconds > 0 && wakingUntil == nil {
            let until = now() + wakeHoldMilliseconds
            wakingUntil = until
            recheckAt(until)
        }
        advanceWatermark()
    }

    private func receiveEnd(input i: Int) {
        inputs[i].ended = true
        if let pendingBarrier { completeAlignmentIfReady(pendingBarrier) }
        inputs[i].watermark = Watermark.endOfTime
        advanceWatermark()
        if inputs.allSatisfy(\.ended) {
            isFinished = true
            handler.endOfInput()
        }
    }

    private func advanceWatermark() {
        if wakingUntil != nil {
            // The hold ends once no open input is idle any more, or every one is idle again.
            var anyIdle = false, anyActive = false
            for s in inputs where !s.ended && s.watermark != Watermark.endOfTime {
                if s.idle { anyIdle = true } else { anyActive = true }
            }
            if !anyIdle || !anyActive { wakingUntil = nil }
        }
        let holding = wakingUntil != nil
        var minimum = Watermark.endOfTime
        var maximum = Watermark.initial
        var anyActiveOpen = false
        var allEnded = true
        // An input at the end of time (a bounded source sends it before its end) counts as
        // ended: it must not carry the gate to the end of time past an idle input.
        for s in inputs where !s.ended && s.watermark != Watermark.endOfTime {
            allEnded = false
            if s.watermark > maximum { maximum = s.watermark }
            guard !s.idle || holding else { continue }
            anyActiveOpen = true
            if s.watermark < minimum { minimum = s.watermark }
        }
        let idleNow = !allEnded && !anyActiveOpen
        // Only open, active inputs move the watermark; ended inputs do not count as the end
        // of time while an idle one may still send. When the last active input goes idle,
        // the gate moves on to the largest watermark of its open inputs (as Flink's
        // watermark valve does): each of them has promised its own watermark, and without
        // this the inputs that went idle first would hold event time where the slowest of
        // them left it until one of them sent again. It goes out before the idleness is
        // announced, because a watermark makes a consumer take its sender as active again.
        let target = allEnded ? Watermark.endOfTime : (idleNow ? maximum : minimum)
        if target > emittedWatermark {
            emittedWatermark = target
            handler.watermark(target)
        }
        if idleNow != isIdle {
            isIdle = idleNow
            idleHandler(idleNow)
        }
    }
}
