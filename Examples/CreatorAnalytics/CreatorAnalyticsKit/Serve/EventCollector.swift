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
/// together to a ``CollectedEventStore`` (in `serve`, the durable log the job reads), with
/// their IP addresses truncated, and once it has kept them the answer is 202 with the counts
/// and an error per rejected event. Rejections are counted by kind (``rejectedByCategory``)
/// and, with a ``DeadLetterLog``, kept with their reasons (IP addresses truncated). When the
/// job cannot keep up (the store has no room for the batch) or the store fails, nothing is
/// taken and the answer is 503 with `Retry-After`: the client sends the batch again, and
/// the job's deduplication drops whatever of it did arrive.
///
/// Thread safety: used on the HTTP server's loop only.
public final class EventCollector {
    /// Where accepted events go.
    public let store: any CollectedEventStore
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

    /// Requests whose events the store failed to keep (answered 503).
    public private(set) var storeFailures = 0

    /// Creates a collector feeding `store`.
    public init(store: any CollectedEventStore, maxDecompressedBytes: Int = 64 << 20, deadLetters: DeadLetterLog? = nil) {
        self.store = store
        self.maxDecompressedBytes = maxDecompressedBytes
        self.deadLetters = deadLetters
    }

    /// Answers one request: `respond` is called once, at once or when the store has kept
    /// the events.
    public func handle(_ request: HTTPRequest, respond: @escaping (HTTPResponse) -> Void) {
        switch parse(request) {
        case .failure(let error):
            respond(error.response)
        case .success(let lines):
            ingest(lines) { outcome in respond(Self.response(outcome)) }
        }
    }

    /// The event lines of a request, or the error response.
    private func parse(_ request: HTTPRequest) -> Result<[String], ErrorResponse> {
        guard request.method == "POST" else { return .failure(.init(.error(405, "use POST"))) }
        var body = request.body
        switch request.header("Content-Encoding")?.lowercased() {
        case nil, "identity":
            break
        case "gzip":
            do {
                body = try GzipDecoder.decompress(request.body, limit: maxDecompressedBytes)
            } catch {
                switch error {
                case .invalid(let why): return .failure(.init(.error(400, "bad gzip body: \(why)")))
                case .tooLarge(let limit): return .failure(.init(.error(413, "body larger than \(limit) bytes once decompressed")))
                }
            }
        case let other?:
            return .failure(.init(.error(415, "Content-Encoding \(other) is not supported (gzip is)")))
        }
        let type = (request.header("Content-Type") ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let lines: [String]
        switch type {
        case "application/x-ndjson":
            lines = Self.lines(of: body)
        case "application/json":
            guard let array = try? JSONSerialization.jsonObject(with: Data(body)) as? [Any] else {
                return .failure(.init(.error(400, "the body must be a JSON array of events")))
            }
            lines = array.map { element in
                (try? JSONSerialization.data(withJSONObject: element, options: [.fragmentsAllowed]))
                    .map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
        default:
            return .failure(.init(.error(415, "Content-Type must be application/x-ndjson or application/json")))
        }
        guard !lines.isEmpty else { return .failure(.init(.error(400, "no events in the body"))) }
        return .success(lines)
    }

    /// The non-blank lines of an NDJSON body (blank: only spaces, tabs and a carriage return).
    static func lines(of body: [UInt8]) -> [String] {
        var lines: [String] = []
        body.withUnsafeBytes { bytes in
            LineSplitter.forEachLine(in: bytes) { line in
                if line.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D }) {
                    lines.append(String(decoding: line, as: UTF8.self))
                }
            }
        }
        return lines
    }

    /// An error answer (a type, so that it can be a `Result`'s failure).
    private struct ErrorResponse: Error {
        var response: HTTPResponse
        init(_ response: HTTPResponse) { self.response = response }
    }

    /// The answer to a batch.
    static func response(_ outcome: Outcome) -> HTTPResponse {
        switch outcome {
        case .saturated, .notStored:
            var why = "the pipeline is saturated; retry later"
            if case .notStored(let failure) = outcome { why = failure }
            var response = HTTPResponse.error(503, why)
            response.headers.append(("Retry-After", "1"))
            return response
        case .ingested(let ingested):
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

    /// What became of a batch: taken (with its rejections), or refused whole.
    public enum Outcome: Sendable {
        /// The valid events were stored.
        case ingested(Ingested)
        /// The store had no room: nothing was taken.
        case saturated
        /// The store failed: nothing was taken.
        case notStored(String)
    }

    /// Validates `lines` (one event each) and stores the valid events together (IP addresses
    /// truncated); the rejected ones are counted and dead-lettered once the batch is taken.
    /// When the store has no room or fails, nothing is taken (and nothing counted).
    /// `completion` runs once, on the collector's loop.
    public func ingest(_ lines: [String], completion: @escaping (Outcome) -> Void) {
        guard store.hasRoom(for: lines.count) else {
            saturated += 1
            completion(.saturated)
            return
        }
        let decodes = store.takesDecodedEvents
        var events: [CreatorEvent] = []
        var stored: [UInt8] = []
        var count = 0
        var errors: [(index: Int, reason: String, category: String, line: String)] = []
        for (index, line) in lines.enumerated() {
            padded.removeAll()
            padded.append(line)
            if let violation = validator.validate(padded.bytes) {
                // The decoder's wording where it rejects the line too (replay's reasons), else
                // the validator's; the validator names the kind for counting.
                var reason = violation.description
                if case .invalid(let why) = decoder.decode(padded.bytes) { reason = why }
                errors.append((index, reason, violation.category, line))
                continue
            }
            // What the schema accepts, the decoder accepts (a test checks this on generated
            // traffic with its malformed share): a store that decodes nothing needs no decoding.
            if decodes {
                guard case .valid(let event) = decoder.decode(padded.bytes) else {
                    errors.append((index, "invalid event", "invalid", line))
                    continue
                }
                events.append(event)
            }
            IPAddressAnonymizer.appendAnonymizedEventLine(line, to: &stored)
            stored.append(UInt8(ascii: "\n"))
            count += 1
        }
        let finish = { [self] in
            accepted += count
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
            completion(.ingested(Ingested(accepted: count, rejections: errors.map { Rejection(index: $0.index, reason: $0.reason) })))
        }
        guard count > 0 else { return finish() }
        store.store(count: count, events: events, lines: stored) { [self] failure in
            if let failure {
                storeFailures += 1
                completion(.notStored(failure))
            } else {
                finish()
            }
        }
    }
}
