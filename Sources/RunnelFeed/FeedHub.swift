import OrderedCollections
import RunnelAuth
import RunnelJSON
import RunnelRuntime
import RunnelWebSocket
import RunnelWebSocketServer

/// The live feed on one loop: clients subscribe to topics over their WebSocket, results
/// are published to topics, and every subscriber of a topic gets each update.
///
/// - Each update is encoded once (JSON and WebSocket frame) and the same bytes are queued
///   to every subscriber of the topic.
/// - Partial (early-firing) results are coalesced per key: a key's first partial result in
///   an interval goes out at once, and of the later ones only the latest is sent, at the
///   interval's end (at most one message per key per interval, and no added delay for a
///   key that was quiet). Final results go out at once, marked `"final":true`.
/// - A new subscriber gets a snapshot of the latest value of every key of the topic right
///   away, so a dashboard opened mid-window shows numbers at once.
/// - Access: a creator may subscribe to their own `creator:<id>` topic only; other topics
///   need an admin token (``FeedTopic/isAllowed(for:)``). A refused topic gets
///   `{"op":"error","error":"forbidden","topic":…}` and the connection stays open.
///
/// Thread safety: confined to its loop's thread.
public final class FeedHub {
    /// The loop the hub and its channels run on.
    public let loop: EventLoop
    /// Latest values kept per topic for snapshots (the keys first seen longest ago are
    /// dropped beyond, a quarter at a time).
    public let snapshotKeysPerTopic: Int

    private struct Subscriber {
        let channel: WebSocketChannel
        let token: AccessToken
        var topics: Set<FeedTopic> = []
    }

    private var subscribers: [ObjectIdentifier: Subscriber] = [:]
    private var byTopic: [FeedTopic: [ObjectIdentifier: WebSocketChannel]] = [:]
    private var latest: [FeedTopic: OrderedDictionary<String, String>] = [:]
    private var partials: OrderedDictionary<TopicKey, String> = [:]
    /// Keys whose partial result went out in the current interval.
    private var sentThisInterval: Set<TopicKey> = []
    private var timer: LoopTimer?

    private struct TopicKey: Hashable {
        var topic: FeedTopic
        var key: String
    }

    /// Creates a hub that sends coalesced partial results every `coalesceMilliseconds`.
    /// - Precondition: Called on the loop's thread.
    public init(loop: EventLoop, coalesceMilliseconds: UInt64 = 250, snapshotKeysPerTopic: Int = 10_000) {
        self.loop = loop
        self.snapshotKeysPerTopic = snapshotKeysPerTopic
        timer = loop.scheduleTimer(afterMilliseconds: coalesceMilliseconds, repeatMilliseconds: coalesceMilliseconds) { [weak self] in
            self?.flushPartials()
        }
    }

    /// Stops the coalescing timer.
    public func close() {
        timer?.cancel()
        timer = nil
    }

    /// Closes every client's connection with `code` (1001 when the server shuts down).
    public func closeAll(code: WebSocketCloseCode = .goingAway, reason: String = "server shutting down") {
        for subscriber in subscribers.values { subscriber.channel.close(code: code, reason: reason) }
    }

    /// Open feed connections.
    public var subscriberCount: Int { subscribers.count }
    /// Counts since the hub started (for `/metrics`).
    public private(set) var statistics = Statistics()

    /// What the hub has done since it started.
    public struct Statistics: Sendable {
        /// Feed connections taken.
        public var connectionsOpened = 0
        /// Clients closed with 1008 because they fell behind (did not read).
        public var slowConsumerDisconnects = 0
        /// Results published (before coalescing).
        public var resultsPublished = 0
        /// Partial results replaced by a later one of the same key before going out.
        public var partialsCoalesced = 0
        /// Messages queued to clients (one per subscriber per message sent on a topic).
        public var deliveries = 0
        /// Subscriptions refused as forbidden.
        public var forbiddenSubscriptions = 0

        /// All zero.
        public init() {}
    }

    /// Takes a new client's channel; `token` is what it may see.
    public func add(_ channel: WebSocketChannel, token: AccessToken) {
        let id = ObjectIdentifier(channel)
        subscribers[id] = Subscriber(channel: channel, token: token)
        statistics.connectionsOpened += 1
        channel.onMessage = { [weak self, unowned channel] message in
            guard case .text(let text) = message else {
                channel.send(text: Self.error("bad_request", message: "control messages are JSON text"))
                return
            }
            self?.request(text, from: channel)
        }
        channel.onClose = { [weak self, unowned channel] _, _ in
            if channel.closedAsTooSlow { self?.statistics.slowConsumerDisconnects += 1 }
            self?.remove(id)
        }
    }

