import RunnelJSON
import RunnelOperators

/// Generates realistic creator-platform events as NDJSON, deterministically for a seed.
///
/// Sessions of logged-in and anonymous visitors run concurrently; post views follow a
/// Zipf popularity; events are shifted back by a bounded random disorder; a share of events
/// are sent twice (retries) and a share of lines are malformed or invalid. Each line is a
/// full event with the common properties (platform, device, browser, OS, referrer, IP),
/// about 450–550 bytes.
///
/// Thread safety: one generator per thread.
public final class CreatorTrafficGenerator {
    private struct Session {
        var userId: String?
        var sessionId: String
        var platform: Int
        var entryReferrer: Int
    }

    /// The profile.
    public let profile: TrafficProfile
    private var rng: SplitMix64
    private var clock: Double
    private var sessions: [Session] = []
    private let popularityCDF: [Double]
    private var recentLines: [[UInt8]] = []
    private var line = JSONWriter(capacity: 1024)
    private var postsPublished = 0
    /// Lines generated so far.
    public private(set) var generated = 0

    private static let platforms: [(String, String, String, String)] = [
        ("web", "desktop", "Chrome 120", "macOS 14.2"),
        ("web", "desktop", "Firefox 121", "Windows 11"),
        ("web", "tablet", "Safari 17", "iPadOS 17.2"),
        ("mobile_ios", "phone", "Runnel iOS 5.3", "iOS 17.2"),
        ("mobile_android", "phone", "Runnel Android 5.1", "Android 14"),
    ]
    private static let referrers = [
        "https://www.google.com/search?q=creator+newsletter+platform",
        "https://news.ycombinator.com/item?id=38712345",
        "https://twitter.com/someone/status/1737000000000000000",
        "https://www.facebook.com/groups/writers-and-creators/posts/1234567",
        "https://mail.example-newsletter.com/open?campaign=weekly-digest",
        "",
    ]
    private static let words = ["swift", "streams", "watermarks", "writing", "growth", "newsletters", "audience",
                                "pricing", "design", "habits", "distribution", "analytics", "community", "craft"]

    /// Creates a generator.
    public init(seed: UInt64, profile: TrafficProfile = TrafficProfile()) {
        self.profile = profile
        self.rng = SplitMix64(seed: seed)
        self.clock = Double(profile.startMillis)
        var weights = (1...max(1, profile.posts)).map { 1.0 / pow(Double($0), profile.zipfExponent) }
        let total = weights.reduce(0, +)
        var acc = 0.0
        for i in weights.indices {
            acc += weights[i] / total
            weights[i] = acc
        }
        popularityCDF = weights
    }

    /// Appends the next line (without newline) to `out`.
    public func nextLine(into out: inout [UInt8]) {
        generated += 1
        if !recentLines.isEmpty && rng.unit() < profile.duplicateShare {
            out.append(contentsOf: recentLines[Int(rng.next() % UInt64(recentLines.count))])
            return
        }
        if rng.unit() < profile.invalidShare {
            appendInvalid(into: &out)
            return
        }
        line.removeAll()
        writeEvent()
        let bytes = line.bytes
        if recentLines.count < 64 { recentLines.append(bytes) } else { recentLines[Int(rng.next() % 64)] = bytes }
        out.append(contentsOf: bytes)
    }

    /// Writes `count` lines, each followed by a newline, through `emit` in chunks of about 1 MiB.
    public func generate(count: Int, _ emit: ([UInt8]) throws -> Void) rethrows {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20 + 4096)
        for _ in 0..<count {
            nextLine(into: &chunk)
            chunk.append(0x0A)
            if chunk.count >= 1 << 20 {
                try emit(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try emit(chunk) }
    }

    // MARK: Events

    private func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }

    private func uuid() -> String {
        let a = rng.next(), b = rng.next()
        let hex = String(a, radix: 16).leftPadded(16) + String(b, radix: 16).leftPadded(16)
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-4" + String(c[13..<16]) + "-a" + String(c[17..<20]) + "-" + String(c[20..<32])
    }

