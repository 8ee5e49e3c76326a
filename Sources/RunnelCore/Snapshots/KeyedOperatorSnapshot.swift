/// The checkpoint part of a keyed operator subtask: its keyed state and its timers (with
/// its watermark), both cut by key group.
///
/// Payload: the keyed-state snapshot (``KeyedStateBackend/snapshot()``) and the timer
/// snapshot (``InternalTimerService/snapshot(keyGroups:assignment:)``), each as a
/// length-prefixed byte string.
enum KeyedOperatorSnapshot {
    /// Registers the snapshot of `backend` and `timers` as the operator's checkpoint action.
    /// With `timersFromState`, the operator rebuilds its timers from its keyed state on
    /// restore (see ``restore(setup:backend:timers:rebuildTimers:)``): only the watermark
    /// of the timer service is written.
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
                return writer.bytes
            }
            part.stateEntries = entries
            part.dependsOn = state.dependsOn
            return part
        }
    }

    /// Restores `backend` and `timers` from the step's parts of a restored checkpoint: the
    /// key groups this subtask owns, from whichever earlier subtasks held them, and the
    /// lowest watermark among those subtasks. `rebuildTimers`, if given, is called once the
    /// state is in, to register the timers the state implies (timers found in the
    /// checkpoint, if any, are registered too: registering one twice keeps one).
    static func restore<Key, Namespace>(setup: OperatorSetup, backend: KeyedStateBackend<Key>,
                                        timers: InternalTimerService<Key, Namespace>,
                                        rebuildTimers: (() -> Void)? = nil) throws {
        guard let restored = setup.restored else { return }
        var states: [[UInt8]] = []
        var timerSnapshots: [[UInt8]] = []
        for part in restored.parts where part.keyGroups.overlaps(setup.keyGroups) {
            var reader = BinaryReader(part.payload)
            states.append(try reader.readBytes())
            timerSnapshots.append(try reader.readBytes())
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
        rebuildTimers?()
    }
}
