/// One session of a key in the fast session path: its window, accumulator, and the time of
/// the timer that currently stands for it.
public struct SessionSlot<Accumulator> {
    /// The session's window `[first event, last event + gap)`.
    public var window: TimeWindow
    /// The aggregate of the session's elements.
    public var accumulator: Accumulator
    /// The time of the session's live timer (see the chain described below).
    public var timerAt: Timestamp

    /// A session of `window` with its aggregate so far and live timer.
    @inlinable
    public init(window: TimeWindow, accumulator: Accumulator, timerAt: Timestamp) {
        self.window = window
        self.accumulator = accumulator
        self.timerAt = timerAt
    }
}

/// Event-time session windows with the default trigger, without per-element timer churn.
///
/// In the general path every element that extends a session deletes the session's timer
/// and registers a new one (and moves its accumulator to the merged window's key). Here a
/// session keeps one slot, updated in place, and its timer is re-armed lazily: a session
/// holds a timer at `timerAt`; when it fires and the session has grown since, a timer is
/// registered at the session's current end instead of firing. Results are the same: a
/// session fires when the watermark passes its last timestamp (and is cleared after the
/// allowed lateness), in the same watermark advance, since timers registered while timers
/// fire are processed in the same pass.
extension WindowOperator {
    func processSessionElement(_ value: Input, _ ts: Timestamp, key: HashedKey<Key>) {
        let group = backend.ownedLocalGroup(forHash: key.hash)
        var window = TimeWindow(start: 0, end: 0)
        assigner.assignWindows(timestamp: ts, processingTime: 0) { window = $0 }
        let aggregate = self.aggregate
        let lateIfNew = isLate(window)
        var newTimer: Timestamp?
        var target: TimeWindow?
        var lateUpdate: Agg.Accumulator?
        let watermark = timers.currentWatermark
        var empty = false
        sessionSlots.modify(key, localGroup: group, stamp: 0, expiredAtOrBefore: nil, initial: { SessionSlots() }) { slots in
            var first: Int?
            var merged = window
            // Sessions of a key are disjoint and few: fold every one the (growing) cover
            // intersects into the first one found; repeat until the cover stops growing.
            var changed = true
            while changed {
                changed = false
                var i = 0
                while i < slots.count {
                    guard i != first, slots[i].window.intersects(merged) else {
                        i += 1
                        continue
                    }
                    merged = merged.cover(slots[i].window)
                    changed = true
                    if let f = first {
                        let other = slots.remove(at: i)
                        slots.withSlot(f) { kept in
                            aggregate.merge(other.accumulator, into: &kept.accumulator)
                            kept.timerAt = min(kept.timerAt, other.timerAt)
                        }
                        if i < f { first = f - 1 }
                        continue
                    }
                    first = i
                    i += 1
                }
            }
            if let f = first {
                slots.withSlot(f) { slot in
                    slot.window = merged
                    aggregate.add(value, to: &slot.accumulator)
                }
                target = merged
                // Within the allowed lateness, a late element updates an already fired session.
                if merged.maxTimestamp <= watermark { lateUpdate = slots[f].accumulator }
            } else if !lateIfNew {
                var acc = aggregate.createAccumulator()
                aggregate.add(value, to: &acc)
                let fireAt = window.maxTimestamp
                slots.append(SessionSlot(window: window, accumulator: acc, timerAt: fireAt))
                newTimer = fireAt
                target = window
            }
            empty = slots.isEmpty
        }
        if empty { sessionSlots.remove(key, localGroup: group) }
        guard let target else {
            dropIfLate(value, ts)
            return
        }
        if let newTimer {
            timers.registerEventTimeTimer(newTimer, key: key, namespace: target)
        }
        if let lateUpdate {
            windowsFired.increment()
            output.emit(WindowResult(key: key.key, window: target, value: aggregate.result(lateUpdate), firing: .late),
                        timestamp: target.maxTimestamp)
        }
    }

    func onSessionTimer(_ timer: InternalTimer<Key, TimeWindow>) {
        let time = timer.time
        let stale = timer.namespace
        let cleanupOf = { (w: TimeWindow) in self.cleanupTime(w) }
        // One lookup, which also removes the key's entry when its last session goes (a key
        // without sessions has no entry: its timers are stale and find nothing). What to do
        // comes back as the closure's result, not through captured variables (which the
        // closure would box).
        typealias Outcome = (fire: (TimeWindow, Agg.Accumulator)?, rearm: (Timestamp, TimeWindow)?)
        let outcome = sessionSlots.modifyExisting(backend, ttl: nil) { slots -> (result: Outcome, remove: Bool) in
            // The session that the timer's window has become part of.
            guard let i = slots.firstIndex(where: { $0.window.start <= stale.start && stale.end <= $0.window.end }),
                  slots[i].timerAt == time else { return ((nil, nil), false) }
            // The slot's fields are read in place: a copy of the slot retains everything its
            // accumulator holds, and most timers only re-arm.
            let window = slots[i].window
            let cleanup = cleanupOf(window)
            if time >= cleanup {
                let slot = slots.remove(at: i)
                return ((time == window.maxTimestamp ? (window, slot.accumulator) : nil, nil), slots.isEmpty)
            }
            let fire = time == window.maxTimestamp ? (window, slots[i].accumulator) : nil
            let next = time < window.maxTimestamp ? window.maxTimestamp : cleanup
            slots.withSlot(i) { $0.timerAt = next }
            return ((fire, (next, window)), false)
        }
        guard let (fire, rearm) = consume outcome else { return }
        if let (window, acc) = fire {
            windowsFired.increment()
            output.emit(WindowResult(key: backend.currentKey, window: window, value: aggregate.result(acc), firing: .onTime),
                        timestamp: window.maxTimestamp)
        }
        if let (at, window) = rearm {
            timers.registerEventTimeTimer(at, key: backend.currentHashedKey, namespace: window)
        }
    }
}
