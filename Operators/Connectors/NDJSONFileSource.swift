import RunnelCore
import RunnelJSON
import Synchronization

/// A bounded source over an NDJSON file, read in parallel splits (Flink's `FileSource`).
///
/// The file is cut into one byte range per subtask at line boundaries (one fast scan,
/// shared by all subtasks, which also numbers the lines). Each subtask reads its range in
/// large chunks and decodes lines in place, without a per-line allocation. A reader's
/// ``Reader/position`` (byte offset and line number of the next line) is what a
/// checkpoint records to replay from.
public struct NDJSONFileSource<Decoder: LineDecoder>: Source, Sendable {
    /// The file.
    public let path: String
    /// Makes one decoder per subtask.
    public let makeDecoder: @Sendable () -> Decoder
    /// Bytes per read.
    public let chunkSize: Int
    private let plans = SplitPlans()

    /// Creates the source.
    public init(path: String, chunkSize: Int = NDJSONFileReader.defaultChunkSize, decoder: @escaping @Sendable () -> Decoder) {
        self.path = path
        self.makeDecoder = decoder
        self.chunkSize = chunkSize
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        let split = try plans.splits(path: path, count: parallelism)[subtask]
        return Reader(file: try NDJSONFileReader(path: path, split: split, chunkSize: chunkSize), decoder: makeDecoder())
    }

    /// Reads and decodes one split.
    public final class Reader: SourceReader {
        let file: NDJSONFileReader
        let decoder: Decoder
        /// Lines read so far (including those the decoder skipped or rejected).
        public private(set) var linesRead = 0

        init(file: NDJSONFileReader, decoder: Decoder) {
            self.file = file
            self.decoder = decoder
        }

        /// Where the next unread line starts.
        public var position: NDJSONPosition { file.position }

        public func read(into output: SourceOutput<Decoder.Output>, limit: Int) throws -> SourceReadStatus {
            let decoder = self.decoder
            let n = try file.readLines(upTo: limit) { line in
                if let record = decoder.decode(line) { output.emit(record) }
            }
            linesRead += n
            return n < limit || file.isFinished ? .finished : .more
        }
    }
}

/// Split plans shared by the subtasks of one source, computed once per parallelism.
final class SplitPlans: Sendable {
    private let cache = Mutex<[Int: [FileSplit]]>([:])

    func splits(path: String, count: Int) throws -> [FileSplit] {
        try cache.withLock { cache in
            if let known = cache[count] { return known }
            let planned = try NDJSONSplitPlanner.plan(path: path, splits: count)
            cache[count] = planned
            return planned
        }
    }
}
