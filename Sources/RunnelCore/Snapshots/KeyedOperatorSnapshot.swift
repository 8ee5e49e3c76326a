/// The checkpoint part of a keyed operator subtask: its keyed state and its timers (with
/// its watermark), both cut by key group.
///
/// Payload: the keyed-state snapshot (``KeyedStateBackend/snapshot()``) and the timer
/// snapshot (``InternalTimerService/snapshot(keyGroups:assignment:)``), each as a
/// length-prefixed byte string, then a flags byte (checkpoint format 3; absent in format 2,
/// meaning 0): bit 0 set when the timers were left out, to be rebuilt from the state.
enum KeyedOperatorSnapshot {
    /// Flags byte: the timer snapshot holds the watermark but no timers.
    static let timersLeftOut: UInt8 = 1

    /// Registers the snapshot of `backend` and `timers` as the operator's checkpoint action.
    /// With `timersFromState`, only the watermark of the timer service is written, and the
    /// part says so: a restore must rebuild the timers from the keyed state (see
    /// ``restore(setup:backend:timers:rebuildTimers:)``).
    static func register<Key, Namespace>(setup: OperatorSetup, backend: KeyedStateBackend<Key>,
                                         timers: InternalTimerService<Key, Namespace>, timersFromState: Bool = false) {
        let (step, subtask, keyGroups, assignment) = (setup.name, setup.subtask, setup.keyGroups, setup.assignment)
        setup.onCheckpoint { barrier in
            // The keyed state is frozen and the timers copied here; both are encoded on the
            // checkpoint writer's thread.
            let state = try backend.snapshotLater(SnapshotRequest(barrier))
            let timerState = try timers.snapshotLater(keyGroups: keyGroups, assignment: assignment,
                                                      includeTimers: !timersFromState)
            let entries = backend.entryCount
            var part = CheckpointPart(checkpointID: barrier.id, step: step, subtask: subtask, keyGroups: keyGroups,
                                      summary: "\(entries) state entries") {
                var writer = SnapshotBuffers.writer()
                try state.writeLengthPrefixed(to: &writer)
                try timerState.writeLengthPrefixed(to: &writer)
                writer.writeByte(timersFromState ? Self.timersLeftOut : 0)
                return writer.bytes
            }
            part.stateEntries = entries
            part.dependsOn = state.dependsOn
            return part
        }
    }

    /// Restores `backend` and `timers` from the step's parts of a restored checkpoint: the
    /// key groups this subtask owns, from whichever earlier subtasks held them, and the
    /// lowest watermark among those subtasks.
    ///
    /// When a part says its timers were left out, `rebuildTimers` registers the timers the
    /// restored state implies; an operator that cannot (nil: configured otherwise than the
    /// one that wrote the checkpoint, say with a custom trigger) refuses the restore rather
    /// than run with windows that would never fire.
    static func restore<Key, Namespace>(setup: OperatorSetup, backend: KeyedStateBackend<Key>,
                                        timers: InternalTimerService<Key, Namespace>,
                                        rebuildTimers: (() -> Void)? = nil) throws {
        guard let restored = setup.restored else { return }
        var states: [[UInt8]] = []
        var timerSnapshots: [[UInt8]] = []
        var timersLeftOut = false
        for part in restored.parts where part.keyGroups.overlaps(setup.keyGroups) {
            var reader = BinaryReader(part.payload)
            states.append(try reader.readBytes())
            timerSnapshots.append(try reader.readBytes())
            // Format 2 parts end here (their timers are always written).
            let flags = reader.isAtEnd ? 0 : try reader.readByte()
            guard reader.isAtEnd, flags & ~Self.timersLeftOut == 0 else {
                throw SnapshotDecodingError.malformed("unexpected bytes after the timers of step '\(setup.name)'",
                                                      offset: reader.offset)
            }
            if flags & Self.timersLeftOut != 0 { timersLeftOut = true }
        }
        if timersLeftOut && rebuildTimers == nil {
            throw TimersNotRebuildable(step: setup.name)
        }
        // Keyed state written as deltas builds on the same step's parts of earlier
        // checkpoints (timers are always written in full).
        var earlier: [Int64: [[UInt8]]] = [:]
        for (id, parts) in restored.earlierParts {
            for part in parts where part.keyGroups.overlaps(setup.keyGroups) {
                var reader = BinaryReader(part.payload)
                earlier[id, default: []].append(try reader.readBytes())
            }
        }
        try backend.restore(from: states, earlier: earlier)
        try backend.finishRestore()
        if let watermark = try timers.restore(from: timerSnapshots, keyGroups: setup.keyGroups, assignment: setup.assignment) {
            timers.restoreWatermark(watermark)
        }
        if timersLeftOut { rebuildTimers?() }
    }
}

/// A checkpoint whose window operator left its timers out (they follow from its windows
/// under the configuration that wrote it) is restored into an operator configured so
/// that it cannot rebuild them.
public struct TimersNotRebuildable: Error, CustomStringConvertible {
    /// The operator's step name.
    public var step: String

    public var description: String {
        "step '\(step)': the checkpoint holds its windows but not their timers, which are rebuilt from the windows only "
            + "for event-time windows with the default trigger (and event-time session windows without allowed lateness); "
            + "restore with the window configuration the checkpoint was written with"
    }
}
