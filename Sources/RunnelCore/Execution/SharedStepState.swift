import Synchronization

/// What the subtasks of one step share during one run of a job: one object per step and
/// run, handed to every subtask in ``OperatorSetup/shared``.
///
/// Subtasks run on their own threads and otherwise meet only through channels. Some need a
/// coordinator, as Flink's split enumerator is for the readers of a source: a file source's
/// readers take their blocks from one queue, created here by the first reader that asks.
/// A new run (a restart or a restore) gets new objects, so nothing carries over.
///
/// Thread safety: ``value(_:)`` may be called from any thread.
public final class SharedStepState: Sendable {
    private let values = Mutex<[ObjectIdentifier: any AnyObject & Sendable]>([:])

    /// Creates an empty state (the runtime makes one per step and run).
    public init() {}

    /// The object of type `T`, made by `make` on the first call for that type (later calls
    /// return the same object and do not call `make`). `make` runs under the state's lock:
    /// it must not call ``value(_:)``.
    /// - Throws: what `make` throws (nothing is stored then).
    public func value<T: AnyObject & Sendable>(_ make: () throws -> T) rethrows -> T {
        try values.withLock { values in
            if let existing = values[ObjectIdentifier(T.self)] { return existing as! T }
            let made = try make()
            values[ObjectIdentifier(T.self)] = made
            return made
        }
    }
}
