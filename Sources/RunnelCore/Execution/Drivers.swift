/// The type-erased face of a task's outputs that the task loop needs once per step.
public protocol OutputDriver: AnyObject {
    /// Ships buffered records.
    func flushAll()
    /// Whether a target channel is full.
    var isBackpressured: Bool { get }
    /// Announces that the producing source became idle or active.
    func broadcastIdle(_ idle: Bool)
    /// Sends a checkpoint barrier to every target, after the records before it.
    func broadcastBarrier(_ barrier: CheckpointBarrier)
    /// Sets who is woken when a full target channel drains.
    func setProducerWaker(_ waker: any TaskWaker)
}

/// The type-erased face of a task's input gate.
public protocol InputDriver: AnyObject {
    /// Processes up to `maxBatches` batches while `canContinue` holds; returns how many.
    func drain(maxBatches: Int, canContinue: () -> Bool) -> Int
    /// Whether all inputs ended.
    var isFinished: Bool { get }
    /// Whether a batch is waiting.
    var hasPendingInput: Bool { get }
    /// Sets who is woken when a batch arrives.
    func setConsumerWaker(_ waker: any TaskWaker)
    /// Batches queued over all inputs (for metrics).
    var queuedBatches: Int { get }
    /// Sets what to call when every open input becomes idle, or one becomes active again.
    func setIdleHandler(_ handler: @escaping (Bool) -> Void)
    /// Sets what runs when a checkpoint barrier has arrived on every open input.
    func setBarrierHandler(_ handler: @escaping (CheckpointBarrier) -> Void)
    /// The watermark delivered to the task's operators so far.
    var currentWatermark: Timestamp { get }
    /// Holds the watermark for inputs still idle when the gate wakes from all-idle (see
    /// ``InputGate``).
    func configureWakeHold(milliseconds: Int64, now: @escaping () -> Timestamp, recheckAt: @escaping (Timestamp) -> Void)
    /// Ends the wake hold once its time has passed.
    func recheckWakeHold()
}

/// The type-erased face of one source split.
public protocol SourceDriver: AnyObject {
    /// Reads up to `limit` records, then forwards the split's watermark if it advanced;
    /// on exhaustion forwards the end-of-time watermark and the end of input.
    func step(limit: Int) throws -> SourceReadStatus
    /// Processing-time milliseconds without records after which the split is idle.
    var idleTimeoutMilliseconds: Int64? { get }
    /// Records emitted so far (a split that emits is active, whatever its read status).
    var recordsEmitted: Int { get }
    /// The last watermark the split sent downstream.
    var lastWatermark: Timestamp { get }
    /// Releases the reader.
    func close()
}

extension ExchangeSender: OutputDriver {
    public func broadcastIdle(_ idle: Bool) { broadcast(.idle(idle)) }
    public func broadcastBarrier(_ barrier: CheckpointBarrier) { broadcast(.barrier(barrier)) }
    public func setProducerWaker(_ waker: any TaskWaker) {
        for c in channelsForWiring { c.producerWaker = waker }
    }
}

extension InputGate: InputDriver {
    public func setConsumerWaker(_ waker: any TaskWaker) {
        for c in channelsForWiring { c.consumerWaker = waker }
    }
    public var queuedBatches: Int { channelsForWiring.reduce(0) { $0 + $1.count } }
}

/// Drives a ``SourceReader``: reads, stamps, and forwards watermarks and the end of input.
final class SourceSplitDriver<Reader: SourceReader>: SourceDriver {
    let reader: Reader
    let output: SourceOutput<Reader.Output>
    let emitter: Emitter<Reader.Output>
    let idleTimeoutMilliseconds: Int64?
    /// The last watermark sent (also what a checkpoint records).
    private(set) var lastWatermark = Watermark.initial
    private var finished = false

    init(reader: Reader, strategy: WatermarkStrategy<Reader.Output>, emitter: Emitter<Reader.Output>) {
        self.reader = reader
        self.emitter = emitter
        self.output = SourceOutput(emitter: emitter, strategy: strategy)
        self.idleTimeoutMilliseconds = strategy.idleTimeoutMilliseconds
        // Formed where the reader type is concrete, so reading runs specialized code even
        // though the task calls `step` through an existential (see `InputGate.init`).
        stepBody = { [unowned self] limit in try self.readStep(limit: limit) }
    }

    private var stepBody: ((Int) throws -> SourceReadStatus)!

    func step(limit: Int) throws -> SourceReadStatus { try stepBody(limit) }

    private func readStep(limit: Int) throws -> SourceReadStatus {
        guard !finished else { return .finished }
        let status = try reader.read(into: output, limit: limit)
        let wm = output.generator.currentWatermark
        if wm > lastWatermark {
            lastWatermark = wm
            emitter.emitWatermark(wm)
        }
        if status == .finished {
            finished = true
            emitter.emitWatermark(Watermark.endOfTime)
            emitter.emitEndOfInput()
        }
        return status
    }

    func close() { reader.close() }

    /// Resumes at the watermark of a restored checkpoint.
    func restore(watermark: Timestamp) {
        output.generator.restore(watermark: watermark)
        lastWatermark = max(lastWatermark, watermark)
    }

    var recordsEmitted: Int { output.emittedCount }
}
