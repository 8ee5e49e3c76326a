import RunnelCore
import RunnelJSON

/// Writes records as NDJSON lines to a file (or standard output with path `-`).
///
/// Each subtask encodes into its own buffer with a ``JSONWriter`` and appends it to the
/// shared file in large writes; `finish` flushes and fsyncs. Several sink steps may share
/// one file by sharing the sink value. (Exactly-once, transactional output comes with
/// checkpoints.)
public struct NDJSONFileSink<Element>: Sink, Sendable {
    /// The shared output file.
    public let file: SharedFileOutput
    /// Encodes one record as one JSON object (the writer adds the newline).
    public let encode: @Sendable (Element, inout JSONWriter) -> Void
    /// Buffer size at which a subtask appends to the file.
    public let flushBytes: Int

    /// Creates (truncates) `path` and writes records encoded by `encode`.
    public init(path: String, flushBytes: Int = 1 << 20, encode: @escaping @Sendable (Element, inout JSONWriter) -> Void) throws {
        self.init(file: try SharedFileOutput(path: path), flushBytes: flushBytes, encode: encode)
    }

    /// Writes to an already opened shared file.
    public init(file: SharedFileOutput, flushBytes: Int = 1 << 20, encode: @escaping @Sendable (Element, inout JSONWriter) -> Void) {
        self.file = file
        self.encode = encode
        self.flushBytes = flushBytes
    }

    public func createWriter(subtask: Int, parallelism: Int) throws -> Writer { Writer(sink: self) }

    /// One subtask's buffered writer.
    public final class Writer: SinkWriter {
        let sink: NDJSONFileSink
        var json: JSONWriter
        /// Records written by this subtask.
        public private(set) var written = 0

        init(sink: NDJSONFileSink) {
            self.sink = sink
            self.json = JSONWriter(capacity: sink.flushBytes + 4096)
        }

        public func write(_ value: Element, timestamp: Timestamp) throws {
            sink.encode(value, &json)
            json.newline()
            written += 1
            if json.count >= sink.flushBytes { try flush() }
        }

        public func finish() throws {
            try flush()
            try sink.file.sync()
        }

        /// On cancellation: write out the complete lines buffered so far (best effort).
        public func close() {
            try? flush()
        }

        private func flush() throws {
            guard !json.isEmpty else { return }
            try json.withBytes { try sink.file.append($0) }
            json.removeAll()
        }
    }
}
