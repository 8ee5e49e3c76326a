/// The path of tumbling and sliding event-time windows with the default trigger
/// (``EventTimeTrigger``) and no allowed lateness: the configuration of most windowed
/// aggregations, taken without the general trigger machinery.
///
/// With that trigger and no lateness, what the general path does per element reduces to:
/// drop the windows the watermark has passed, add the element to the others, and register
/// one timer at a window's end when its state is created. A window fires exactly once, at
/// that timer, and its state goes with it. This path does the same with one state lookup per
/// element (not one per window), the windows computed in place (not through the assigner's
/// callback) and no trigger context. Its state and timers are the general path's, so
/// checkpoints are interchangeable between the two.
extension WindowOperator {
    /// The layout of the built-in tumbling and sliding assigners: windows of `size`
    /// milliseconds starting every `slide` milliseconds (shifted by `offset`); a tumbling
    /// window is one whose slide is its size. Up to 64 windows an element (see
    /// `processEventTimeElement`); more take the general path.
    struct WindowLayout {
        var size: Int64
        var slide: Int64
        var offset: Int64

        /// The layout of `assigner` when it is a built-in tumbling or sliding assigner.
        init?(_ assigner: Assigner) {
            if let tumbling = assigner as? TumblingWindows {
                (size, slide, offset) = (tumbling.size, tumbling.size, tumbling.offset)
            } else if let sliding = assigner as? SlidingWindows {
                (size, slide, offset) = (sliding.size, sliding.slide, sliding.offset)
            } else {
                return nil
            }
            guard size / slide < 64 else { return nil }
        }
    }

    func processEventTimeElement(_ value: Input, _ ts: Timestamp, key: HashedKey<Key>, layout: WindowLayout) {
        let watermark = timers.currentWatermark
        // The windows of the element, newest first (as the assigners list them, so that the
        // state holds them in the same order): the newest ends last, so when it is late all
        // are, and the key must not get an empty entry.
        let newest = windowStart(ts, size: layout.slide, offset: layout.offset)
        // (With a slide longer than the size, an element can fall between windows.)
        let oldestStartAfter = ts &- layout.size
        guard newest > oldestStartAfter, (newest &+ layout.size) &- 1 > watermark else {
            dropIfLate(value, ts)
            return
        }
        // Bit i set: the i-th window (newest first) was created, and needs its timer. What to
        // do comes back as the closure's result, not through captured variables (which the
        // closure would box).
        let aggregate = self.aggregate
        let created = contents.modify(key, localGroup: backend.ownedLocalGroup(forHash: key.hash), stamp: 0,
                                      expiredAtOrBefore: nil, initial: { WindowMap() }) { windows -> UInt64 in
            var created: UInt64 = 0
            var start = newest
            var i: UInt64 = 0
            while start > oldestStartAfter {
                let window = TimeWindow(start: start, end: start &+ layout.size)
                if window.maxTimestamp <= watermark { break }
                if windows.update(window, initial: { aggregate.createAccumulator() }, { aggregate.add(value, to: &$0) }) {
                    created |= 1 << i
                }
                start &-= layout.slide
                i += 1
            }
            return created
        }
        guard created != 0 else { return }
        // The created windows' one timer each: it fires the window and clears its state.
        var start = newest
        var bits = created
        while bits != 0 {
            if bits & 1 != 0 {
                let window = TimeWindow(start: start, end: start &+ layout.size)
                timers.registerEventTimeTimer(window.maxTimestamp, key: key, namespace: window)
            }
            start &-= layout.slide
            bits >>= 1
        }
    }

    /// A window's end timer: fires the window with its contents, which leave the state.
    ///
    /// A later timer of the window can only come from a checkpoint of the job run with
    /// allowed lateness (its cleanup timer): as on the general path, it clears what is left
    /// of the window without firing it.
    func onEventTimeWindowTimer(_ timer: InternalTimer<Key, TimeWindow>) {
        let window = timer.namespace
        guard timer.time >= window.maxTimestamp else { return }
        guard let acc = takeContents(window), timer.time == window.maxTimestamp else { return }
        windowsFired.increment()
        output.emit(WindowResult(key: backend.currentKey, window: window, value: aggregate.result(acc), firing: .onTime),
                    timestamp: window.maxTimestamp)
    }
}
