import Foundation
import RunnelHTTP
import RunnelHTTPServer
import RunnelJSON
import RunnelOperators
import RunnelRuntime

/// `POST /v1/events`: events as NDJSON (`application/x-ndjson`) or a JSON array
/// (`application/json`), optionally gzip-compressed (`Content-Encoding: gzip`). Each event is
/// validated as the replay job validates lines and then against the schema's types, allowed
/// values and formats (``CreatorEventValidator``); valid ones enter the live job's queue
/// together, and the answer is 202 with the counts and an error per rejected event.
/// Rejections are counted by kind (``rejectedByCategory``) and, with a ``DeadLetterLog``,
/// kept with their reasons (IP addresses truncated). When the job cannot keep up (its queue has no room for the
/// batch), nothing is taken and the answer is 503 with `Retry-After`.
///
/// Thread safety: used on the HTTP server's loop only.
public final class EventCollector {
    private let queue: EventQueue<CreatorEvent>
    private let decoder = CreatorEventDecoder()
    private let validator = CreatorEventValidator()
    /// Each line, padded once for the parser, for both the decoder and the validator.
    private let padded = PaddedBuffer(capacity: 4096)
    /// Events accepted and rejected so far.
    public private(set) var accepted = 0
    public private(set) var rejected = 0
    /// Rejected events by ``CreatorEventValidator/Violation/category`` (`missing:post_id`,
    /// `type:amount`, `malformed`, …).
    public private(set) var rejectedByCategory: [String: Int] = [:]
    /// Requests refused with 503.
    public private(set) var saturated = 0
    /// The largest body accepted once decompressed (gzip), against bodies that expand hugely.
    public let maxDecompressedBytes: Int

    /// Where rejected events are kept, with their reasons; nil keeps none.
    public let deadLetters: DeadLetterLog?
    /// Dead letters that could not be written (the file's errors are counted, not fatal).
    public private(set) var deadLetterFailures = 0

    /// Creates a collector feeding `queue`.
    public init(queue: EventQueue<CreatorEvent>, maxDecompressedBytes: Int = 64 << 20, deadLetters: DeadLetterLog? = nil) {
        self.queue = queue
        self.maxDecompressedBytes = maxDecompressedBytes
        self.deadLetters = deadLetters
    }

    /// Answers one request.
    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard request.method == "POST" else { return .error(405, "use POST") }
        var body = request.body
        switch request.header("Content-Encoding")?.lowercased() {
        case nil, "identity":
            break
        case "gzip":
            do {
                body = try GzipDecoder.decompress(request.body, limit: maxDecompressedBytes)
            } catch {
                switch error {
                case .invalid(let why): return .error(400, "bad gzip body: \(why)")
                case .tooLarge(let limit): return .error(413, "body larger than \(limit) bytes once decompressed")
                }
            }
        case let other?:
            return .error(415, "Content-Encoding \(other) is not supported (gzip is)")
        }
        let type = (request.header("Content-Type") ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let lines: [String]
        switch type {
        case "application/x-ndjson":
            lines = body.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
                .filter { !$0.allSatisfy(\.isWhitespace) }
        case "application/json":
            guard let array = try? JSONSerialization.jsonObject(with: Data(body)) as? [Any] else {
                return .error(400, "the body must be a JSON array of events")
            }
            lines = array.map { element in
                (try? JSONSerialization.data(withJSONObject: element, options: [.fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
        default:
            return .error(415, "Content-Type must be application/x-ndjson or application/json")
        }
        guard !lines.isEmpty else { return .error(400, "no events in the body") }
        guard let ingested = ingest(lines) else {
            var response = HTTPResponse.error(503, "the pipeline is saturated; retry later")
            response.headers.append(("Retry-After", "1"))
            return response
        }
        let errors = ingested.rejections
        var json = JSONWriter(capacity: 64 + errors.count * 64)
        json.beginObject()
        json.key("accepted")
        json.int(ingested.accepted)
        json.key("rejected")
        json.int(errors.count)
        json.key("errors")
        json.beginArray()
        for error in errors {
            json.beginObject()
            json.key("index")
            json.int(error.index)
            json.key("error")
            json.string(error.reason)
            json.endObject()
        }
        json.endArray()
        json.endObject()
        return .json(202, json.withBytes { String(decoding: $0, as: UTF8.self) })
    }

    /// One rejected line of a batch.
    public struct Rejection: Sendable {
        /// Its index in the batch.
        public var index: Int
        /// Why, for the client.
        public var reason: String
    }

    /// What became of a batch.
    public struct Ingested: Sendable {
        /// Events that entered the job's queue.
        public var accepted: Int
        /// The lines rejected, in order.
        public var rejections: [Rejection]
    }

    /// Validates `lines` (one event each) and offers the valid events to the job's queue
    /// together; the rejected ones are counted and dead-lettered. Nil when the queue has no
    /// room for the batch: then nothing is taken (and nothing counted).
    public func ingest(_ lines: [String]) -> Ingested? {
        var events: [CreatorEvent] = []
        var errors: [(index: Int, reason: String, category: String, line: String)] = []
        for (index, line) in lines.enumerated() {
            padded.removeAll()
            padded.append(line)
            switch decoder.decode(padded.bytes) {
            case .valid(let event):
                if let violation = validator.validate(padded.bytes) {
                    errors.append((index, violation.description, violation.category, line))
                } else {
                    events.append(event)
                }
            case .invalid(let reason):
                // The decoder's reason for the client; the validator names the kind for counting.
                errors.append((index, reason, validator.validate(padded.bytes)?.category ?? "invalid", line))
            }
        }
        guard events.isEmpty || queue.offer(events) else {
            saturated += 1
            return nil
        }
        accepted += events.count
        rejected += errors.count
        let now = WallClock.nowMilliseconds()
        for error in errors {
            rejectedByCategory[error.category, default: 0] += 1
            do {
                try deadLetters?.record(raw: error.line, category: error.category, reason: error.reason, receivedAtMillis: now)
            } catch {
                deadLetterFailures += 1
            }
        }
        return Ingested(accepted: events.count, rejections: errors.map { Rejection(index: $0.index, reason: $0.reason) })
    }
}
