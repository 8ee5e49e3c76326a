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
