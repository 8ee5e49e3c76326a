import RunnelCore

// Reference computations of window results, written without the engine's window code:
// per key, sort by time and compute each window's contents directly.

enum WindowReference {
    /// Elements grouped by key, sorted by time.
    static func byKey(_ events: [Ev]) -> [String: [Ev]] {
        Dictionary(grouping: events, by: \.key).mapValues { $0.sorted { $0.t < $1.t } }
    }

    /// Tumbling windows of `size` aligned to `offset` (any offset, any sign).
    static func tumbling(_ events: [Ev], size: Int64, offset: Int64) -> [Fired] {
        var sums: [String: [Timestamp: Int]] = [:]
        for (key, evs) in byKey(events) {
            for e in evs {
                let start = floorDiv(e.t - offset, size) * size + offset
                sums[key, default: [:]][start, default: 0] += e.v
            }
        }
        return sums.flatMap { key, m in m.map { Fired(key, $0.key, $0.key + size, $0.value) } }.sorted()
    }

    /// Sliding windows: every `[s, s + size)` with `s ≡ offset (mod slide)` holding an element.
    static func sliding(_ events: [Ev], size: Int64, slide: Int64, offset: Int64) -> [Fired] {
        var out: [Fired] = []
        for (key, evs) in byKey(events) {
            let times = evs.map(\.t)
            var prefix = [0]
            for e in evs { prefix.append(prefix.last! + e.v) }
            // index of the first time >= x
            func lowerBound(_ x: Timestamp) -> Int {
                var lo = 0, hi = times.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if times[mid] < x { lo = mid + 1 } else { hi = mid }
                }
                return lo
            }
            guard let first = times.first, let last = times.last else { continue }
            // The smallest aligned start whose window can hold `first`.
            var s = floorDiv(first - size - offset, slide) * slide + offset
            while s <= last {
                let lo = lowerBound(s), hi = lowerBound(s + size)
                if hi > lo { out.append(Fired(key, s, s + size, prefix[hi] - prefix[lo])) }
                s += slide
            }
        }
        return out.sorted()
    }

    /// Session windows: a key's elements sorted by time; a new session starts at an element
    /// `gap` or more after the previous one.
    static func sessions(_ events: [Ev], gap: Int64) -> [Fired] {
        var out: [Fired] = []
        for (key, evs) in byKey(events) {
            var current: (start: Timestamp, end: Timestamp, sum: Int)?
            for e in evs {
                if let c = current, e.t < c.end {
                    current = (c.start, max(c.end, e.t + gap), c.sum + e.v)
                } else {
                    if let c = current { out.append(Fired(key, c.start, c.end, c.sum)) }
                    current = (e.t, e.t + gap, e.v)
                }
            }
            if let c = current { out.append(Fired(key, c.start, c.end, c.sum)) }
        }
        return out.sorted()
    }

    // MARK: Exact simulation with late data (one split, a watermark after every element)

    /// Simulates a non-merging event-time window operator with the default trigger, fed one
    /// element per source read: the watermark after element `i` is `max(t[0...i]) − bound − 1`.
    /// Returns every firing (with its kind) and the elements that were late for all their windows.
    static func simulate(_ events: [Ev], bound: Int64, lateness: Int64,
                         windowsOf: (Timestamp) -> [(start: Timestamp, end: Timestamp)]) -> (fired: [Fired], late: [Ev]) {
        struct W: Hashable { var key: String; var start: Timestamp; var end: Timestamp }
        var contents: [W: Int] = [:]
        var pending = Set<W>()  // created before the watermark passed them: fire on time
        var fired: [Fired] = []
        var late: [Ev] = []
        var wm = Timestamp.min
        var maxSeen = Timestamp.min

        func advance(to newWm: Timestamp) {
            guard newWm > wm else { return }
            wm = newWm
            for w in pending where w.end - 1 <= wm {
                fired.append(Fired(w.key, w.start, w.end, contents[w]!, .onTime))
                pending.remove(w)
            }
        }

        for e in events {
            var accepted = false
            for (start, end) in windowsOf(e.t) {
                let w = W(key: e.key, start: start, end: end)
                let maxTimestamp = end - 1
                if wm != .min && maxTimestamp + lateness <= wm { continue }
                accepted = true
                let isNew = contents[w] == nil
                contents[w, default: 0] += e.v
                if wm != .min && maxTimestamp <= wm {
                    fired.append(Fired(e.key, start, end, contents[w]!, .late))
                } else if isNew {
                    pending.insert(w)
                }
            }
            // Late: in no open window while the watermark is past the element (an element
            // that belongs to no window at all, e.g. in a gap between sampling windows, is
            // only dropped, not late, while the watermark is behind it).
            if !accepted && wm != .min && e.t + lateness <= wm { late.append(e) }
            maxSeen = max(maxSeen, e.t)
            advance(to: maxSeen - bound - 1)
        }
        advance(to: .max)
        return (fired.sorted(), late)
    }

    /// Simulates session windows without allowed lateness, like ``simulate(_:bound:lateness:windowsOf:)``.
    static func simulateSessions(_ events: [Ev], bound: Int64, gap: Int64) -> (fired: [Fired], late: [Ev]) {
        struct S { var start: Timestamp; var end: Timestamp; var sum: Int }
        var sessions: [String: [S]] = [:]
        var fired: [Fired] = []
        var late: [Ev] = []
        var wm = Timestamp.min
        var maxSeen = Timestamp.min

        func advance(to newWm: Timestamp) {
            guard newWm > wm else { return }
            wm = newWm
            for (key, list) in sessions {
                for s in list where s.end - 1 <= wm { fired.append(Fired(key, s.start, s.end, s.sum)) }
                sessions[key] = list.filter { $0.end - 1 > wm }
            }
        }

        for e in events {
            var merged = S(start: e.t, end: e.t + gap, sum: e.v)
            var list = sessions[e.key] ?? []
            var absorbedAny = false
            var changed = true
            while changed {
                changed = false
                if let i = list.firstIndex(where: { $0.start < merged.end && merged.start < $0.end }) {
                    let s = list.remove(at: i)
                    merged = S(start: min(s.start, merged.start), end: max(s.end, merged.end), sum: s.sum + merged.sum)
                    absorbedAny = true
                    changed = true
                }
            }
            if !absorbedAny && wm != .min && e.t + gap - 1 <= wm {
                late.append(e)
            } else {
                list.append(merged)
                sessions[e.key] = list
            }
            maxSeen = max(maxSeen, e.t)
            advance(to: maxSeen - bound - 1)
        }
        advance(to: .max)
        return (fired.sorted(), late)
    }

    /// The windows `[s, s + size)`, `s ≡ offset (mod slide)`, that contain `t`.
    static func slidingWindows(_ t: Timestamp, size: Int64, slide: Int64, offset: Int64) -> [(start: Timestamp, end: Timestamp)] {
        var out: [(start: Timestamp, end: Timestamp)] = []
        var s = floorDiv(t - offset, slide) * slide + offset  // the last start at or before t
        while s > t - size {
            out.append((s, s + size))
            s -= slide
        }
        return out
    }
}
