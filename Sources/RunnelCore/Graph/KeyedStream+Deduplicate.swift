extension KeyedStream {
    /// Keeps the first element of each key and drops the later ones while the key is
    /// remembered (Flink SQL's keep-first-row deduplication): the built-in step for
    /// dropping events delivered twice, keyed by their id.
    ///
    /// A key is remembered for `ttl` from its first element; a later element does not
    /// extend that. With an event-time TTL (the default) the result is deterministic under
    /// replay: a key is forgotten once the watermark is `ttl` past its first element's
    /// timestamp. Dropped elements are counted (metric `duplicates`) and go to
    /// `duplicatesTag`'s side output when one is given.
    ///
    /// The step's state is the value state `seen` (one flag per key, with the TTL), as a
    /// ``KeyedProcessFunction`` keeping the same state would declare it: checkpoints of a
    /// step of that name restore into either. See `DeduplicateOperator` for what this step
    /// saves per element against such a function.
    /// - Parameters:
    ///   - name: the step's name (its state's place in checkpoints).
    ///   - ttl: how long a key is remembered (default: one hour of event time).
    ///   - duplicatesTag: where dropped elements go, if anywhere.
    public func deduplicate(_ name: String, ttl: StateTTL = StateTTL(.seconds(3600), timeDomain: .eventTime),
                            duplicatesTag: OutputTag<Element>? = nil) -> DataStream<Element> {
        let key = self.key
        return stream.transform(name, inputs: [hashEdge]) { setup, out in
            try DeduplicateOperator(ttl: ttl, duplicatesTag: duplicatesTag, keyOf: key, setup: setup, output: out).handler
        }
    }
}
