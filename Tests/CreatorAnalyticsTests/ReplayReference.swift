import CreatorAnalyticsKit
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

// A deliberately simple, sequential model of the `creator-analytics replay` contract, used
// as the oracle of the end-to-end tests. It shares no code with the job: lines are split
// by hand, JSON is parsed with Foundation's JSONSerialization, timestamps are parsed and
// formatted with plain calendar arithmetic written here.
//
// Two ways to evaluate decoded input:
// - batch (`watermarkBlockLines == nil`): the contract as stated, no watermark; nothing is
//   ever late, sessions are "sort each key's events, split at gaps of 30:00.000 or more".
// - streaming (`watermarkBlockLines == 4096`): models the job at parallelism 1 exactly, as
//   the source emits its watermark (max timestamp seen − bound − 1) after each read of up
//   to `StreamTask.recordsPerStep` (4096) lines of its one split. Windows whose last
//   millisecond is at or before the watermark have fired; events for them are late. Dedup
//   entries expire once the watermark is an hour past the first copy's timestamp.

/// Namespace of the reference model and the helpers the end-to-end tests share.
enum ReplayRef {
    static let eventNames: Set<String> = [
        "user_registered", "user_logged_in", "post_viewed", "post_published",
        "comment_submitted", "creator_subscribed", "payment_succeeded",
    ]
    static let requiredFields: [String: [String]] = [
        "user_registered": ["user_id"],
        "user_logged_in": ["user_id"],
        "post_viewed": ["post_id", "creator_id"],
        "post_published": ["user_id", "post_id"],
        "comment_submitted": ["user_id", "post_id", "comment_id"],
        "creator_subscribed": ["subscriber_id", "creator_id"],
        "payment_succeeded": ["user_id", "creator_id", "amount", "currency"],
    ]
    /// Id fields: a string, or an integer taken as its decimal digits (the job normalizes
    /// them the same way; other types are rejected by the job, see `fieldTypeProblem`).
    static let idFields = ["user_id", "session_id", "post_id", "creator_id", "subscriber_id", "comment_id"]

    /// The job's step of source reads (`StreamTask.recordsPerStep`): a watermark follows each.
    static let sourceLinesPerRead = 4096

    // MARK: Model types

    struct Event {
        var line: Int
        var eventId: String
        var name: String
        var timestamp: Int64
        var userId: String?
        var sessionId: String?
        var postId: String?
        var creatorId: String?
    }

    struct DeadLetter: Hashable, CustomStringConvertible {
        var line: Int
        var reason: String
        var raw: String
        var description: String { "#\(line) [\(reason)] \(raw.prefix(80))" }
    }

    enum Outcome {
        case event(Event)
        case invalid(reason: String)
    }

    /// The input split into lines and each line validated.
    struct Decoded {
        var lines: [String]
        var outcomes: [Outcome]
        var deadLetters: [DeadLetter] {
            outcomes.enumerated().compactMap { i, o in
                if case .invalid(let r) = o { return DeadLetter(line: i + 1, reason: r, raw: lines[i]) }
                return nil
            }
        }
    }

    struct Options {
        var outOfOrdernessMillis: Int64 = 5_000
        var windowMillis: Int64 = 60_000
        var gapMillis: Int64 = 30 * 60_000
        var dedupTTLMillis: Int64 = 3_600_000
        /// nil: batch semantics (no watermark before the end). Otherwise the number of lines
        /// after which the (single) source split emits its watermark.
        var watermarkBlockLines: Int? = nil
    }

    struct Expected {
        var linesRead = 0
        var valid = 0
        var invalid = 0
        var duplicates = 0
        var lateViews = 0
        var lateSessions = 0
        var late: Int { lateViews + lateSessions }
        /// Normalized result lines (see `normalize`), sorted.
        var records: [String] = []
        var deadLetters: [DeadLetter] = []
        /// Valid events that survived deduplication, in input order.
        var acceptedEvents: [Event] = []
        var resultsWritten: Int { records.count }
    }

    // MARK: Lines

