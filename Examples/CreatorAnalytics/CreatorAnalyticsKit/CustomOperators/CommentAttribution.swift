import RunnelCore

/// Attributes comments to creators: a `comment_submitted` event names only its post, so
/// this operator, keyed by post id, learns each post's creator from the events that name it
/// (`post_published`: the author; `post_viewed`: `creator_id`; see ``PostActivity``) and emits one
/// ``CreatorActivity`` `.comment` per comment, stamped with the comment's own time.
///
/// A comment on a post whose creator is not known yet waits (list state) until an event
/// names the creator; comments still waiting after `waitLimit` of event time are dropped
/// and counted (`unattributed_comments`). A post's creator is remembered for `memory` of
/// event time after it was last named.
public final class CommentAttribution: KeyedProcessFunction {
    private let memory: StateTTL
    private let waitLimit: Int64
    private var creator: ValueState<String>!
    private var waiting: ListState<Timestamp>!
    private var unattributed: Counter!

    /// Creates the operator.
    public init(memory: Duration = .seconds(7 * 24 * 3600), waitLimit: Duration = .seconds(3600)) {
        self.memory = StateTTL(memory, timeDomain: .eventTime)
        self.waitLimit = waitLimit.milliseconds
    }

    public func open(_ context: KeyedRuntimeContext<String>) throws {
        creator = context.state(ValueStateDescriptor<String>("creator", ttl: memory))
        waiting = context.state(ListStateDescriptor<Timestamp>("waiting-comments"))
        unattributed = context.counter("unattributed_comments")
    }

    public func processElement(_ activity: PostActivity, context: KeyedProcessContext<String, CreatorActivity>,
                               out: Collector<CreatorActivity>) {
        switch activity.kind {
        case .creatorNamed(let id):
            creator.value = id
            let pending = waiting.elements
            guard !pending.isEmpty else { return }
            waiting.clear()
            for time in pending { out.collect(CreatorActivity(creatorId: id, kind: .comment), timestamp: time) }
        case .comment:
            if let id = creator.value {
                out.collect(CreatorActivity(creatorId: id, kind: .comment))
            } else {
                if waiting.elements.isEmpty { context.registerEventTimeTimer(activity.timestamp + waitLimit) }
                waiting.append(activity.timestamp)
            }
        }
    }

    public func onTimer(_ time: Timestamp, context: KeyedProcessContext<String, CreatorActivity>, out: Collector<CreatorActivity>) {
        let pending = waiting.elements
        guard !pending.isEmpty else { return }
        let expired = pending.filter { $0 + waitLimit <= time }
        unattributed.increment(by: expired.count)
        let rest = pending.filter { $0 + waitLimit > time }
        waiting.update(rest)
        if let first = rest.min() { context.registerEventTimeTimer(first + waitLimit) }
    }
}
