import RunnelCore

/// Event ids in checkpoints (deduplication state is keyed by them): a tag byte, then the
/// UUID's two words or the text.
extension EventIDKey: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        switch self {
        case .uuid(let hi, let lo):
            writer.writeByte(0)
            writer.writeFixed(hi)
            writer.writeFixed(lo)
        case .text(let text):
            writer.writeByte(1)
            writer.writeString(text)
        }
    }

    public init(from reader: inout BinaryReader) throws {
        switch try reader.readByte() {
        case 0: self = .uuid(try reader.readFixed64(), try reader.readFixed64())
        case 1: self = .text(try reader.readString())
        case let tag: throw SnapshotDecodingError.malformed("event id tag \(tag)", offset: reader.offset - 1)
        }
    }
}

/// Deduplication state holds millions of event ids: the checkpoint writer encodes them
/// straight into memory (the same bytes as `encode(to:)`).
extension EventIDKey: RawStateEncodable {
    public func encodeRaw(to target: UnsafeMutableRawPointer, capacity: Int) -> Int? {
        switch self {
        case .uuid(let hi, let lo):
            guard capacity >= 17 else { return nil }
            target.storeBytes(of: 0, as: UInt8.self)
            _ = RawEncoding.fixed(hi, to: target + 1)
            _ = RawEncoding.fixed(lo, to: target + 9)
            return 17
        case .text(let text):
            guard capacity >= 1, let written = text.encodeRaw(to: target + 1, capacity: capacity - 1) else { return nil }
            target.storeBytes(of: 1, as: UInt8.self)
            return 1 + written
        }
    }
}