    /// Splits NDJSON bytes into lines: `\n` terminates a line, one `\r` before it is dropped,
    /// a last line without `\n` still counts, and nothing follows a final `\n`.
    static func splitLines(_ data: Data) -> [String] {
        var lines: [String] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            var start = 0
            while start < raw.count {
                // memchr keeps this fast in debug builds, where a Swift byte loop is not.
                let hit = memchr(base + start, 0x0A, raw.count - start)
                let end = hit.map { base.distance(to: UnsafeRawPointer($0)) } ?? raw.count
                var stop = end
                if stop > start && raw[stop - 1] == 0x0D { stop -= 1 }
                lines.append(String(decoding: UnsafeRawBufferPointer(rebasing: raw[start..<stop]), as: UTF8.self))
                start = end + 1
            }
        }
        return lines
    }

    // MARK: Validation

    static func decode(_ data: Data) -> Decoded {
        let lines = splitLines(data)
        return Decoded(lines: lines, outcomes: lines.enumerated().map { validate($1, line: $0 + 1) })
    }

    /// Validates one line (without its terminator). Reasons use the job's wording; checks
    /// run in the job's order (event_id, event_name, timestamp, field types, required fields).
    static func validate(_ text: String, line: Int) -> Outcome {
        if text.isEmpty { return .invalid(reason: "empty line") }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) else {
            return .invalid(reason: "malformed JSON")
        }
        guard let object = parsed as? [String: Any] else { return .invalid(reason: "not a JSON object") }
        func present(_ key: String) -> Any? {
            guard let v = object[key], !(v is NSNull) else { return nil }
            return v
        }

        guard let idValue = present("event_id") else { return .invalid(reason: "missing event_id") }
        guard let eventId = idValue as? String, !eventId.isEmpty else {
            return .invalid(reason: "event_id must be a non-empty string")
        }
        guard let nameValue = present("event_name") else { return .invalid(reason: "missing event_name") }
        guard let name = nameValue as? String else { return .invalid(reason: "event_name must be a string") }
        guard eventNames.contains(name) else { return .invalid(reason: "unknown event_name \"\(name)\"") }
        guard let tsValue = present("timestamp") else { return .invalid(reason: "missing timestamp") }
        guard let tsText = tsValue as? String, let timestamp = parseTimestamp(tsText) else {
            return .invalid(reason: "invalid timestamp")
        }
        for field in requiredFields[name]! where present(field) == nil {
            return .invalid(reason: "missing required field \(field) for \(name)")
        }
        return .event(Event(line: line, eventId: eventId, name: name, timestamp: timestamp,
                            userId: idString(present("user_id")), sessionId: idString(present("session_id")),
                            postId: idString(present("post_id")), creatorId: idString(present("creator_id"))))
    }

    /// Not applied: the contract checks presence only, and a wrongly typed field just carries
    /// no value (kept to document the decoder's typing rules).
    static func fieldTypeProblem(_ object: [String: Any]) -> String? {
        for field in idFields {
            guard let v = object[field], !(v is NSNull) else { continue }
            if idString(v) == nil { return "field \(field) must be a string or an integer" }
        }
        if let v = object["amount"], !(v is NSNull) {
            guard let n = v as? NSNumber, numberKind(n) != "bool" else { return "field amount must be a number" }
        }
        if let v = object["currency"], !(v is NSNull), !(v is String) { return "field currency must be a string" }
        return nil
    }

    static func numberKind(_ n: NSNumber) -> String {
        switch String(cString: n.objCType) {
        case "c", "B": return "bool"
        case "f", "d": return "double"
        default: return "integer"
        }
    }

    static func idString(_ value: Any?) -> String? {
        guard let value else { return nil }
        if let s = value as? String { return s }
        if let n = value as? NSNumber, numberKind(n) == "integer" { return n.stringValue }
        if let n = value as? NSNumber, numberKind(n) == "bool" { return n.boolValue ? "true" : "false" }
        return nil
    }

    /// Reasons grouped into categories, so that wording may differ but the kind of fault may not.
    static func category(_ reason: String) -> String {
        if reason == "empty line" { return "empty" }
        if reason.hasPrefix("malformed") { return "malformed" }
        if reason.contains("not a JSON object") { return "not-object" }
        if reason.hasPrefix("missing required field ") {
            return "required:" + (reason.dropFirst("missing required field ".count).split(separator: " ").first.map(String.init) ?? "?")
        }
        if reason.contains("event_id") { return "event_id" }
        if reason.contains("event_name") { return "event_name" }
        if reason.contains("timestamp") { return "timestamp" }
        if reason.contains("must be") { return "field-type" }
        return "other:" + reason
    }

    // MARK: Timestamps

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// Days from 1970-01-01 to January 1st of `year` (years 1...9999).
    static func daysBeforeYear(_ year: Int) -> Int64 {
        func leapsThrough(_ y: Int) -> Int { y / 4 - y / 100 + y / 400 }  // leap years in 1...y
        return Int64(365 * (year - 1970) + leapsThrough(year - 1) - leapsThrough(1969))
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` in UTC to epoch milliseconds (fraction truncated), or nil.
    static func parseTimestamp(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count == 20 || (22...30).contains(b.count) else { return nil }
        func sep(_ i: Int, _ c: Character) -> Bool { b[i] == c.asciiValue! }
        guard sep(4, "-"), sep(7, "-"), sep(10, "T"), sep(13, ":"), sep(16, ":"), sep(b.count - 1, "Z") else { return nil }
        func number(_ from: Int, _ length: Int) -> Int? {
            var v = 0
            for i in from..<(from + length) {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
              let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2) else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
              hour <= 23, minute <= 59, second <= 59 else { return nil }
        var millis = 0
        if b.count > 20 {
            guard sep(19, "."), let _ = number(20, b.count - 21) else { return nil }
            let digits = Array(b[20..<(b.count - 1)]) + [0x30, 0x30, 0x30]  // pad, then keep three
            millis = (Int(digits[0]) - 48) * 100 + (Int(digits[1]) - 48) * 10 + (Int(digits[2]) - 48)
        }
        var days = daysBeforeYear(year)
        for m in 1..<month { days += Int64(daysIn(month: m, year: year)) }
        days += Int64(day - 1)
        return ((days * 24 + Int64(hour)) * 60 + Int64(minute)) * 60_000 + Int64(second) * 1000 + Int64(millis)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }

    /// Epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func formatTimestamp(_ millis: Int64) -> String {
        let days = floorDiv(millis, 86_400_000)
        var msOfDay = Int(millis - days * 86_400_000)
        var year = 1970 + Int(Double(days) / 365.2425)
        while daysBeforeYear(year) > days { year -= 1 }
        while daysBeforeYear(year + 1) <= days { year += 1 }
        var dayOfYear = Int(days - daysBeforeYear(year))
        var month = 1
        while dayOfYear >= daysIn(month: month, year: year) {
            dayOfYear -= daysIn(month: month, year: year)
            month += 1
        }
        let ms = msOfDay % 1000; msOfDay /= 1000
        let s = msOfDay % 60; msOfDay /= 60
        let m = msOfDay % 60
        let h = msOfDay / 60
        func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(dayOfYear + 1, 2))T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }

    // MARK: Normalized records

    static func postViewsKey(start: Int64, end: Int64, post: String, creator: String, views: Int, viewers: Int) -> String {
        "post_views|\(formatTimestamp(start))|\(formatTimestamp(end))|\(post)|\(creator)|views=\(views)|unique=\(viewers)"
    }

    static func sessionKey(key: String, start: Int64, end: Int64, events: Int, views: Int, posts: Int) -> String {
        "session|\(key)|\(formatTimestamp(start))|\(formatTimestamp(end))|ms=\(end - start)|events=\(events)|views=\(views)|posts=\(posts)"
    }

    /// One output line of the job in the same normalized form, or a string starting with
    /// `INVALID` that names what is wrong (never equal to an expected record).
    static func normalize(outputLine line: String) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
            return "INVALID JSON: \(line)"
        }
        func str(_ k: String) -> String? { object[k] as? String }
        func int(_ k: String) -> Int? {
            guard let n = object[k] as? NSNumber, numberKind(n) == "integer" else { return nil }
            return n.intValue
        }
        func time(_ k: String) -> String? {
            guard let s = str(k), s.count == 24, let ms = parseTimestamp(s), formatTimestamp(ms) == s else { return nil }
            return s
        }
        switch str("type") {
        case "post_views":
            guard Set(object.keys) == ["type", "window_start", "window_end", "post_id", "creator_id", "views", "unique_viewers"],
                  let ws = time("window_start"), let we = time("window_end"), let post = str("post_id"),
                  let creator = str("creator_id"), let views = int("views"), let uv = int("unique_viewers")
            else { return "INVALID post_views: \(line)" }
            return "post_views|\(ws)|\(we)|\(post)|\(creator)|views=\(views)|unique=\(uv)"
        case "session":
            guard Set(object.keys) == ["type", "session_key", "session_start", "session_end", "duration_s", "events", "post_views", "distinct_posts"],
                  let key = str("session_key"), let s = time("session_start"), let e = time("session_end"),
                  let d = (object["duration_s"] as? NSNumber)?.doubleValue,
                  let events = int("events"), let pv = int("post_views"), let dp = int("distinct_posts")
            else { return "INVALID session: \(line)" }
            let ms = Int64((d * 1000).rounded())
            return "session|\(key)|\(s)|\(e)|ms=\(ms)|events=\(events)|views=\(pv)|posts=\(dp)"
        default:
            return "INVALID type: \(line)"
        }
    }

    // MARK: Evaluation

    private struct ViewWindow {
        var views = 0
        var viewers = Set<String>()
        var creator: String?
    }

    private struct Session {
        var start: Int64
        var end: Int64
        var events = 0
        var views = 0
        var posts = Set<String>()
    }

    private struct WindowKey: Hashable {
        var post: String
        var start: Int64
    }

    static func evaluate(_ decoded: Decoded, _ options: Options = Options()) -> Expected {
        var x = Expected()
        x.linesRead = decoded.lines.count
        x.deadLetters = decoded.deadLetters
        let window = options.windowMillis, gap = options.gapMillis

        var watermark = Int64.min
        var maxSeen = Int64.min
        var seen: [String: Int64] = [:]  // event id -> timestamp of the copy that was kept
        var windows: [WindowKey: ViewWindow] = [:]
        var live: [String: [Session]] = [:]
        var sessionRecords: [String] = []

        func emit(_ key: String, _ s: Session) {
            sessionRecords.append(sessionKey(key: key, start: s.start, end: s.end, events: s.events, views: s.views, posts: s.posts.count))
        }
        func advanceWatermark(to wm: Int64) {
            guard wm > watermark else { return }
            watermark = wm
            for (key, sessions) in live {
                let (fired, open) = (sessions.filter { $0.end + gap - 1 <= wm }, sessions.filter { $0.end + gap - 1 > wm })
                fired.forEach { emit(key, $0) }
                live[key] = open.isEmpty ? nil : open
            }
        }

        for (index, outcome) in decoded.outcomes.enumerated() {
            if let block = options.watermarkBlockLines, index > 0, index % block == 0, maxSeen != .min {
                advanceWatermark(to: maxSeen - options.outOfOrdernessMillis - 1)
            }
            guard case .event(let e) = outcome else {
                x.invalid += 1
                continue
            }
            x.valid += 1
            maxSeen = max(maxSeen, e.timestamp)

            if let first = seen[e.eventId], !(watermark != .min && watermark - first >= options.dedupTTLMillis) {
                x.duplicates += 1
                continue
            }
            seen[e.eventId] = e.timestamp
            x.acceptedEvents.append(e)

            if e.name == "post_viewed", let post = e.postId {
                let start = floorDiv(e.timestamp, window) * window
                if start + window - 1 <= watermark {
                    x.lateViews += 1
                } else {
                    var w = windows[WindowKey(post: post, start: start), default: ViewWindow()]
                    w.views += 1
                    if let viewer = e.userId ?? e.sessionId { w.viewers.insert(viewer) }
                    if let c = e.creatorId, w.creator.map({ c < $0 }) ?? true { w.creator = c }
                    windows[WindowKey(post: post, start: start)] = w
                }
            }

            if let key = e.userId ?? e.sessionId {
                var sessions = live[key] ?? []
                // The event's own window [t, t + gap) merges with every live session window
                // [start, end + gap) it overlaps (and, transitively, with what those overlap).
                var merged = Session(start: e.timestamp, end: e.timestamp)
                var absorbed = false
                var changed = true
                while changed {
                    changed = false
                    if let i = sessions.firstIndex(where: { $0.start < merged.end + gap && merged.start < $0.end + gap }) {
                        let s = sessions.remove(at: i)
                        merged.start = min(merged.start, s.start)
                        merged.end = max(merged.end, s.end)
                        merged.events += s.events
                        merged.views += s.views
                        merged.posts.formUnion(s.posts)
                        absorbed = true
                        changed = true
                    }
                }
                if !absorbed && e.timestamp + gap - 1 <= watermark {
                    x.lateSessions += 1
                } else {
                    merged.events += 1
                    if e.name == "post_viewed", let p = e.postId {
                        merged.views += 1
                        merged.posts.insert(p)
                    }
                    sessions.append(merged)
                    live[key] = sessions
                }
            }
        }
        advanceWatermark(to: .max)
        var records = sessionRecords
        for (k, w) in windows {
            records.append(postViewsKey(start: k.start, end: k.start + window, post: k.post, creator: w.creator ?? "",
                                        views: w.views, viewers: w.viewers.count))
        }
        x.records = records.sorted()
        return x
    }

    /// The contract's sessions stated the plainest way: each key's events sorted by time and
    /// split wherever the next event is 30:00.000 or more after the previous one. Used to
    /// check `evaluate` itself on batch inputs.
    static func plainSessions(_ events: [Event], gapMillis: Int64 = 30 * 60_000) -> [String] {
        var byKey: [String: [Event]] = [:]
        for e in events { if let k = e.userId ?? e.sessionId { byKey[k, default: []].append(e) } }
        var out: [String] = []
        for (key, list) in byKey {
            var current: [Event] = []
            func flush() {
                guard let first = current.first, let last = current.last else { return }
                let views = current.filter { $0.name == "post_viewed" }
                out.append(sessionKey(key: key, start: first.timestamp, end: last.timestamp, events: current.count,
                                      views: views.count, posts: Set(views.compactMap(\.postId)).count))
                current = []
            }
            for e in list.sorted(by: { $0.timestamp < $1.timestamp }) {
                if let last = current.last, e.timestamp - last.timestamp >= gapMillis { flush() }
                current.append(e)
            }
            flush()
        }
        return out.sorted()
    }
}

// MARK: - Running the job and reading its files

/// A temporary directory removed when the value is released.
final class E2ETempDir {
    let url: URL
    init(_ label: String = "replay-e2e") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The files and summary of one replay run, read back and normalized.
struct ReplayRun {
    var summary: ReplaySummary
    var records: [String]
    var outputLines: [String]
    var deadLetters: [ReplayRef.DeadLetter]
    var deadLetterLines: [String]
}

enum ReplayE2E {
    /// Generated traffic, deterministic for a seed.
    static func generate(seed: UInt64, count: Int, profile: TrafficProfile = TrafficProfile()) -> Data {
        var data = Data()
        CreatorTrafficGenerator(seed: seed, profile: profile).generate(count: count) { data.append(contentsOf: $0) }
        return data
    }

    static func readLines(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return ReplayRef.splitLines(data)
    }

    static func parseDeadLetter(_ line: String) -> ReplayRef.DeadLetter? {
        guard let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
              let n = o["line"] as? NSNumber, let reason = o["reason"] as? String, let raw = o["raw"] as? String
        else { return nil }
        return ReplayRef.DeadLetter(line: n.intValue, reason: reason, raw: raw)
    }

    /// Runs the job through the library on `input` and reads its files back.
    static func run(input: String, in dir: E2ETempDir, parallelism: Int, outOfOrderness: Duration = .seconds(5),
                    tag: String = "") throws -> ReplayRun {
        let output = dir.path("out-p\(parallelism)\(tag).ndjson")
        let dead = dir.path("dead-p\(parallelism)\(tag).ndjson")
        let config = ReplayConfiguration(inputPath: input, outputPath: output, deadLetterPath: dead,
                                         parallelism: parallelism, outOfOrderness: outOfOrderness)
        let summary = try ReplayJob.run(config)
        let lines = readLines(output)
        let deadLines = readLines(dead)
        return ReplayRun(summary: summary, records: lines.map(ReplayRef.normalize(outputLine:)).sorted(),
                         outputLines: lines, deadLetters: deadLines.compactMap(parseDeadLetter), deadLetterLines: deadLines)
    }

    /// Expects two multisets of normalized lines to be equal, reporting a short diff.
    static func expectSameLines(_ actual: [String], _ expected: [String], _ label: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        var counts: [String: Int] = [:]
        for a in actual { counts[a, default: 0] += 1 }
        for e in expected { counts[e, default: 0] -= 1 }
        let extra = counts.filter { $0.value > 0 }.map { "+\($0.value)× \($0.key)" }.sorted()
        let missing = counts.filter { $0.value < 0 }.map { "\($0.value)× \($0.key)" }.sorted()
        #expect(extra.isEmpty && missing.isEmpty,
                "\(label): \(actual.count) lines vs \(expected.count) expected; \(extra.count) unexpected, \(missing.count) missing. Unexpected: \(extra.prefix(5)) Missing: \(missing.prefix(5))",
                sourceLocation: sourceLocation)
    }

    /// Expects the dead-letter file to hold exactly the expected letters: same line numbers,
    /// same raw text, reasons of the same category.
    static func expectDeadLetters(_ actual: [ReplayRef.DeadLetter], lineCount: Int, _ expected: [ReplayRef.DeadLetter],
                                  _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(lineCount == actual.count, "\(label): every dead-letter line must be a {line, reason, raw} object",
                sourceLocation: sourceLocation)
        let norm: (ReplayRef.DeadLetter) -> String = { "#\($0.line) \(ReplayRef.category($0.reason)) raw=\($0.raw)" }
        expectSameLines(actual.map(norm), expected.map(norm), "\(label) dead letters", sourceLocation: sourceLocation)
    }

    /// Expects the summary's counts to equal the reference's.
    static func expectCounts(_ s: ReplaySummary, _ x: ReplayRef.Expected, _ label: String,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        let actual = "read \(s.eventsRead) valid \(s.valid) invalid \(s.invalid) duplicates \(s.duplicates) late \(s.late) written \(s.resultsWritten)"
        let wanted = "read \(x.linesRead) valid \(x.valid) invalid \(x.invalid) duplicates \(x.duplicates) late \(x.late) written \(x.resultsWritten)"
        #expect(actual == wanted, "\(label): summary counts", sourceLocation: sourceLocation)
    }

    /// Everything a run must match: results, counts and dead letters.
    static func expectRun(_ run: ReplayRun, _ x: ReplayRef.Expected, _ label: String,
                          sourceLocation: SourceLocation = #_sourceLocation) {
        expectSameLines(run.records, x.records, "\(label) results", sourceLocation: sourceLocation)
        expectCounts(run.summary, x, label, sourceLocation: sourceLocation)
        #expect(run.outputLines.count == run.summary.resultsWritten, "\(label): lines in the output file vs summary",
                sourceLocation: sourceLocation)
        expectDeadLetters(run.deadLetters, lineCount: run.deadLetterLines.count, x.deadLetters, label,
                          sourceLocation: sourceLocation)
    }
}
