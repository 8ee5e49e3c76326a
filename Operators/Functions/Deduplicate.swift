import RunnelCore

/// Drops elements whose key was already seen within a time-to-live: keyed by the
/// deduplication id (e.g. an event id), it keeps one flag per id in value state with TTL.
///
/// With an event-time TTL the result is deterministic under replay: an id is forgotten
/// once the watermark is `ttl` past the time it was first seen. Dropped duplicates go to
/// the `duplicates` side output when one is given, and are counted (`duplicates`).
///
/// The built-in step `KeyedStream.deduplicate(_:ttl:duplicatesTag:)` (RunnelCore) does the
/// same with less work per element, and keeps the same state ("seen"), so either restores
/// the other's checkpoints. This function stays as the form to start from for
/// deduplication with more logic.
public final class Deduplicate<Key: StreamKey, Element>: KeyedProcessFunction {
    private let ttl: StateTTL
    private let duplicatesTag: OutputTag<Element>?
    private var seen: ValueState<Bool>!
    private var duplicates: Counter!

    /// Creates the function.
    /// - Parameters:
    ///   - ttl: how long an id is remembered (default: one hour of event time).
    ///   - duplicatesTag: where dropped duplicates go, if anywhere.
    public init(ttl: StateTTL = StateTTL(.seconds(3600), timeDomain: .eventTime), duplicatesTag: OutputTag<Element>? = nil) {
        self.ttl = ttl
        self.duplicatesTag = duplicatesTag
    }

    public func open(_ context: KeyedRuntimeContext<Key>) throws {
        // The built-in step's state name (`DeduplicateOperator`), for checkpoints either restores.
        seen = context.state(ValueStateDescriptor<Bool>("seen", ttl: ttl))
        duplicates = context.counter("duplicates")
    }

    public func processElement(_ value: consuming Element, context: KeyedProcessContext<Key, Element>, out: Collector<Element>) {
        // One state lookup; a duplicate does not refresh the id's TTL (it is forgotten a TTL
        // after its first sighting).
        if seen.setIfAbsent(true) == nil {
            out.collect(consume value)
        } else {
            duplicates.increment()
            if let duplicatesTag { context.output(duplicatesTag, value) }
        }
    }
}
