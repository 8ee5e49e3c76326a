import RunnelJSON
import RunnelOperators

/// Decodes the event lines the collector stored in its log, on one source subtask of the
/// live job (with their referrers, for sessions' entry referrers).
///
/// The collector stored only lines that this same decoder (and the schema validator)
/// accepted, so every line decodes; one that does not (a log written by another version
/// with other rules) is skipped and counted in ``skipped``.
public final class StoredEventDecoder: LineDecoder {
    private let decoder = CreatorEventDecoder(keepsReferrer: true)
    /// Lines that did not decode.
    public private(set) var skipped = 0

    /// Creates a decoder.
    public init() {}

    public func decode(_ line: NDJSONLine) -> CreatorEvent? {
        if case .valid(let event) = decoder.decode(line.bytes) { return event }
        skipped += 1
        return nil
    }
}
