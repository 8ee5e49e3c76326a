import RunnelCore

/// The framing of every file in a checkpoint: a header naming the format, version and
/// kind, the payload, and an XXH3-64 checksum of everything before it.
///
/// ```
/// offset  size  field
///      0     8  magic "RUNNELCK"
///      8     4  format version (little-endian; this code writes 3 and reads 2 and 3)
///     12     4  kind (1 state, 2 manifest)
///     16     8  payload length n (little-endian)
///     24     n  payload (BinaryWriter encoding)
///   24+n     8  XXH3-64 of bytes [0, 24+n) (little-endian)
/// ```
///
/// A file that is shorter or longer than its header says, or whose checksum does not
/// match, is rejected: truncation, bit flips and partial writes are all detected.
public enum CheckpointFile {
    /// The first eight bytes of every checkpoint file.
    public static let magic: [UInt8] = Array("RUNNELCK".utf8)
    /// The format version written.
    /// Version 2 added incremental keyed state (a kind byte on each key-group block,
    /// delta blocks) and the manifest's `dependsOn`; version 1 files are refused.
    /// Version 3 added a flags byte after a keyed operator's timers, which says when the
    /// timers were left out because the operator rebuilds them from its state; a build
    /// that reads only version 2 must refuse such a checkpoint rather than restore it
    /// without timers. Version 2 files are still read (their timers are always there).
    public static let version: UInt32 = 3
    /// The oldest format version read.
    public static let oldestReadableVersion: UInt32 = 2
    /// Bytes before the payload.
    public static let headerSize = 24
    /// Bytes after the payload.
    public static let trailerSize = 8

    /// What a file holds.
    public enum Kind: UInt32, Sendable {
        /// State of an operator subtask or a source.
        case state = 1
        /// The checkpoint's manifest.
        case manifest = 2
    }

    /// The framed bytes of a file holding `payload`.
    public static func encode(kind: Kind, payload: [UInt8]) -> [UInt8] {
        let (header, trailer) = frame(kind: kind, payload: payload)
        return header + payload + trailer
    }

    /// The header and trailer that frame `payload` (written around it, so that a large
    /// payload is never copied into a joined buffer).
    public static func frame(kind: Kind, payload: [UInt8]) -> (header: [UInt8], trailer: [UInt8]) {
        var writer = BinaryWriter(capacity: headerSize)
        for byte in magic { writer.writeByte(byte) }
        writer.writeFixed(version)
        writer.writeFixed(kind.rawValue)
        writer.writeFixed(UInt64(payload.count))
        let header = writer.bytes
        let checksum = header.withUnsafeBytes { h in
            payload.withUnsafeBytes { p in XXHash64.hash(pieces: [h, p]) }
        }
        return (header, withUnsafeBytes(of: checksum.littleEndian) { Array($0) })
    }

    /// The payload of a framed file, after checking its magic, version, kind, length and
    /// checksum.
    public static func decode(_ bytes: [UInt8], expecting kind: Kind) throws(CheckpointFileError) -> [UInt8] {
        guard bytes.count >= headerSize + trailerSize else { throw .truncated(size: bytes.count) }
        guard Array(bytes[0..<8]) == magic else { throw .notACheckpointFile }
        var reader = BinaryReader(Array(bytes[8..<headerSize]))
        // The header slice is 16 bytes, so these reads cannot fail.
        let version = (try? reader.readFixed32()) ?? 0
        let rawKind = (try? reader.readFixed32()) ?? 0
        let length = (try? reader.readFixed64()) ?? 0
        guard (Self.oldestReadableVersion...Self.version).contains(version) else { throw .unsupportedVersion(version) }
        guard UInt64(bytes.count - headerSize - trailerSize) == length else {
            throw length > UInt64(bytes.count) ? .truncated(size: bytes.count) : .lengthMismatch(expected: length, actual: bytes.count)
        }
        let end = headerSize + Int(length)
        var stored: UInt64 = 0
        for i in (0..<8).reversed() { stored = stored << 8 | UInt64(bytes[end + i]) }
        let actual = bytes.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<end])) }
        guard stored == actual else { throw .checksumMismatch }
        guard rawKind == kind.rawValue else { throw .wrongKind(rawKind) }
        return Array(bytes[headerSize..<end])
    }
}

/// Why a checkpoint file was rejected.
public enum CheckpointFileError: Error, Equatable, CustomStringConvertible {
    /// Shorter than its header and trailer, or than its header says.
    case truncated(size: Int)
    /// The magic bytes are wrong.
    case notACheckpointFile
    /// Written by a format version this code does not read.
    case unsupportedVersion(UInt32)
    /// Longer than its header says.
    case lengthMismatch(expected: UInt64, actual: Int)
    /// The content does not match its checksum.
    case checksumMismatch
    /// Another kind of file than expected.
    case wrongKind(UInt32)

    public var description: String {
        switch self {
        case .truncated(let size): return "truncated (\(size) bytes)"
        case .notACheckpointFile: return "not a checkpoint file (bad magic)"
        case .unsupportedVersion(let v): return "format version \(v) is not supported (this build reads \(CheckpointFile.oldestReadableVersion) to \(CheckpointFile.version))"
        case .lengthMismatch(let expected, let actual): return "length mismatch (header says \(expected) payload bytes, file has \(actual) bytes)"
        case .checksumMismatch: return "checksum mismatch (the file is corrupt)"
        case .wrongKind(let kind): return "unexpected file kind \(kind)"
        }
    }
}
