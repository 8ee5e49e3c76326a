import RunnelCore
import RunnelJSON
import RunnelOperators

/// A line of the replay job's input after decoding: a valid event (the fields the job
/// reads, see ``ReplayEvent``), or a dead letter.
public enum ParsedLine: Sendable {
    /// The line is a valid event.
    case event(ReplayEvent)
    /// The line was rejected.
    case invalid(DeadLetter)

    /// The event time of a valid event; dead letters carry no time (they never move the watermark).
    public var timestamp: Timestamp {
        if case .event(let e) = self { return e.timestamp }
        return Watermark.initial
    }
}

/// Decodes NDJSON lines of creator events into replay events on one source subtask.
public final class CreatorLineDecoder: LineDecoder {
    private let decoder = CreatorEventDecoder()

    /// Creates a decoder.
    public init() {}

    public func decode(_ line: NDJSONLine) -> ParsedLine? {
        if line.bytes.isEmpty {
            return .invalid(DeadLetter(line: line.number, reason: "empty line", raw: ""))
        }
        var reason = ""
        if let event = decoder.decodeReplayEvent(line.bytes, reason: &reason) {
            return .event(event)
        } else {
            let raw = UnsafeRawBufferPointer(rebasing: line.bytes.prefix(DeadLetter.maximumRawBytes))
            return .invalid(DeadLetter(line: line.number, reason: reason, raw: String(decoding: raw, as: UTF8.self)))
        }
    }
}

/// Routes dead letters to a side output and passes valid events on.
public final class SplitValidEvents: ProcessFunction {
    /// The side output of rejected lines.
    public static let deadLetters = OutputTag<DeadLetter>("dead-letters")
    private var valid: Counter!
    private var invalid: Counter!

    /// Creates the function.
    public init() {}

    public func open(_ setup: OperatorSetup) throws {
        valid = setup.counter("valid")
        invalid = setup.counter("invalid")
    }

    public func processElement(_ value: consuming ParsedLine, context: ProcessContext, out: Collector<ReplayEvent>) {
        switch consume value {
        case .event(let e):
            valid.increment()
            out.collect(consume e)
        case .invalid(let letter):
            invalid.increment()
            context.output(Self.deadLetters, letter)
        }
    }
}
