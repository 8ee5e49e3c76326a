import Foundation
import RunnelJSON
import RunnelOperators

/// The collector's dead-letter file: one NDJSON line per rejected event,
/// `{"received_at":…,"category":…,"reason":…,"raw":…}`, with the event's IP address
/// truncated (``IPAddressAnonymizer``) and the raw text cut at
/// ``DeadLetter/maximumRawBytes``.
///
/// Appended with plain writes as events are rejected (rare, and small); flushed to disk by
/// the operating system, and `fsync`ed on ``close()``.
///
/// Thread safety: used on the HTTP server's loop only.
public final class DeadLetterLog {
    private let file: SharedFileOutput
    /// The file's path.
    public let path: String
    /// Lines written.
    public private(set) var written = 0

    /// Opens (creates, or appends to) the file at `path`, creating its directory.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        self.path = path
        file = try SharedFileOutput(path: path, append: true)
    }

    /// Appends one rejected event.
    public func record(raw: String, category: String, reason: String, receivedAtMillis: Int64) throws {
        var raw = IPAddressAnonymizer.anonymizeLine(raw)
        if raw.utf8.count > DeadLetter.maximumRawBytes {
            raw = String(decoding: raw.utf8.prefix(DeadLetter.maximumRawBytes), as: UTF8.self)
        }
        var json = JSONWriter(capacity: 128 + raw.utf8.count)
        json.beginObject()
        json.key("received_at"); json.timestamp(millis: receivedAtMillis)
        json.key("category"); json.string(category)
        json.key("reason"); json.string(reason)
        json.key("raw"); json.string(raw)
        json.endObject()
        json.newline()
        try json.withBytes { try file.append($0) }
        written += 1
    }

    /// Flushes the file to disk.
    public func close() throws {
        try file.sync()
    }
}
