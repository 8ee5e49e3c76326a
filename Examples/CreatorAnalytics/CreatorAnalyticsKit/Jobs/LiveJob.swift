import RunnelCore
import RunnelFeed
import RunnelJSON
import RunnelOperators
import RunnelRuntime

/// The live job behind `creator-analytics serve`: the replay job's pipeline (deduplication,
/// 1-minute post views, 30-minute sessions) plus platform-wide counts per minute, on events
/// the HTTP collector accepted, publishing to the live feed. Post views and platform counts fire early every `earlyFiring` so dashboards
/// see counts move within the minute; final results are marked final. Every final result
/// (and view-spike alert) also goes, as one JSON line, to the exactly-once NDJSON sink in
/// `resultsDirectory` (``TransactionalNDJSONFileSink``: visible once a checkpoint covers it).
///
/// ```
/// collector ─▶ keyBy event_id ─▶ dedup ─┬─▶ keyBy post_id ─▶ post-views (1 min, early firing) ─▶ feed (post_views, creator:<id>)
///                                       ├─▶ keyBy post_id ─▶ post-views-10m (10 min sliding by 1 min) ─▶ keyBy "platform" ─▶ trending (top 10) ─▶ feed (trending)
///                                       ├─▶ keyBy post_id ─▶ view-spikes (custom operator) ─▶ feed (platform, creator:<id>)
///                                       ├─▶ creator activity ∪ (keyBy post_id ─▶ comment-attribution) ─▶ keyBy creator_id ─▶ creator-minutes (1 min, early firing) ─▶ feed (creator:<id>)
///                                       ├─▶ keyBy user/session ─▶ sessions (30 min gap) ─┬─▶ feed (sessions)
///                                       │                                               └─▶ closed ─▶ keyBy "platform" ─▶ session-minutes (1 min) ─▶ feed (platform)
///                                       └─▶ keyBy "platform" ─▶ platform (1 min, early firing) ─▶ feed (platform)
/// ```
public enum LiveJob {
    /// Builds the job graph reading `source` (in `serve`, the collector's durable log) and
    /// publishing to `hub` on `hubLoop`, and final results to `resultsDirectory` if given.
    public static func build<S: Source>(source: S, hub: FeedHub, hubLoop: EventLoop, resultsDirectory: String? = nil,
                                        outOfOrderness: Duration = .seconds(5),
                                        earlyFiring: Duration = .milliseconds(250)) throws -> JobGraph where S.Output == CreatorEvent {
        let env = StreamEnvironment(name: "creator-live")
        // Each result stream goes to the feed, and its final results to the results file.
        var finals: [DataStream<FeedUpdate>] = []
        func publish(_ name: String, _ updates: DataStream<FeedUpdate>) {
            updates.sink("\(name)-feed", FeedSink(hub: hub, loop: hubLoop) { $0 })
            finals.append(updates.filter("\(name)-final") { $0.final })
        }
        // A reader whose log partitions get no requests for a while (one POST is one frame,
        // in one partition) would hold event time back for the whole job with its last
        // watermark, and no window would close: idle readers step aside.
        let watermarks = WatermarkStrategy<CreatorEvent>.boundedOutOfOrderness(outOfOrderness) { $0.timestamp }.withIdleness(.seconds(1))
        let deduplicated = env.source("collector", source, watermarks: watermarks)
            .keyBy { $0.eventKey }
            .deduplicate("dedup", ttl: StateTTL(.seconds(3600), timeDomain: .eventTime))

        let viewsByPost = deduplicated
            .flatMap("post-view") { event, out in if let view = PostView(event) { out(view) } }
            .keyBy { $0.postId }

        // Trending: each post's views over the last ten minutes, every minute (final counts
        // only), then the ten most viewed of each window. The counts of the window ending at
        // t are stamped t − 1 ms, so the minute [t − 1 min, t) gathers exactly them.
        let trendingSpan: Duration = .seconds(600)
        publish("trending", viewsByPost
            .window(SlidingWindows(size: trendingSpan, slide: .seconds(60)))
            .aggregate("post-views-10m", CountAggregate<PostView>())
            .map("post-view-counts") { PostViewCount(postId: $0.key, views: $0.value) }
            .keyBy { _ in "platform" }
            .window(TumblingWindows(.seconds(60)))
            .aggregate("trending", TrendingPostsAggregate(limit: 10))
            .map("trending-updates") { r in
                let record = TrendingPosts(windowStart: r.window.end - trendingSpan.milliseconds, windowEnd: r.window.end, posts: r.value.posts)
                return FeedUpdate(json: record.jsonText, key: "trending@\(record.windowEnd)", topics: [.trending], final: r.firing.isFinal)
            })

        // A custom operator (CustomOperators/ViewSpikeDetector.swift): a post's minute of
        // views against its trailing hour, alerts to the platform and the creator's topic.
        publish("view-spikes", viewsByPost
            .process("view-spikes", ViewSpikeDetector())
            .map("view-spikes-updates") { spike in
                FeedUpdate(json: spike.jsonText, key: "spike:\(spike.postId)@\(spike.minuteStart)",
                           topics: [.platform] + (spike.creatorId.map { [.creator($0)] } ?? []), final: true)
            })

        publish("post-views", viewsByPost
            .window(TumblingWindows(.seconds(60)))
            .trigger(EarlyFiringTrigger(every: earlyFiring))
            .aggregate("post-views", PostViewsAggregate())
            .map("post-views-updates") { r in
                let record = PostViews(windowStart: r.window.start, windowEnd: r.window.end, postId: r.key,
                                       creatorId: r.value.creatorId ?? "", views: r.value.views, uniqueViewers: r.value.viewers.count)
                let topics: [FeedTopic] = record.creatorId.isEmpty ? [.postViews] : [.postViews, .creator(record.creatorId)]
                return FeedUpdate(json: ReplayResult.postViews(record).jsonText, key: "\(record.postId)@\(record.windowStart)",
                                  topics: topics, final: r.firing.isFinal)
            })

        // One key: the whole platform's minute is counted by one subtask.
        publish("platform", deduplicated
            .map("platform-activity") { PlatformActivity($0) }
            .keyBy { _ in "platform" }
            .window(TumblingWindows(.seconds(60)))
            .trigger(EarlyFiringTrigger(every: earlyFiring))
            .aggregate("platform", PlatformMinuteAggregate())
            .map("platform-updates") { r in
                let record = PlatformMinute(windowStart: r.window.start, windowEnd: r.window.end, counts: r.value)
                return FeedUpdate(json: record.jsonText, key: "platform@\(record.windowStart)", topics: [.platform], final: r.firing.isFinal)
            })

        // Creators' minutes: views, subscriptions and payments name their creator; comments
        // name only their post and are attributed through it (CustomOperators/CommentAttribution).
        let creatorActivity = deduplicated
            .flatMap("creator-activity") { event, out in if let activity = CreatorActivity(event) { out(activity) } }
        let attributedComments = deduplicated
            .flatMap("post-activity") { event, out in if let activity = PostActivity(event) { out(activity) } }
            .keyBy { $0.postId }
            .process("comment-attribution", CommentAttribution())
        publish("creator-minutes", creatorActivity
            .union("creator-activities", attributedComments)
            .keyBy { $0.creatorId }
            .window(TumblingWindows(.seconds(60)))
            .trigger(EarlyFiringTrigger(every: earlyFiring))
            .aggregate("creator-minutes", CreatorMinuteAggregate())
            .map("creator-minutes-updates") { r in
                let record = CreatorMinute(creatorId: r.key, windowStart: r.window.start, windowEnd: r.window.end, metrics: r.value)
                return FeedUpdate(json: record.jsonText, key: "creator-minute:\(r.key)@\(r.window.start)",
                                  topics: [.creator(r.key)], final: r.firing.isFinal)
            })

        let sessions = deduplicated
            .flatMap("session-activity") { event, out in if let activity = SessionActivity(event) { out(activity) } }
            .keyBy { $0.visitor }
            .window(SessionWindows(gap: .seconds(30 * 60)))
            .aggregate("sessions", SessionAggregate())

        // Per minute over the sessions that closed in it (a session's result comes when its
        // gap has passed, stamped with its window's end): count, durations, bounce rate.
        // After an all-idle spell the sessions subtasks wake one after the other; the input
        // gates' wake hold keeps the minute open until both have sent (docs/ARCHITECTURE.md).
        publish("session-minutes", sessions
            .flatMap("closed-sessions") { r, out in if r.firing.isFinal { out(ClosedSession(r.value)) } }
            .keyBy { _ in "platform" }
            .window(TumblingWindows(.seconds(60)))
            .aggregate("session-minutes", SessionMinuteAggregate())
            .map("session-minutes-updates") { r in
                let record = SessionMinute(windowStart: r.window.start, windowEnd: r.window.end, metrics: r.value)
                return FeedUpdate(json: record.jsonText, key: "sessions@\(record.windowStart)", topics: [.platform], final: r.firing.isFinal)
            })

        publish("sessions", sessions
            .map("sessions-updates") { r in
                var record = SessionSummary(sessionKey: r.key, start: r.value.start, end: r.value.end, events: r.value.events,
                                            postViews: r.value.postViews, distinctPosts: r.value.posts.count)
                record.entryReferrer = r.value.entryReferrer
                var json = JSONWriter(capacity: 256)
                record.encode(into: &json, live: true)
                return FeedUpdate(json: json.withBytes { String(decoding: $0, as: UTF8.self) }, key: "\(record.sessionKey)@\(record.start)",
                                  topics: [.sessions], final: r.firing.isFinal)
            })
        if let resultsDirectory, let first = finals.first {
            first.union("final-results", Array(finals.dropFirst()))
                .sink("results", try TransactionalNDJSONFileSink<FeedUpdate>(directory: resultsDirectory, prefix: "results") { update, json in
                    json.encodedValue(update.json)
                })
        }
        return try env.build()
    }
}

extension ReplayResult {
    /// The record as one JSON object's text.
    var jsonText: String {
        var json = JSONWriter(capacity: 256)
        encode(into: &json)
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}
