/// Names a side output of an operator, such as late data (Flink's `OutputTag`).
public struct OutputTag<Element>: Sendable, Hashable {
    /// The tag's identity, unique within the job.
    public let id: String
    /// Creates a tag.
    public init(_ id: String, of type: Element.Type = Element.self) { self.id = id }
}

/// The side outputs an operator subtask can emit to, by tag.
///
/// Thread safety: owned by one task.
public final class SideOutputs {
    private var emitters: [String: AnyObject] = [:]

    init() {}

    func register<T>(_ tag: OutputTag<T>, _ emitter: Emitter<T>) {
        emitters[tag.id] = emitter
    }

    /// The emitter of a tag, or `nil` when no stream consumes it (the records are then dropped
    /// by the caller, which counts them).
    public func emitter<T>(for tag: OutputTag<T>) -> Emitter<T>? {
        guard let e = emitters[tag.id] else { return nil }
        return (e as! Emitter<T>)
    }
}
