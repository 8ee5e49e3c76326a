@testable import RunnelCore
import RunnelTesting
import Testing

/// The timer service against a reference: random registrations and deletions, timers
/// registered while others fire (some already due), and watermarks in random steps. Timers
/// must fire exactly once, earliest first, exactly when the watermark reaches them.
@Suite struct TimerQueueOrderTests {
    @Test(arguments: [1, 2, 3, 4, 5])
    func firesEarliestFirstAgainstAReference(seed: UInt64) {
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
                let time = timer.time + Int64(rng.next() % 40) - 20
                register(max(time, 0), "r\(rng.next() % 50)")
            }
        }
        for _ in 0..<300 {
            for _ in 0..<Int(rng.next() % 8) {
                register(watermark + Int64(rng.next() % 200) - 10, "k\(rng.next() % 30)")
            }
            if rng.next() % 3 == 0, let victim = pending.randomElement(using: &rng) {
                service.deleteEventTimeTimer(victim.time, key: victim.hashedKey, namespace: NoNamespace())
                pending.remove(victim)
            }
            watermark += Int64(rng.next() % 50)
            service.advanceWatermark(to: watermark)
            // Everything due has fired (timers registered during firing included).
            #expect(!pending.contains { $0.time <= watermark }, "a due timer did not fire")
        }
        #expect(service.timerCounts.eventTime == pending.count)
        #expect(service.eventTimeTimers == pending)
    }
}
