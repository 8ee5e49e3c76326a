/// A stream of elements in a job being built (Flink's `DataStream`).
///
/// Each method adds a named step and returns the stream it produces. Functions passed in
/// run on every subtask's thread, hence `@Sendable`.
public struct DataStream<Element> {
    let environment: StreamEnvironment
    let node: Int

    /// Adds a step whose operator is made per subtask by `make` from its setup and output.
    func transform<Out>(_ name: String, inputs: [GraphEdge]? = nil,
                        make: @escaping (OperatorSetup, Emitter<Out>) throws -> ElementHandler<Element>) -> DataStream<Out> {
        let n = environment.addNode(name, role: .transform)
        n.inputs = inputs ?? [TypedEdge<Element>(from: node)]
        n.makeEmitter = { Emitter<Out>(recordsOut: $0) }
        n.instantiate = { setup, emitter in HandlerBox(try make(setup, emitter as! Emitter<Out>)) }
        n.makeGate = { channels, handler in
            InputGate(channels: channels.map { $0 as! Channel<Element> }, handler: (handler as! HandlerBox<Element>).handler)
        }
        return DataStream<Out>(environment: environment, node: n.id)
    }

    /// Transforms each element.
    public func map<Out>(_ name: String, _ transform: @escaping @Sendable (Element) -> Out) -> DataStream<Out> {
        self.transform(name) { setup, out in
            let recordsIn = setup.counter("records_in")
            return ElementHandler(
                lentElement: { v, ts in recordsIn.increment(); out.emit(transform(v), timestamp: ts) },
                watermark: out.emitWatermark, endOfInput: out.emitEndOfInput)
        }
    }

    /// Keeps the elements for which `isIncluded` is true.
    public func filter(_ name: String, _ isIncluded: @escaping @Sendable (Element) -> Bool) -> DataStream<Element> {
        self.transform(name) { setup, out in
            let recordsIn = setup.counter("records_in")
            return ElementHandler(
                element: { v, ts in recordsIn.increment(); if isIncluded(v) { out.emit(consume v, timestamp: ts) } },
                lentElement: { v, ts in recordsIn.increment(); if isIncluded(v) { out.lend(v, timestamp: ts) } },
                watermark: out.emitWatermark, endOfInput: out.emitEndOfInput)
        }
    }

    /// Transforms each element into zero or more elements, emitted through the second argument.
    public func flatMap<Out>(_ name: String, _ transform: @escaping @Sendable (Element, (Out) -> Void) -> Void) -> DataStream<Out> {
        self.transform(name) { setup, out in
            let recordsIn = setup.counter("records_in")
            return ElementHandler(
                // Lent: the transform's callback borrows what it emits (often a part of its
                // input), so a step after it that only reads records needs no copy.
                lentElement: { v, ts in recordsIn.increment(); transform(v) { out.lend($0, timestamp: ts) } },
                watermark: out.emitWatermark, endOfInput: out.emitEndOfInput)
        }
    }

    /// Runs a custom ``ProcessFunction``; `function` is evaluated once per subtask.
    public func process<F: ProcessFunction>(_ name: String, _ function: @escaping @autoclosure @Sendable () -> F) -> DataStream<F.Output> where F.Input == Element {
        self.transform(name) { setup, out in
            try ProcessOperator(function: function(), setup: setup, output: out).handler
        }
    }

    /// Partitions the stream by key: elements with equal keys go to the same subtask.
    public func keyBy<Key: StreamKey>(_ key: @escaping @Sendable (Element) -> Key) -> KeyedStream<Key, Element> {
        KeyedStream(stream: self, key: key)
    }

    /// Merges this stream with others of the same type.
    public func union(_ name: String, _ others: DataStream<Element>...) -> DataStream<Element> {
        union(name, others)
    }

    /// Merges this stream with the streams in `others` (of the same type).
    public func union(_ name: String, _ others: [DataStream<Element>]) -> DataStream<Element> {
        let edges = ([self] + others).map { TypedEdge<Element>(from: $0.node) as GraphEdge }
        return self.transform(name, inputs: edges) { setup, out in
            // End of input arrives once per chained input and once from an input gate.
            var endsToSee = setup.endOfInputCount
            return ElementHandler(
                element: { v, ts in out.emit(consume v, timestamp: ts) },
                lentElement: { v, ts in out.lend(v, timestamp: ts) },
                watermark: out.emitWatermark,
                endOfInput: {
                    endsToSee -= 1
                    if endsToSee == 0 { out.emitEndOfInput() }
                })
        }
    }

    /// The side output `tag` of this stream's step.
    public func sideOutput<T>(_ tag: OutputTag<T>) -> DataStream<T> {
        let n = environment.addNode("\(environment.nodes[node].name)#\(tag.id)", role: .sideOutput(parent: node))
        n.makeEmitter = { Emitter<T>(recordsOut: $0) }
        n.registerSideOutput = { sideOutputs, parent, emitter in
            let side = emitter as! Emitter<T>
            sideOutputs.register(tag, side)
            // The side stream follows its parent step's time: without this its consumers
            // would never see a watermark or the end of input (and a file sink never finishes).
            (parent as! Emitter<Element>).connectControl(watermark: side.emitWatermark, endOfInput: side.emitEndOfInput)
        }
        return DataStream<T>(environment: environment, node: n.id)
    }

    /// Writes the stream to a sink.
    public func sink<S: Sink>(_ name: String, _ sink: S) where S.Input == Element {
        let n = environment.addNode(name, role: .sink)
        n.inputs = [TypedEdge<Element>(from: node)]
        n.instantiate = { setup, _ in
            let writer = try sink.createWriter(subtask: setup.subtask, parallelism: setup.parallelism)
            let recordsIn = setup.counter("records_in")
            let fail = setup.reportFailure
            var failed = false
            var finished = false
            setup.onClose { if !finished { writer.close() } }
            let (step, subtask) = (setup.name, setup.subtask)
            try writer.restore(from: setup.restored?.parts.map(\.payload) ?? [])
            setup.onCheckpoint { barrier in
                guard let part = try writer.prepareCheckpoint(checkpointID: barrier.id) else { return nil }
                guard let makeDurable = part.makeDurable else {
                    return CheckpointPart(checkpointID: barrier.id, step: step, subtask: subtask, payload: part.payload)
                }
                let payload = part.payload
                return CheckpointPart(checkpointID: barrier.id, step: step, subtask: subtask) {
                    try makeDurable()
                    return payload
                }
            }
            setup.onFinishedCheckpoint {
                try writer.finishedState().map { CheckpointPart(checkpointID: 0, step: step, subtask: subtask, payload: $0) }
            }
            setup.onCheckpointComplete { id in try writer.checkpointComplete(id) }
            return HandlerBox(ElementHandler<Element>(
                lentElement: { v, ts in
                    recordsIn.increment()
                    guard !failed else { return }
                    do { try writer.write(v, timestamp: ts) } catch { failed = true; fail(error) }
                },
                watermark: { _ in },
                endOfInput: {
                    guard !failed else { return }
                    finished = true
                    do { try writer.finish() } catch { failed = true; fail(error) }
                }))
        }
        n.makeGate = { channels, handler in
            InputGate(channels: channels.map { $0 as! Channel<Element> }, handler: (handler as! HandlerBox<Element>).handler)
        }
    }
}
