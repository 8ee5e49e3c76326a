/// The open sessions of one key in the event-time session path (see
/// `WindowOperator+EventTimeSessions.swift`): the first held inline, any others in an array.
///
/// A key nearly always has one open session (a second opens only when an event falls more
/// than a gap away from the first, and lives until the watermark closes the first). Held
/// in an array, every session would sit in a heap buffer of its own behind the state
/// table's slot: a second cache miss, waited for, on every element, since the table's
/// prefetch can only load the slot. Inline, the session lies in the slot itself.
///
/// Indexed like an array, in the same order; checkpoints write it as the array of its
/// sessions, so its checkpoints and those of `[SessionSlot]` are the same bytes.
///
/// Inlinable throughout: the session path is specialized in the module that uses it.
public struct SessionSlots<Accumulator> {
    /// The first session; nil only when there is none (then `others` is empty too).
    @usableFromInline var first: SessionSlot<Accumulator>?
    /// The sessions after the first.
    @usableFromInline var others: [SessionSlot<Accumulator>] = []

    /// No sessions.
    @inlinable
    public init() {}

    /// The number of sessions.
    @inlinable
    public var count: Int { first == nil ? 0 : 1 &+ others.count }

    /// Whether there is no session.
    @inlinable
    public var isEmpty: Bool { first == nil }

    /// The `i`-th session (in the order they were added).
    @inlinable
    public subscript(i: Int) -> SessionSlot<Accumulator> {
        i == 0 ? first.unsafelyUnwrapped : others[i &- 1]
    }

    /// Calls `body` with the `i`-th session, to change in place. (A closure rather than a
    /// `_modify` accessor: the session path runs in the module that specializes it, where
    /// such an accessor was left out of line and allocated its coroutine frame on the heap
    /// on every call.)
    @inlinable @inline(__always)
    public mutating func withSlot<R>(_ i: Int, _ body: (inout SessionSlot<Accumulator>) throws -> R) rethrows -> R {
        precondition(i >= 0 && i < count, "session index out of range")
        if i == 0 { return try body(&first!) }
        return try body(&others[i &- 1])
    }

    /// Adds a session after the others.
    @inlinable
    public mutating func append(_ slot: SessionSlot<Accumulator>) {
        if first == nil {
            first = slot
        } else {
            others.append(slot)
        }
    }

    /// Removes and returns the `i`-th session; the ones after it move up.
    @inlinable
    @discardableResult
    public mutating func remove(at i: Int) -> SessionSlot<Accumulator> {
        guard i == 0 else { return others.remove(at: i &- 1) }
        let removed = first!
        first = others.isEmpty ? nil : others.removeFirst()
        return removed
    }

    /// The index of the first session that `predicate` accepts.
    @inlinable
    public func firstIndex(where predicate: (SessionSlot<Accumulator>) -> Bool) -> Int? {
        guard let first else { return nil }
        if predicate(first) { return 0 }
        return others.firstIndex(where: predicate).map { $0 &+ 1 }
    }

    /// Calls `body` with each session, in order, where it lies (a copy of a session would
    /// retain all that its accumulator holds).
    @inlinable
    public func forEach(_ body: (borrowing SessionSlot<Accumulator>) throws -> Void) rethrows {
        if let first = self.first { try body(first) }
        try others.withUnsafeBufferPointer { slots in
            for i in slots.indices { try body(slots[i]) }
        }
    }
}