    /// Publishes one result to `topics`. `data` is a JSON object (the record); `key`
    /// identifies what it is a value of (e.g. the post and window), for coalescing and
    /// snapshots.
    public func publish(_ data: String, key: String, topics: [FeedTopic], final: Bool) {
        let value = Self.marked(data, final: final)
        statistics.resultsPublished += 1
        for topic in topics {
            // Updated in place (a key keeps its first position); beyond the limit the oldest
            // keys go, a quarter at a time, so that eviction is not a shift per update.
            latest[topic, default: [:]][key] = value
            if let count = latest[topic]?.count, count > snapshotKeysPerTopic + snapshotKeysPerTopic / 4 {
                latest[topic]?.removeFirst(count - snapshotKeysPerTopic)
            }
            let topicKey = TopicKey(topic: topic, key: key)
            if final {
                partials.removeValue(forKey: topicKey)
                send(value, to: topic)
            } else if sentThisInterval.insert(topicKey).inserted {
                // The first partial of a key in an interval goes out at once; later ones
                // wait for the interval's end, and only the last of them is sent.
                send(value, to: topic)
            } else if partials.updateValue(value, forKey: topicKey) != nil {
                statistics.partialsCoalesced += 1
            }
        }
    }

    private func flushPartials() {
        let due = partials
        partials = [:]
        // Keys sent now count for the next interval: a key updated continuously gets one
        // message per interval; a key that went quiet sends its next update at once.
        sentThisInterval = Set(due.keys)
        for (topicKey, value) in due { send(value, to: topicKey.topic) }
    }

    private func send(_ value: String, to topic: FeedTopic) {
        guard let channels = byTopic[topic], !channels.isEmpty else { return }
        var json = JSONWriter(capacity: value.utf8.count + 64)
        json.beginObject()
        json.key("topic")
        json.string(topic.description)
        json.endObject()
        // {"topic":"…"} → {"topic":"…","data":<value>}
        var text = json.withBytes { String(decoding: $0, as: UTF8.self) }
        text.removeLast()
        text += #","data":"# + value + "}"
        // Encoded once per form (plain, compressed) and shared by every subscriber.
        let message = WebSocketOutboundMessage(text: text)
        statistics.deliveries += channels.count
        for channel in channels.values { channel.send(message) }
    }

    private func request(_ text: String, from channel: WebSocketChannel) {
        let id = ObjectIdentifier(channel)
        guard var subscriber = subscribers[id] else { return }
        let request: FeedClientRequest
        do {
            request = try FeedClientRequest(parsing: text)
        } catch {
            channel.send(text: Self.error("bad_request", message: error.message))
            return
        }
        var accepted: [FeedTopic] = []
        for name in request.topics {
            guard let topic = FeedTopic(name) else {
                channel.send(text: Self.error("unknown_topic", topic: name))
                continue
            }
            switch request.operation {
            case .subscribe:
                guard topic.isAllowed(for: subscriber.token) else {
                    statistics.forbiddenSubscriptions += 1
                    channel.send(text: Self.error("forbidden", topic: name))
                    continue
                }
                subscriber.topics.insert(topic)
                byTopic[topic, default: [:]][id] = channel
            case .unsubscribe:
                subscriber.topics.remove(topic)
                byTopic[topic]?.removeValue(forKey: id)
            }
            accepted.append(topic)
        }
        subscribers[id] = subscriber
        guard !accepted.isEmpty else { return }
        channel.send(text: Self.acknowledgement(request.operation, accepted))
        guard request.operation == .subscribe else { return }
        for topic in accepted { channel.send(text: Self.snapshot(topic, latest[topic].map { Array($0.values) } ?? [])) }
    }

    private func remove(_ id: ObjectIdentifier) {
        guard let subscriber = subscribers.removeValue(forKey: id) else { return }
        for topic in subscriber.topics { byTopic[topic]?.removeValue(forKey: id) }
    }

    // MARK: Messages

    /// `data` (a JSON object) with `"final":…` added as its last member.
    static func marked(_ data: String, final: Bool) -> String {
        var text = data
        while text.last?.isWhitespace == true { text.removeLast() }
        guard text.last == "}" else { return data }
        text.removeLast()
        let empty = text.drop { $0.isWhitespace } == "{"
        return text + (empty ? "" : ",") + #""final":"# + (final ? "true" : "false") + "}"
    }

    static func error(_ code: StaticString, topic: String? = nil, message: String? = nil) -> String {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.key("op")
        json.string("error")
        json.key("error")
        json.string(code)
        if let topic {
            json.key("topic")
            json.string(topic)
        }
        if let message {
            json.key("message")
            json.string(message)
        }
        json.endObject()
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    static func acknowledgement(_ operation: FeedClientRequest.Operation, _ topics: [FeedTopic]) -> String {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.key("op")
        json.string(operation == .subscribe ? "subscribed" : "unsubscribed")
        json.key("topics")
        json.beginArray()
        for topic in topics { json.string(topic.description) }
        json.endArray()
        json.endObject()
        return json.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    static func snapshot(_ topic: FeedTopic, _ values: [String]) -> String {
        var json = JSONWriter(capacity: 64)
        json.beginObject()
        json.key("op")
        json.string("snapshot")
        json.key("topic")
        json.string(topic.description)
        json.endObject()
        var text = json.withBytes { String(decoding: $0, as: UTF8.self) }
        text.removeLast()
        return text + #","data":["# + values.joined(separator: ",") + "]}"
    }
}
