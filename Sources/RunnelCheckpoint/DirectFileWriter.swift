#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Writes a new file with `O_DIRECT`: the bytes go from an aligned buffer to the device,
/// bypassing the page cache.
///
/// Why: a checkpoint writes tens of megabytes every second. Through the page cache each
/// byte is copied into freshly allocated cache pages and written back later, and on the
/// development VMs that copy alone cost about as much CPU as encoding the state — CPU
/// taken from the job's tasks on a saturated machine. With `O_DIRECT` the kernel copies
/// nothing; the writer thread waits for the device instead of computing.
///
/// `O_DIRECT` wants block-aligned buffers, offsets and lengths: the pieces are copied into
/// an aligned staging buffer written a chunk at a time; the last chunk is padded to a
/// whole block and the file then cut to its exact length. Where the file system refuses
/// `O_DIRECT` (tmpfs, some FUSE mounts) the caller falls back to plain writes.
enum DirectFileWriter {
    /// The alignment of buffers, offsets and lengths (the largest logical block size in
    /// common use; a multiple of every smaller one).
    static let alignment = 4096
    /// Bytes written per `write` call.
    static let chunkSize = 4 << 20

    /// `O_DIRECT`, which Glibc's Swift module leaves out (it is behind `_GNU_SOURCE`); the
    /// value is per architecture (Linux's asm/fcntl.h).
    #if arch(arm64) || arch(arm)
    static let directFlag: Int32 = 0o200000
    #else
    static let directFlag: Int32 = 0o40000
    #endif

    /// Staging buffers, kept between checkpoints so that their pages stay mapped.
    private static let pool = Mutex<[Buffer]>([])

    /// An aligned staging buffer. `@unchecked Sendable`: used by one writer at a time, handed
    /// over through the pool's lock.
    final class Buffer: @unchecked Sendable {
        let base: UnsafeMutableRawPointer
        init() {
            var pointer: UnsafeMutableRawPointer?
            precondition(posix_memalign(&pointer, DirectFileWriter.alignment, DirectFileWriter.chunkSize) == 0, "posix_memalign failed")
            base = pointer!
        }
        deinit { free(base) }
    }

    /// Writes `pieces` (together `total` bytes) to a new file at `path` and flushes it.
    /// - Returns: false, having created nothing, when the file system does not support
    ///   `O_DIRECT`.
    static func writeNew(_ path: String, pieces: [[UInt8]], total: Int) throws(CheckpointIOError) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | directFlag, 0o644)
        if fd < 0 {
            if errno == EINVAL { return false }
            throw CheckpointIOError(operation: "create", path: path, code: errno)
        }
        let buffer = pool.withLock { $0.popLast() } ?? Buffer()
        defer { pool.withLock { if $0.count < 2 { $0.append(buffer) } } }
        try DurableFiles.complete(fd, path: path) { () throws(CheckpointIOError) in
            var filled = 0
            func flush(_ length: Int) throws(CheckpointIOError) {
                var done = 0
                while done < length {
                    let n = write(fd, buffer.base + done, length - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw CheckpointIOError(operation: "write", path: path, code: errno)
                    }
                    done += n
                }
            }
            for piece in pieces {
                var offset = 0
                while offset < piece.count {
                    let n = min(chunkSize - filled, piece.count - offset)
                    piece.withUnsafeBytes { raw in (buffer.base + filled).copyMemory(from: raw.baseAddress! + offset, byteCount: n) }
                    filled += n
                    offset += n
                    if filled == chunkSize {
                        try flush(chunkSize)
                        filled = 0
                    }
                }
            }
            if filled > 0 {
                // The last block padded with zeros, then the file cut back to its length.
                let padded = (filled + alignment - 1) / alignment * alignment
                (buffer.base + filled).initializeMemory(as: UInt8.self, repeating: 0, count: padded - filled)
                try flush(padded)
                guard ftruncate(fd, off_t(total)) == 0 else { throw CheckpointIOError(operation: "ftruncate", path: path, code: errno) }
            }
        }
        return true
    }
}
