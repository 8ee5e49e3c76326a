import RunnelCore
import RunnelJSON

/// One creator's minute: a record of the creator's topic.
public struct CreatorMinute: Sendable, Equatable {
    public var creatorId: String
    public var windowStart: Timestamp
    public var windowEnd: Timestamp
    public var metrics: CreatorMinuteAggregate.Accumulator

    /// Creates a record.
    public init(creatorId: String, windowStart: Timestamp, windowEnd: Timestamp, metrics: CreatorMinuteAggregate.Accumulator) {
        self.creatorId = creatorId
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.metrics = metrics
    }

    /// `{"type":"creator_minute","creator_id":…,"window_start":…,"window_end":…,"views":N,"comments":N,
    /// "new_subscribers":{"free":N,"paid":N},"revenue":{"USD":12.50,…}}`.
    public var jsonText: String {
        var json = JSONWriter(capacity: 256)
        json.beginObject()
        json.key("type"); json.string("creator_minute")
        json.key("creator_id"); json.string(creatorId)
        json.key("window_start"); json.timestamp(millis: windowStart)
        json.key("window_end"); json.timestamp(millis: windowEnd)
        json.key("views"); json.int(metrics.views)
        json.key("comments"); json.int(metrics.comments)
        json.key("new_subscribers")
        json.beginObject()
        json.key("free"); json.int(metrics.freeSubscribers)
        json.key("paid"); json.int(metrics.paidSubscribers)
        json.endObject()
        json.key("revenue")
        json.revenue(metrics.revenue)
        json.endObject()
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
