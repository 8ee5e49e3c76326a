import RunnelJSON
#if canImport(Glibc)
import Glibc
#endif

/// Reads one partition of a ``DurableLog`` frame by frame, from an offset, up to what is
/// on stable storage; checks each frame's checksum.
///
/// Thread safety: used by one reader on one thread.
final class LogPartitionCursor {
    let log: DurableLog
    let partition: Int
    /// The offset of the next frame.
    private(set) var offset: Int64
    private var fd: Int32 = -1
    private var segmentBase: Int64 = -1
    private var header = [UInt8](repeating: 0, count: LogFrame.headerSize)

    init(log: DurableLog, partition: Int, offset: Int64) {
        self.log = log
        self.partition = partition
        self.offset = offset
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Whether a frame is ready to read.
    var hasFrame: Bool { offset < log.durableEnd(of: partition) }

    /// Reads the next frame's payload into `buffer` (replacing what it held) and returns its
    /// record count, or nil when nothing more is durable yet.
    /// - Throws: ``DurableLogError`` when the frame is damaged or retention deleted it.
    func next(into buffer: PaddedBuffer) throws -> Int? {
        guard offset < log.durableEnd(of: partition) else { return nil }
        guard let base = log.segmentBase(containing: offset, partition: partition) else {
            throw DurableLogError("read", path: log.directory(of: partition),
                                  detail: "offset \(offset) is older than the log keeps (from \(log.startOffset(of: partition)); deleted by retention)")
        }
        let path = LogSegments.path(log.directory(of: partition), base: base)
        if base != segmentBase {
            if fd >= 0 { Glibc.close(fd) }
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                segmentBase = -1
                throw DurableLogError("open", path: path, code: code)
            }
            segmentBase = base
        }
        let at = offset - base
        let fd = self.fd
        let whole = try header.withUnsafeMutableBytes { raw in
            try LogSegments.readFully(fd, raw.baseAddress!, count: LogFrame.headerSize, at: at, path: path)
        }
        guard whole, let parsed = header.withUnsafeBytes({ LogFrame.parseHeader($0) }) else {
            throw DurableLogError("read", path: path, detail: "no valid frame header at offset \(offset)")
        }
        buffer.removeAll()
        var failure: DurableLogError?
        _ = buffer.appendUninitialized(minimumFree: parsed.payloadLength) { raw in
            do {
                guard try LogSegments.readFully(fd, raw.baseAddress!, count: parsed.payloadLength, at: at + Int64(LogFrame.headerSize), path: path) else {
                    failure = DurableLogError("read", path: path, detail: "frame at offset \(offset) ends early")
                    return 0
                }
            } catch {
                failure = error as? DurableLogError ?? DurableLogError("read", path: path, detail: "\(error)")
                return 0
            }
            return parsed.payloadLength
        }
        if let failure { throw failure }
        guard header.withUnsafeBytes({ LogFrame.matches(parsed, headerBytes: $0, payload: buffer.bytes) }) else {
            throw DurableLogError("read", path: path, detail: "frame at offset \(offset) fails its checksum")
        }
        offset += Int64(LogFrame.headerSize + parsed.payloadLength)
        log.noteReadPosition(offset, partition: partition)
        return parsed.records
    }
}
