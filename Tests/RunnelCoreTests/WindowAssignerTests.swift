import RunnelCore
import Testing

/// The pure window arithmetic: assigners and ``TimeWindow``.
@Suite struct WindowAssignerTests {
    private func windows(_ a: some WindowAssigner, _ t: Timestamp, now: Timestamp = 0) -> [TimeWindow] {
        var out: [TimeWindow] = []
        a.assignWindows(timestamp: t, processingTime: now) { out.append($0) }
        return out.sorted()
    }

    @Test func timeWindowBasics() {
        let w = TimeWindow(start: 10, end: 20)
        #expect(w.maxTimestamp == 19)
        #expect(w.intersects(TimeWindow(start: 19, end: 30)))
        #expect(w.intersects(TimeWindow(start: 0, end: 11)))
        #expect(w.intersects(TimeWindow(start: 12, end: 13)))
        // Windows that only touch do not intersect, in both directions.
        #expect(!w.intersects(TimeWindow(start: 20, end: 30)))
        #expect(!w.intersects(TimeWindow(start: 0, end: 10)))
        #expect(w.cover(TimeWindow(start: 25, end: 40)) == TimeWindow(start: 10, end: 40))
        #expect(w.cover(TimeWindow(start: -5, end: 12)) == TimeWindow(start: -5, end: 20))
        #expect(TimeWindow(start: 1, end: 5) < TimeWindow(start: 1, end: 6))
        #expect(TimeWindow(start: 0, end: 9) < TimeWindow(start: 1, end: 2))
    }

    @Test func durationMilliseconds() {
        #expect(Duration.milliseconds(1500).milliseconds == 1500)
        #expect(Duration.seconds(3).milliseconds == 3000)
        #expect(Duration.microseconds(2999).milliseconds == 2)
        #expect(Duration.seconds(-2).milliseconds == -2000)
    }

    @Test func tumblingAlignsToEpoch() {
        let a = TumblingWindows(.milliseconds(10))
        #expect(a.isEventTime && !a.isMerging)
        #expect(windows(a, 0) == [TimeWindow(start: 0, end: 10)])
        #expect(windows(a, 9) == [TimeWindow(start: 0, end: 10)])
        #expect(windows(a, 10) == [TimeWindow(start: 10, end: 20)])
        #expect(windows(a, 12_345) == [TimeWindow(start: 12_340, end: 12_350)])
    }

    @Test func tumblingWithNegativeTimestamps() {
        let a = TumblingWindows(.milliseconds(10))
        #expect(windows(a, -1) == [TimeWindow(start: -10, end: 0)])
        #expect(windows(a, -10) == [TimeWindow(start: -10, end: 0)])
        #expect(windows(a, -11) == [TimeWindow(start: -20, end: -10)])
        #expect(windows(a, -9) == [TimeWindow(start: -10, end: 0)])
    }

    @Test func tumblingWithOffset() {
        let a = TumblingWindows(.milliseconds(10), offset: .milliseconds(3))
        #expect(windows(a, 3) == [TimeWindow(start: 3, end: 13)])
        #expect(windows(a, 2) == [TimeWindow(start: -7, end: 3)])
        #expect(windows(a, 12) == [TimeWindow(start: 3, end: 13)])
        #expect(windows(a, 13) == [TimeWindow(start: 13, end: 23)])
        #expect(windows(a, -8) == [TimeWindow(start: -17, end: -7)])
        // An offset of a whole size or more is reduced modulo the size.
        let b = TumblingWindows(.milliseconds(10), offset: .milliseconds(23))
        #expect(windows(b, 5) == [TimeWindow(start: 3, end: 13)])
        // A negative offset shifts the other way.
        let c = TumblingWindows(.milliseconds(10), offset: .milliseconds(-3))
        #expect(windows(c, 7) == [TimeWindow(start: 7, end: 17)])
        #expect(windows(c, 6) == [TimeWindow(start: -3, end: 7)])
    }

    @Test func tumblingContainsItsElementForManyTimestamps() {
        for size in [1, 2, 7, 10, 60_000] as [Int64] {
            for offset in [0, 1, size / 2, size - 1] as [Int64] {
                let a = TumblingWindows(.milliseconds(size), offset: .milliseconds(offset))
                let lo: Int64 = -3 * size - 5
                let hi: Int64 = 3 * size + 5
                let step = Int(max(1, size / 7))
                for t in stride(from: lo, through: hi, by: step) {
                    let ws = windows(a, t)
                    #expect(ws.count == 1)
                    guard let w = ws.first else { continue }
                    #expect(w.start <= t && t < w.end)
                    #expect(w.end - w.start == size)
                    let phase: Int64 = ((w.start - offset) % size + size) % size
                    #expect(phase == 0)
                }
            }
        }
    }

