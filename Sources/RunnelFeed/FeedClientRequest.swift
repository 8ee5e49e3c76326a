import Foundation

/// A control message from a feed client: `{"op":"subscribe","topics":[…]}` or
/// `{"op":"unsubscribe","topics":[…]}`.
///
/// Parsed with Foundation's JSON reader: these messages are rare and tiny, unlike the event
/// stream, which goes through simdjson.
public struct FeedClientRequest: Equatable, Sendable {
    /// What the client asks.
    public enum Operation: String, Sendable {
        case subscribe, unsubscribe
    }

    /// The operation.
    public var operation: Operation
    /// The topic names, as sent.
    public var topics: [String]

    /// Reads a message; throws a description of what is wrong with it.
    public init(parsing text: String) throws(FeedProtocolError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw FeedProtocolError("expected a JSON object")
        }
        guard let op = object["op"] as? String, let operation = Operation(rawValue: op) else {
            throw FeedProtocolError("op must be \"subscribe\" or \"unsubscribe\"")
        }
        guard let topics = object["topics"] as? [String], !topics.isEmpty else {
            throw FeedProtocolError("topics must be a non-empty array of strings")
        }
        self.operation = operation
        self.topics = topics
    }
}

/// A control message the feed cannot act on.
public struct FeedProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}