    private func zipfPost() -> Int {
        let u = rng.unit()
        var lo = 0, hi = popularityCDF.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if popularityCDF[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    private func session() -> Int {
        if sessions.count < profile.concurrentSessions {
            let anonymous = rng.unit() < profile.anonymousShare
            sessions.append(Session(
                userId: anonymous ? nil : "u-\(Int(rng.next() % UInt64(profile.users)))",
                sessionId: "s-" + uuid(), platform: Int(rng.next() % 5), entryReferrer: Int(rng.next() % 6)))
            return sessions.count - 1
        }
        return Int(rng.next() % UInt64(sessions.count))
    }

    private func eventTime() -> Int64 {
        // Poisson arrivals in event time, then a bounded backward shift (disorder).
        clock += -log(1 - rng.unit()) * 1000 / profile.eventsPerSecond
        var t = Int64(clock) - Int64(rng.unit() * Double(profile.maxDisorderMillis))
        if profile.lateShare > 0 && rng.unit() < profile.lateShare { t -= profile.lateByMillis }
        return t
    }

    private func writeEvent() {
        let s = session()
        let sess = sessions[s]
        let roll = rng.unit()
        let name: String
        switch roll {
        case ..<0.70: name = "post_viewed"
        case ..<0.78: name = "user_logged_in"
        case ..<0.86: name = "comment_submitted"
        case ..<0.91: name = "creator_subscribed"
        case ..<0.95: name = "payment_succeeded"
        case ..<0.98: name = "post_published"
        default: name = "user_registered"
        }
        let anonymousOnly = sess.userId == nil
        let effective = anonymousOnly && name != "post_viewed" ? "post_viewed" : name
        let (platform, device, browser, os) = Self.platforms[sess.platform]
        let post = zipfPost()
        let creator = post % profile.creators

        line.beginObject()
        line.key("event_id"); line.string(uuid())
        line.key("event_name"); line.string(effective)
        line.key("timestamp"); line.timestamp(millis: eventTime())
        if let user = sess.userId { line.key("user_id"); line.string(user) }
        line.key("session_id"); line.string(sess.sessionId)
        line.key("platform"); line.string(platform)
        line.key("device_type"); line.string(device)
        line.key("browser"); line.string(browser)
        line.key("os"); line.string(os)
        line.key("referrer"); line.string(Self.referrers[sess.entryReferrer])
        line.key("ip_address"); line.string("203.0.\(rng.next() % 256).\(rng.next() % 256)")
        switch effective {
        case "post_viewed":
            line.key("post_id"); line.string("p-\(post)")
            line.key("creator_id"); line.string("c-\(creator)")
            line.key("post_title"); line.string(title(post))
            line.key("time_on_page_seconds"); line.int(Int64(5 + rng.next() % 600))
            line.key("scroll_depth_percentage"); line.int(Int64(rng.next() % 101))
        case "user_registered":
            line.key("email"); line.string("\(sess.userId!)@example.com")
            line.key("username"); line.string("writer_\(sess.userId!.dropFirst(2))")
            line.key("role"); line.string(rng.unit() < 0.1 ? "creator" : "reader")
            line.key("registration_source"); line.string(rng.unit() < 0.7 ? "organic" : "ad_campaign_x")
        case "user_logged_in":
            line.key("login_method"); line.string(rng.unit() < 0.6 ? "email_password" : "google_oauth")
        case "post_published":
            postsPublished += 1
            line.key("post_id"); line.string("p-new-\(postsPublished)")
            line.key("post_title"); line.string(title(post))
            line.key("post_type"); line.string(rng.unit() < 0.5 ? "article" : "newsletter")
        case "comment_submitted":
            line.key("post_id"); line.string("p-\(post)")
            line.key("comment_id"); line.string("cm-" + uuid())
            if rng.unit() < 0.3 { line.key("parent_comment_id"); line.string("cm-" + uuid()) }
        case "creator_subscribed":
            let paid = rng.unit() < 0.3
            line.key("subscriber_id"); line.string(sess.userId!)
            line.key("creator_id"); line.string("c-\(creator)")
            line.key("subscription_type"); line.string(paid ? "paid" : "free")
            if paid { line.key("tier_name"); line.string("Supporter") }
        default:  // payment_succeeded
            line.key("creator_id"); line.string("c-\(creator)")
            line.key("subscription_id"); line.string("sub-" + uuid())
            line.key("amount"); line.fixed(Double(5 + rng.next() % 20) - 0.01, decimals: 2)
            line.key("currency"); line.string("USD")
            line.key("payment_method_type"); line.string(rng.unit() < 0.8 ? "card" : "paypal")
            line.key("is_renewal"); line.bool(rng.unit() < 0.5)
        }
        line.endObject()
        if rng.unit() < profile.sessionEndProbability { sessions.swapAt(s, sessions.count - 1); sessions.removeLast() }
    }

    private func title(_ post: Int) -> String {
        let a = Self.words[post % Self.words.count], b = Self.words[(post / 7) % Self.words.count]
        return "Post \(post): notes on \(a) and \(b) for independent creators"
    }

    private func appendInvalid(into out: inout [UInt8]) {
        switch rng.next() % 5 {
        case 0: out.append(contentsOf: Array("{\"event_id\":\"\(uuid())\",\"event_name\":\"post_viewed\",\"timestamp\":".utf8))
        case 1: out.append(contentsOf: Array("{\"event_id\":\"\(uuid())\",\"event_name\":\"post_viewed\",\"timestamp\":\"2026-02-23T00:00:00Z\"}".utf8))
        case 2: out.append(contentsOf: Array("{\"event_id\":\"\(uuid())\",\"event_name\":\"page_scrolled\",\"timestamp\":\"2026-02-23T00:00:00Z\"}".utf8))
        case 3: out.append(contentsOf: Array("{\"event_id\":\"\(uuid())\",\"event_name\":\"user_logged_in\",\"timestamp\":\"23/02/2026 10:00\",\"user_id\":\"u-1\"}".utf8))
        default: out.append(contentsOf: Array("not json at all".utf8))
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}

#if canImport(Glibc)
import Glibc
#endif
