import CreatorAnalyticsKit
import RunnelHTTP
import RunnelHTTPServer
import RunnelOperators

extension EventCollector {
    /// A collector feeding an in-memory queue, whose answers come at once.
    convenience init(queue: EventQueue<CreatorEvent>, deadLetters: DeadLetterLog? = nil) {
        self.init(store: EventQueueStore(queue: queue), deadLetters: deadLetters)
    }

    /// The answer to `request`, from a store that answers at once.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        var answer: HTTPResponse?
        handle(request) { answer = $0 }
        return answer!
    }
}
