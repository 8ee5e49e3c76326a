/// Checkpointing an operator subtask's timers (both time domains) and its watermark.
///
/// Layout: the watermark (zigzag varint), the key-group range (lower and upper bound),
/// then for event time and then processing time, per key group of the range: the group's
/// index and a length-prefixed block of timers (count, then time, key and namespace of
/// each). Like keyed state, timers are cut by key group so that they can be restored at
/// another parallelism.
extension InternalTimerService {
    /// The timers of the key groups `keyGroups` (this subtask's) and the current watermark.
    public func snapshot(keyGroups: Range<Int>, assignment: KeyGroupAssignment) throws -> [UInt8] {
        try snapshotLater(keyGroups: keyGroups, assignment: assignment).serialize()
    }

    /// Freezes the timers (copy-on-write by partition, O(partitions)) and returns what
    /// encodes them, which may run on another thread while the task goes on.
    ///
    /// With `includeTimers` false only the watermark is kept and every key group is written
    /// without timers (same layout): for an operator that rebuilds its timers from its own
    /// state on restore, which then pays neither the freeze nor the encoding.
    public func snapshotLater(keyGroups: Range<Int>, assignment: KeyGroupAssignment,
                              includeTimers: Bool = true) throws -> DeferredSnapshot {
        let (keys, namespaces) = try serializers()
        let watermark = currentWatermark
        let frozen = includeTimers ? frozenTimers() : (eventTime: [], processingTime: [])
        return DeferredSnapshot { writer in
            writer.writeVarInt(watermark)
            writer.write(keyGroups.lowerBound)
            writer.write(keyGroups.upperBound)
            typealias Timer = InternalTimer<Key, Namespace>
            // Where a timer's key and namespace sit inside it: both are encoded in place
            // from the frozen tables (copying timers out retained their keys, a cache miss
            // each, which made timers half of the writer's time).
            let keyOffset = MemoryLayout<Timer>.offset(of: \Timer.hashedKey)! + MemoryLayout<HashedKey<Key>>.offset(of: \HashedKey<Key>.key)!
            let namespaceOffset = MemoryLayout<Timer>.offset(of: \Timer.namespace)!
            for timers in [frozen.eventTime, frozen.processingTime] {
                var byGroup = [ContiguousArray<UnsafePointer<Timer>>](repeating: [], count: keyGroups.count)
                for partition in timers {
                    partition.forEachInPlace { timer, _ in
                        let group = assignment.keyGroup(forHash: timer.pointee.hashedKey.hash)
                        if keyGroups.contains(group) { byGroup[group - keyGroups.lowerBound].append(timer) }
                    }
                }
                for group in keyGroups {
                    let list = byGroup[group - keyGroups.lowerBound]
                    writer.write(group)
                    let block = writer.beginLengthPrefixed()
                    writer.writeVarUInt(UInt64(list.count))
                    for timer in list {
                        let raw = UnsafeRawPointer(timer)
                        writer.writeVarInt(timer.pointee.time)
                        keys.encodeInPlace((raw + keyOffset).assumingMemoryBound(to: Key.self), &writer)
                        namespaces.encodeInPlace((raw + namespaceOffset).assumingMemoryBound(to: Namespace.self), &writer)
                    }
                    writer.endLengthPrefixed(block)
                }
            }
            // The frozen tables stay alive until here, so the pointers above stay valid.
            withExtendedLifetime(frozen) {}
        }
    }

    /// Registers the timers of the key groups in `keyGroups` found in `snapshots` (of any
    /// subtasks, at any parallelism) and returns the lowest watermark among them (the
    /// watermark the restored subtask may assume), or nil when there are no snapshots.
    @discardableResult
    public func restore(from snapshots: [[UInt8]], keyGroups: Range<Int>, assignment: KeyGroupAssignment) throws -> Timestamp? {
        let (keys, namespaces) = try serializers()
        var lowest: Timestamp?
        for bytes in snapshots {
            var reader = BinaryReader(bytes)
            let watermark = try reader.readVarInt()
            lowest = min(lowest ?? watermark, watermark)
            let lower: Int = try reader.read()
            let upper: Int = try reader.read()
            guard lower <= upper else { throw SnapshotDecodingError.malformed("key group range \(lower)..<\(upper)", offset: 0) }
            for domain in [TimeDomain.eventTime, .processingTime] {
                for _ in lower..<upper {
                    let group: Int = try reader.read()
                    let block = try reader.readBytes()
                    guard keyGroups.contains(group) else { continue }
                    var timers = BinaryReader(block)
                    let count = try timers.readCount()
                    for _ in 0..<count {
                        let time = try timers.readVarInt()
                        let key = HashedKey(try keys.decode(&timers))
                        let namespace = try namespaces.decode(&timers)
                        guard assignment.keyGroup(forHash: key.hash) == group else {
                            throw SnapshotDecodingError.malformed("a timer's key does not belong to key group \(group)", offset: timers.offset)
                        }
                        switch domain {
                        case .eventTime: registerEventTimeTimer(time, key: key, namespace: namespace)
                        case .processingTime: registerProcessingTimeTimer(time, key: key, namespace: namespace)
                        }
                    }
                }
            }
            guard reader.isAtEnd else { throw SnapshotDecodingError.malformed("bytes after the timers", offset: reader.offset) }
        }
        return lowest
    }

    private func serializers() throws -> (StateSerializer<Key>, StateSerializer<Namespace>) {
        guard let keys = StateSerializer<Key>.ofCodable else {
            throw StateNotSerializable(what: "timer keys", type: String(reflecting: Key.self))
        }
        guard let namespaces = StateSerializer<Namespace>.ofCodable else {
            throw StateNotSerializable(what: "timer namespaces", type: String(reflecting: Namespace.self))
        }
        return (keys, namespaces)
    }
}
