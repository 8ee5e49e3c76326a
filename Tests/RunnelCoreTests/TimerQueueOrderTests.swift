@testable import RunnelCore
import RunnelTesting
import Testing

/// The timer service against a reference: random registrations and deletions, timers
/// registered while others fire (some already due), and watermarks in random steps. Timers
/// must fire exactly once, earliest first, exactly when the watermark reaches them.
@Suite struct TimerQueueOrderTests {
    /// `scale` stretches the times: at 1 they fall in one or two of the queue's 1,024 ms
    /// buckets (sorted when taken, timers registered into the one being popped); at 40 they
    /// spread over many (put back when an earlier one is registered while one is popped).
    @Test(arguments: [1, 2, 3, 4, 5], [1, 40] as [Int64])
    func firesEarliestFirstAgainstAReference(seed: UInt64, scale: Int64) {
        var rng = SplitMix(seed: seed)
        let service = InternalTimerService<String, NoNamespace>(processingTimeService: ManualClock(start: 0))
        var pending: Set<InternalTimer<String, NoNamespace>> = []
        var fired: [InternalTimer<String, NoNamespace>] = []
        var watermark: Timestamp = 0
        func register(_ time: Timestamp, _ key: String) {
            let timer = InternalTimer(time: time, key: HashedKey(key), namespace: NoNamespace())
            service.registerEventTimeTimer(time, key: timer.hashedKey, namespace: NoNamespace())
            pending.insert(timer)
        }
        service.onEventTime = { timer in
            #expect(timer.time <= watermark)
            // The earliest registered timer fires first (one registered during firing for an
            // earlier time than the last one fired is the earliest then).
            #expect(timer.time == pending.map(\.time).min(), "not the earliest: \(timer.time)")
            #expect(pending.remove(timer) != nil, "fired twice or never registered: \(timer)")
            fired.append(timer)
            // Sometimes register another timer while firing: due already, or later.
            if rng.next() % 4 == 0 {
                let time = timer.time + (Int64(rng.next() % 40) - 20) * scale
                register(max(time, 0), "r\(rng.next() % 50)")
            }
        }
        for _ in 0..<300 {
            for _ in 0..<Int(rng.next() % 8) {
                register(watermark + (Int64(rng.next() % 200) - 10) * scale, "k\(rng.next() % 30)")
            }
            if rng.next() % 3 == 0, let victim = pending.randomElement(using: &rng) {
                service.deleteEventTimeTimer(victim.time, key: victim.hashedKey, namespace: NoNamespace())
                pending.remove(victim)
            }
            watermark += Int64(rng.next() % 50) * scale
            service.advanceWatermark(to: watermark)
            // Everything due has fired (timers registered during firing included).
            #expect(!pending.contains { $0.time <= watermark }, "a due timer did not fire")
        }
        #expect(service.timerCounts.eventTime == pending.count)
        #expect(service.eventTimeTimers == pending)
    }

    /// Without deduplication (timers distinct by construction, as window operators whose
    /// timers follow from their state register them): every registration fires once,
    /// deleting does nothing, and the order is still earliest first, against a reference.
    /// (Registering a pending timer again breaks the queue's contract; debug builds assert.)
    @Test(arguments: [1, 2, 3], [1, 40] as [Int64])
    func withoutDeduplicationEveryRegistrationFiresOnceInOrder(seed: UInt64, scale: Int64) {
        var rng = SplitMix(seed: seed)
        let service = InternalTimerService<String, NoNamespace>(processingTimeService: ManualClock(start: 0),
                                                                eventTimersDistinctByConstruction: true)
        var pending: [InternalTimer<String, NoNamespace>: Int] = [:]
        var watermark: Timestamp = 0
        func register(_ time: Timestamp, _ key: String) {
            let timer = InternalTimer(time: time, key: HashedKey(key), namespace: NoNamespace())
            guard pending[timer] == nil else { return } // distinct while pending: the contract
            service.registerEventTimeTimer(time, key: timer.hashedKey, namespace: NoNamespace())
            pending[timer, default: 0] += 1
        }
        service.onEventTime = { timer in
            #expect(timer.time <= watermark)
            #expect(timer.time == pending.keys.map(\.time).min(), "not the earliest: \(timer.time)")
            #expect(pending[timer] != nil, "fired more often than registered: \(timer)")
            pending[timer] = pending[timer].flatMap { $0 > 1 ? $0 - 1 : nil }
            if rng.next() % 4 == 0 {
                register(max(timer.time + (Int64(rng.next() % 40) - 20) * scale, 0), "r\(rng.next() % 20)")
            }
        }
        for _ in 0..<300 {
            for _ in 0..<Int(rng.next() % 8) {
                register(watermark + (Int64(rng.next() % 200) - 10) * scale, "k\(rng.next() % 10)")
            }
            if rng.next() % 3 == 0, let victim = pending.keys.randomElement(using: &rng) {
                // Does nothing here: the timer still fires.
                service.deleteEventTimeTimer(victim.time, key: victim.hashedKey, namespace: NoNamespace())
            }
            #expect(service.timerCounts.eventTime == pending.values.reduce(0, +))
            #expect(service.eventTimeTimers == Set(pending.keys))
            watermark += Int64(rng.next() % 50) * scale
            service.advanceWatermark(to: watermark)
            #expect(!pending.keys.contains { $0.time <= watermark }, "a due timer did not fire")
        }
        watermark = Watermark.endOfTime
        service.advanceWatermark(to: watermark)
        #expect(pending.isEmpty)
        #expect(service.timerCounts.eventTime == 0)
    }

    /// Timers of one time fire in registration order, also when they were registered into
    /// a bucket being popped, or into one put back by an earlier registration, and when
    /// their bucket was not sorted as registered.
    @Test(arguments: [true, false])
    func equalTimesFireInRegistrationOrder(deduplicates: Bool) {
        let service = InternalTimerService<String, NoNamespace>(processingTimeService: ManualClock(start: 0),
                                                                eventTimersDistinctByConstruction: !deduplicates)
        var fired: [String] = []
        func register(_ time: Timestamp, _ key: String) {
            service.registerEventTimeTimer(time, key: HashedKey(key), namespace: NoNamespace())
        }
        service.onEventTime = { timer in
            fired.append(timer.key)
            if timer.key == "c" { register(500, "d") }      // same bucket, being popped: after a and b
            if timer.key == "a" { register(500, "k") }      // the same, ahead of a later pending one (x)
            if timer.key == "d" { register(400, "e") }      // earlier time, same bucket
            if timer.key == "f" { register(-3_000, "g") }   // an earlier bucket: puts this one back
            if timer.key == "g" { register(2_500, "j") }    // into the put-back bucket, after i
        }
        register(500, "a")
        register(500, "b")
        register(300, "c")
        register(600, "x")
        register(2_500, "f")
        register(2_600, "h")
        register(2_500, "i")
        register(Int64.min + 1, "min")
        register(Int64.max - 1, "max")
        service.advanceWatermark(to: 1_000)
        #expect(fired == ["min", "c", "a", "b", "d", "e", "k", "x"]) // e (400) is pending before k
        service.advanceWatermark(to: 5_000)
        #expect(fired == ["min", "c", "a", "b", "d", "e", "k", "x", "f", "g", "i", "j", "h"])
        service.advanceWatermark(to: Watermark.endOfTime)
        #expect(fired.last == "max" && fired.count == 14)
    }
}
