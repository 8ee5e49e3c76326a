/// The outcome of `JSONLineParser.parse(_:keys:)`.
///
/// The three cases are kept apart because callers treat them differently: a
/// well-formed non-object is usually a schema problem, malformed text a
/// transport or producer problem.
public enum JSONParseResult: Sendable, Hashable {
    /// One well-formed JSON object; the parser's slots hold the wanted fields.
    case ok
    /// Well-formed JSON whose root is not an object (an array, a string, a number, ...).
    case notAnObject
    /// Not exactly one well-formed JSON document; `message` says what simdjson
    /// (or the trailing-content check) objected to. Building the message is the
    /// only allocation on this path, which is acceptable because it is the rare one.
    case malformed(message: String)
}
