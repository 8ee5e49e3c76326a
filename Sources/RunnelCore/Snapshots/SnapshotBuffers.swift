import Synchronization

/// Byte buffers recycled between checkpoints.
///
/// A checkpoint encodes tens of megabytes every interval. Freshly allocated buffers of that
/// size cost page faults on every page and copies each time they grow (the kernel zeroing
/// pages was the largest single cost of the checkpoint writer in profiles); buffers taken
/// from here keep their pages and capacity. The checkpoint writer gives each payload back
/// once it is on disk.
public enum SnapshotBuffers {
    private static let pool = Mutex<[[UInt8]]>([])
    /// Buffers kept at most (one per part of a typical job).
    private static let keep = 16

    /// A writer appending to a recycled buffer (or a new one).
    public static func writer() -> BinaryWriter {
        guard let buffer = pool.withLock({ $0.popLast() }) else { return BinaryWriter(capacity: 64 * 1024) }
        // Handed over, not copied: the writer must hold the only reference to reuse it.
        return BinaryWriter(reusing: consume buffer)
    }

    /// Gives a buffer back for later snapshots; small ones are not worth keeping.
    public static func recycle(_ buffer: consuming [UInt8]) {
        guard buffer.capacity >= 64 * 1024 else { return }
        let buffer = buffer
        pool.withLock { pool in
            if pool.count < keep { pool.append(buffer) }
        }
    }
}
