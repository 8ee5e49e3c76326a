import RunnelCore
import RunnelOperators

/// The Nexmark stream as a Runnel source, made in process by ``NexmarkGenerator``: a
/// `GeneratorSource` of the events numbered 0 to ``count`` − 1, so subtask `i` of `p` makes
/// events `i, i + p, i + 2p, …`, whose event time increases along a subtask's events (its
/// watermark can follow them with no delay). Checkpointable as generator sources are: a
/// restored job must run at the parallelism, and with the count and configuration, of the
/// one that recorded the positions.
public struct NexmarkSource: Source, Sendable {
    /// The generator.
    public let generator: NexmarkGenerator
    /// Events in all.
    public let count: Int64
    private let events: GeneratorSource<NexmarkEvent>

    /// Creates the source of `count` events.
    public init(count: Int64, configuration: NexmarkConfiguration = NexmarkConfiguration()) {
        self.count = count
        let generator = NexmarkGenerator(configuration: configuration)
        self.generator = generator
        events = GeneratorSource(count: Int(count)) { generator.event(Int64($0)) }
    }

    /// Watermarks that follow each subtask's events exactly.
    public static var watermarks: WatermarkStrategy<NexmarkEvent> {
        .monotonousTimestamps { $0.dateTime }
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> GeneratorSource<NexmarkEvent>.Reader {
        try events.createReader(subtask: subtask, parallelism: parallelism)
    }
}
