import RunnelJSON

/// Turns one line of an NDJSON file into a record, on one source subtask's thread.
///
/// Decoders are made per subtask (they may hold a parser with reusable buffers). A
/// decoder never throws for bad input: it returns a record that says so (for example a
/// dead-letter case of the output enum), so bad lines never stop the job; it returns
/// `nil` to skip a line silently.
public protocol LineDecoder: AnyObject {
    /// The records produced.
    associatedtype Output
    /// Decodes one line; the line's bytes are valid only during the call and are padded
    /// for ``JSONLineParser``.
    func decode(_ line: NDJSONLine) -> Output?
}
