import RunnelCore
import RunnelJSON

/// A post whose views in one minute far exceed its usual rate.
public struct ViewSpike: Sendable, Hashable {
    /// The post.
    public var postId: String
    /// Its creator, when the views reported one.
    public var creatorId: String?
    /// The minute's start (ms).
    public var minuteStart: Timestamp
    /// Views in that minute.
    public var views: Int
    /// Average views per minute over the hour before it.
    public var trailingAverage: Double

    /// Creates one.
    public init(postId: String, creatorId: String?, minuteStart: Timestamp, views: Int, trailingAverage: Double) {
        self.postId = postId
        self.creatorId = creatorId
        self.minuteStart = minuteStart
        self.views = views
        self.trailingAverage = trailingAverage
    }

    /// Writes `{"type":"view_spike","post_id":…,"creator_id":…,"minute_start":…,"views":N,"trailing_average":x}`.
    public var jsonText: String {
        var json = JSONWriter(capacity: 160)
        json.beginObject()
        json.key("type"); json.string("view_spike")
        json.key("post_id"); json.string(postId)
        if let creatorId { json.key("creator_id"); json.string(creatorId) }
        json.key("minute_start"); json.timestamp(millis: minuteStart)
        json.key("views"); json.int(views)
        json.key("trailing_average"); json.fixed(trailingAverage, decimals: 2)
        json.endObject()
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }
}

/// Alerts when a post's views in a minute exceed `factor` times its average per minute over
/// the trailing hour (and at least `minimumViews`, so that 3 views after an hour of none
/// raise nothing). Event time: a minute is judged once the watermark passes its end, so the
/// result is the same in replay as live.
///
/// An example of a custom keyed operator (Flink's `KeyedProcessFunction`: a function and a
/// context object), keyed by post id:
/// - per-key map state holds the post's views per minute for the last hour and a bit;
/// - an event-time timer at the end of each minute with views judges that minute and drops
///   the minutes that fell out of the hour;
/// - the state checkpoints and restores like any keyed state (exactly once).
///
/// ```swift
/// views.keyBy { $0.postId }
///      .process("view-spikes", ViewSpikeDetector())
///      .sink("alerts", …)
/// ```
public final class ViewSpikeDetector: KeyedProcessFunction {
    /// How many times the trailing average a minute must reach.
    public let factor: Double
    /// The fewest views a minute must have to count as a spike.
    public let minimumViews: Int
    private var viewsByMinute: MapState<Int64, Int>!
    private var creator: ValueState<String>!
    private var spikes: Counter!

    private static let minute: Int64 = 60_000
    private static let hour: Int64 = 60 * minute

    /// Creates the detector.
    public init(factor: Double = 5, minimumViews: Int = 20) {
        self.factor = factor
        self.minimumViews = minimumViews
    }

    public func open(_ context: KeyedRuntimeContext<String>) throws {
        viewsByMinute = context.state(MapStateDescriptor<Int64, Int>("views-by-minute"))
        creator = context.state(ValueStateDescriptor<String>("creator"))
        spikes = context.counter("view_spikes")
    }

    public func processElement(_ view: PostView, context: KeyedProcessContext<String, ViewSpike>, out: Collector<ViewSpike>) {
        let start = context.timestamp - ((context.timestamp % Self.minute) + Self.minute) % Self.minute
        // A minute already judged (late view) is not judged again.
        guard start + Self.minute - 1 > context.currentWatermark else { return }
        if viewsByMinute[start] == nil { context.registerEventTimeTimer(start + Self.minute - 1) }
        viewsByMinute[start, default: 0] += 1
        if let id = view.creatorId, creator.value != id { creator.value = id }
    }

    public func onTimer(_ time: Timestamp, context: KeyedProcessContext<String, ViewSpike>, out: Collector<ViewSpike>) {
        let start = time + 1 - Self.minute
        var minutes = viewsByMinute.entries
        let views = minutes[start] ?? 0
        let trailing = minutes.filter { $0.key >= start - Self.hour && $0.key < start }.reduce(0) { $0 + $1.value }
        let average = Double(trailing) / 60
        if views >= minimumViews && Double(views) > factor * average {
            spikes.increment()
            out.collect(ViewSpike(postId: context.currentKey, creatorId: creator.value, minuteStart: start, views: views,
                                  trailingAverage: average))
        }
        // Keep the hour before the next minutes to be judged; forget the post when it is quiet.
        for key in minutes.keys where key < start + Self.minute - Self.hour { viewsByMinute[key] = nil; minutes[key] = nil }
        if minutes.isEmpty { creator.clear() }
    }
}

private extension MapState where MapKey == Int64, MapValue == Int {
    subscript(key: Int64, default value: Int) -> Int {
        get { self[key] ?? value }
        set { self[key] = newValue }
    }
}