    @Test func processingTimeAssignersUseTheClock() {
        let a = TumblingWindows(.seconds(1), domain: .processingTime)
        #expect(!a.isEventTime)
        #expect(windows(a, 5, now: 2500) == [TimeWindow(start: 2000, end: 3000)])
        let s = SlidingWindows(size: .seconds(2), slide: .seconds(1), domain: .processingTime)
        #expect(windows(s, 5, now: 2500) == [TimeWindow(start: 1000, end: 3000), TimeWindow(start: 2000, end: 4000)])
        let g = SessionWindows(gap: .seconds(1), domain: .processingTime)
        #expect(windows(g, 5, now: 2500) == [TimeWindow(start: 2500, end: 3500)])
    }

    @Test func slidingElementIsInSizeOverSlideWindows() {
        let a = SlidingWindows(size: .milliseconds(10), slide: .milliseconds(5))
        #expect(!a.isMerging)
        #expect(windows(a, 0) == [TimeWindow(start: -5, end: 5), TimeWindow(start: 0, end: 10)])
        #expect(windows(a, 4) == [TimeWindow(start: -5, end: 5), TimeWindow(start: 0, end: 10)])
        #expect(windows(a, 5) == [TimeWindow(start: 0, end: 10), TimeWindow(start: 5, end: 15)])
        #expect(windows(a, -1) == [TimeWindow(start: -10, end: 0), TimeWindow(start: -5, end: 5)])
        let b = SlidingWindows(size: .milliseconds(30), slide: .milliseconds(10))
        #expect(windows(b, 25) == [TimeWindow(start: 0, end: 30), TimeWindow(start: 10, end: 40), TimeWindow(start: 20, end: 50)])
    }

    @Test func slidingWindowsAgreeWithDefinition() {
        // Every window [s, s+size) with s ≡ offset (mod slide) that contains t, and no other.
        for (size, slide, offset) in [(10, 5, 0), (10, 3, 0), (7, 7, 2), (12, 5, 4), (5, 10, 1), (9, 2, 1)] as [(Int64, Int64, Int64)] {
            let a = SlidingWindows(size: .milliseconds(size), slide: .milliseconds(slide), offset: .milliseconds(offset))
            for t in Int64(-40)...40 {
                var expected: [TimeWindow] = []
                for s in Int64(-100)...100 where ((s - offset) % slide + slide) % slide == 0 && s <= t && t < s + size {
                    expected.append(TimeWindow(start: s, end: s + size))
                }
                #expect(windows(a, t) == expected, "size \(size) slide \(slide) offset \(offset) t \(t)")
            }
        }
    }

    @Test func sessionWindowIsGapLong() {
        let a = SessionWindows(gap: .milliseconds(30))
        #expect(a.isMerging && a.isEventTime)
        #expect(windows(a, 100) == [TimeWindow(start: 100, end: 130)])
        #expect(windows(a, -5) == [TimeWindow(start: -5, end: 25)])
    }

    @Test func keyGroupAssignmentIsConsistent() {
        for maxP in [1, 7, 128] {
            for p in 1...maxP {
                let a = KeyGroupAssignment(maxParallelism: maxP, parallelism: p)
                var owned = 0
                for s in 0..<p {
                    let range = a.keyGroups(ofSubtask: s)
                    owned += range.count
                    for g in range { #expect(a.subtask(ofKeyGroup: g) == s) }
                }
                #expect(owned == maxP)
            }
        }
        let a = KeyGroupAssignment(parallelism: 4)
        for k in 0..<200 {
            let g = a.keyGroup(of: "key\(k)")
            #expect((0..<128).contains(g))
            #expect(g == a.keyGroup(of: "key\(k)"))
        }
        // Equal keys hash equally; the hash of a string depends on every byte.
        #expect("abcdefghij".stableHash == String("abcdefghij".reversed().reversed()).stableHash)
        #expect("abcdefghij".stableHash != "abcdefghik".stableHash)
        #expect("a".stableHash != "a\u{0}".stableHash)
        #expect(Int(7).stableHash == Int64(7).stableHash)
    }
}
