import RunnelCore

/// A bounded source over an in-memory array, for tests and examples.
///
/// The array is cut into `parallelism` contiguous slices, one per subtask, so that each
/// split sees its elements in array order (what a file split would see).
public struct CollectionSource<Element: Sendable>: Source {
    /// The elements.
    public let elements: [Element]
    /// Records emitted per read call at most.
    public let chunk: Int

    /// Creates a source over `elements`.
    public init(_ elements: [Element], chunk: Int = 1024) {
        self.elements = elements
        self.chunk = chunk
    }

    public func createReader(subtask: Int, parallelism: Int) throws -> Reader {
        let n = elements.count
        let lo = n * subtask / parallelism
        let hi = n * (subtask + 1) / parallelism
        return Reader(elements: elements[lo..<hi], chunk: chunk)
    }

    /// Reads one slice.
    public final class Reader: SourceReader {
        let elements: ArraySlice<Element>
        var next: Int
        let chunk: Int

        init(elements: ArraySlice<Element>, chunk: Int) {
            self.elements = elements
            self.next = elements.startIndex
            self.chunk = chunk
        }

        public func read(into output: SourceOutput<Element>, limit: Int) throws -> SourceReadStatus {
            let end = min(elements.endIndex, next + min(limit, chunk))
            while next < end {
                output.emit(elements[next])
                next += 1
            }
            return next == elements.endIndex ? .finished : .more
        }
    }
}
