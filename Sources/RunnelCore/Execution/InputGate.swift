/// The receiving end of a task: it drains the task's input channels and computes the
/// task's watermark as the minimum over its active inputs.
///
/// An input that announced idleness is left out of the minimum until it sends again; an
/// input that ended counts as being at the end of time. When every input has ended the
/// gate delivers the end of input.
///
/// Thread safety: owned by the consuming task.
public final class InputGate<Element> {
    private struct InputState {
        var watermark: Timestamp = Watermark.initial
        var idle = false
        var ended = false
    }

    private let channels: [Channel<Element>]
    var channelsForWiring: [Channel<Element>] { channels }
    private var inputs: [InputState]
    private let handler: ElementHandler<Element>
    private var emittedWatermark: Timestamp = Watermark.initial
    private var next = 0
    /// Whether all inputs have ended and the end was delivered.
    public private(set) var isFinished = false
    /// The task's current watermark.
    public var currentWatermark: Timestamp { emittedWatermark }

    /// Creates a gate over `channels` feeding `handler`.
    public init(channels: [Channel<Element>], handler: ElementHandler<Element>) {
        self.channels = channels
        self.inputs = Array(repeating: InputState(), count: channels.count)
        self.handler = handler
        if channels.isEmpty { isFinished = true }
        // The task calls `drain` through an existential, which runs generic code
        // unspecialized; this closure is formed here, where the element type is concrete
        // (the init is specialized at the call site), so the per-record loop is specialized.
        drainBody = { [unowned self] maxBatches, canContinue in self.drainBatches(maxBatches: maxBatches, canContinue: canContinue) }
    }

    private var drainBody: ((Int, () -> Bool) -> Int)!

    /// Processes up to `maxBatches` batches, visiting inputs round-robin, while `canContinue`
    /// holds (it checks downstream backpressure). Returns the number of batches processed.
    public func drain(maxBatches: Int, canContinue: () -> Bool) -> Int {
        drainBody(maxBatches, canContinue)
    }

    private func drainBatches(maxBatches: Int, canContinue: () -> Bool) -> Int {
        var processed = 0
        var emptyInARow = 0
        while processed < maxBatches, !isFinished, emptyInARow < channels.count, canContinue() {
            let i = next
            next = (next + 1) % channels.count
            guard let batch = channels[i].pop() else {
                emptyInARow += 1
                continue
            }
            emptyInARow = 0
            processed += 1
            for item in batch {
                switch item {
                case .record(let value, let ts):
                    handler.element(value, ts)
                case .watermark(let wm):
                    if wm > inputs[i].watermark { inputs[i].watermark = wm }
                    inputs[i].idle = false
                    advanceWatermark()
                case .idle(let idle):
                    inputs[i].idle = idle
                    advanceWatermark()
                case .end:
                    inputs[i].ended = true
                    inputs[i].watermark = Watermark.endOfTime
                    advanceWatermark()
                    if inputs.allSatisfy(\.ended) {
                        isFinished = true
                        handler.endOfInput()
                    }
                }
            }
        }
        return processed
    }

    /// Whether any input has a batch waiting.
    public var hasPendingInput: Bool { channels.contains { $0.count > 0 } }

    private func advanceWatermark() {
        var minimum = Watermark.endOfTime
        var anyActive = false
        for s in inputs where !s.idle || s.ended {
            anyActive = true
            if s.watermark < minimum { minimum = s.watermark }
        }
        guard anyActive, minimum > emittedWatermark else { return }
        emittedWatermark = minimum
        handler.watermark(minimum)
    }
}
