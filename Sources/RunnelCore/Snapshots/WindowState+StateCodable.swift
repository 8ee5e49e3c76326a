/// Snapshot encodings of the window operator's per-key state: windows with their
/// accumulators, trigger state, and sessions. Available when the accumulator type
/// is ``StateCodable``.
extension WindowMap: StateCodable where Value: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        // In place, without copying values out (see `Array.encode(to:)`).
        withEntries { windows, values in
            for i in windows.indices {
                windows[i].encode(to: &writer)
                values[i].encode(to: &writer)
            }
        }
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        for _ in 0..<(try reader.readCount(minimumSize: 2)) {
            let window = try TimeWindow(from: &reader)
            self[window] = try Value(from: &reader)
        }
    }
}

extension TriggerState: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarInt(a)
        writer.writeVarInt(b)
    }

    public init(from reader: inout BinaryReader) throws {
        self.init(a: try reader.readVarInt(), b: try reader.readVarInt())
    }
}

extension SessionSlot: StateCodable where Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        window.encode(to: &writer)
        accumulator.encode(to: &writer)
        writer.writeVarInt(timerAt)
    }

    public init(from reader: inout BinaryReader) throws {
        self.init(window: try TimeWindow(from: &reader), accumulator: try Accumulator(from: &reader), timerAt: try reader.readVarInt())
    }
}

/// The array of the sessions (as `[SessionSlot]` writes it, which earlier checkpoints hold).
extension SessionSlots: StateCodable where Accumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.writeVarUInt(UInt64(count))
        forEach { $0.encode(to: &writer) }
    }

    public init(from reader: inout BinaryReader) throws {
        self.init()
        for _ in 0..<(try reader.readCount()) { append(try SessionSlot(from: &reader)) }
    }
}
