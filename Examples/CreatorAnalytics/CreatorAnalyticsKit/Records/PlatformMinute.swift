import RunnelCore
import RunnelJSON

/// Platform-wide activity in one window: the `platform` topic's record.
public struct PlatformMinute: Sendable, Hashable {
    /// The window's start (ms).
    public var windowStart: Timestamp
    /// The window's end (ms, exclusive).
    public var windowEnd: Timestamp
    /// The counts.
    public var counts: PlatformMinuteAggregate.Accumulator

    /// Creates a record.
    public init(windowStart: Timestamp, windowEnd: Timestamp, counts: PlatformMinuteAggregate.Accumulator) {
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.counts = counts
    }

    /// Writes `{"type":"platform_minute",…}`; `revenue` maps each currency to the amount
    /// paid in it (amounts in different currencies are not added up).
    public func encode(into json: inout JSONWriter) {
        json.beginObject()
        json.key("type"); json.string("platform_minute")
        json.key("window_start"); json.timestamp(millis: windowStart)
        json.key("window_end"); json.timestamp(millis: windowEnd)
        json.key("events"); json.int(counts.events)
        json.key("active_users"); json.int(counts.activeUsers.count)
        json.key("active_sessions"); json.int(counts.activeSessions.count)
        json.key("post_views"); json.int(counts.events(.postViewed))
        json.key("views_by_device")
        json.beginObject()
        for device in DeviceClass.allCases {
            json.key(device.name)
            json.int(counts.viewsByDevice[Int(device.rawValue)])
        }
        json.endObject()
        json.key("posts_published"); json.int(counts.events(.postPublished))
        json.key("users_registered"); json.int(counts.events(.userRegistered))
        json.key("new_creators"); json.int(counts.newCreators)
        json.key("logins"); json.int(counts.events(.userLoggedIn))
        json.key("comments"); json.int(counts.events(.commentSubmitted))
        json.key("subscriptions"); json.int(counts.events(.creatorSubscribed))
        json.key("paid_subscriptions"); json.int(counts.paidSubscriptions)
        json.key("payments"); json.int(counts.events(.paymentSucceeded))
        json.key("revenue")
        json.revenue(counts.revenue)
        json.endObject()
    }

    /// The record as one JSON object's text.
    public var jsonText: String {
        var json = JSONWriter(capacity: 384)
        encode(into: &json)
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
