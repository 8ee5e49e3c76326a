/// The outcome of decoding one line: a typed event, or why the line was rejected.
///
/// Invalid lines are data, not errors: a stream keeps going and routes them
/// to a dead-letter output with their `reason`, so this is an enum rather
/// than a thrown error. Reasons are short, stable phrases (e.g.
/// `missing required field post_id for post_viewed`) suitable for grouping.
///
/// Generic over what a valid line becomes: a whole ``CreatorEvent``, or a ``ReplayEvent``
/// of the fields the replay job reads.
public enum LineDecodeResult<Event: Sendable & Hashable>: Sendable, Hashable {
    /// The line is a valid event.
    case valid(Event)
    /// The line was rejected for `reason`.
    case invalid(reason: String)

    /// The event, or nil if the line was invalid.
    public var event: Event? {
        if case .valid(let event) = self { return event }
        return nil
    }

    /// The rejection reason, or nil if the line was valid.
    public var reason: String? {
        if case .invalid(let reason) = self { return reason }
        return nil
    }
}

/// A line decoded into a whole event.
public typealias CreatorEventDecodeResult = LineDecodeResult<CreatorEvent>
