import RunnelCore
import RunnelOperators
import Testing

/// `SessionSlots` against the array it stands for in the session path.
@Suite struct SessionSlotsTests {
    private typealias Slot = SessionSlot<Int>

    private func slot(_ n: Int64) -> Slot {
        Slot(window: TimeWindow(start: n, end: n + 10), accumulator: Int(n), timerAt: n + 9)
    }

    private func elements(_ slots: SessionSlots<Int>) -> [Slot] {
        var all: [Slot] = []
        slots.forEach { all.append(copy $0) }
        #expect(all.count == slots.count && (0..<slots.count).map { slots[$0].accumulator } == all.map(\.accumulator))
        return all
    }

    /// Random appends, removals anywhere, changes in place and searches do to the slots what
    /// they do to an array; every state encodes to the array's bytes, and decodes from them.
    @Test func behavesAsTheArrayOfItsSessions() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<200 {
            var slots = SessionSlots<Int>()
            var model: [Slot] = []
            var next: Int64 = 0
            for _ in 0..<40 {
                switch rng.next() % 4 {
                case 0, 1:
                    next += 1
                    slots.append(slot(next))
                    model.append(slot(next))
                case 2 where !model.isEmpty:
                    let i = Int(rng.next() % UInt64(model.count))
                    #expect(slots.remove(at: i).accumulator == model.remove(at: i).accumulator)
                case 3 where !model.isEmpty:
                    let i = Int(rng.next() % UInt64(model.count))
                    slots.withSlot(i) {
                        $0.accumulator += 1000
                        $0.timerAt = -1
                    }
                    model[i].accumulator += 1000
                    model[i].timerAt = -1
                default:
                    break
                }
                #expect(slots.count == model.count && slots.isEmpty == model.isEmpty)
                #expect(elements(slots).map(\.accumulator) == model.map(\.accumulator))
                #expect(elements(slots).map(\.timerAt) == model.map(\.timerAt))
                let probe = Int(rng.next() % 60)
                #expect(slots.firstIndex { $0.accumulator % 60 == probe } == model.firstIndex { $0.accumulator % 60 == probe })
                var fromSlots = BinaryWriter(), fromArray = BinaryWriter()
                fromSlots.write(slots)
                fromArray.write(model)
                #expect(fromSlots.bytes == fromArray.bytes)
                var reader = BinaryReader(fromArray.bytes)
                let back = try SessionSlots<Int>(from: &reader)
                #expect(elements(back).map(\.window) == model.map(\.window))
                #expect(elements(back).map(\.accumulator) == model.map(\.accumulator))
            }
        }
    }

    /// A session changed in place through the first slot is not copied: its accumulator's
    /// storage stays uniquely referenced (a copy would make every change copy the storage).
    @Test func firstSessionIsChangedInPlace() {
        var slots = SessionSlots<[Int]>()
        slots.append(SessionSlot(window: TimeWindow(start: 0, end: 1), accumulator: [1], timerAt: 0))
        slots.append(SessionSlot(window: TimeWindow(start: 5, end: 6), accumulator: [2], timerAt: 5))
        let before = slots[0].accumulator.withUnsafeBufferPointer { $0.baseAddress }
        slots.withSlot(0) { $0.accumulator[0] = 7 }
        #expect(slots[0].accumulator.withUnsafeBufferPointer { $0.baseAddress } == before)
        #expect(slots[0].accumulator == [7] && slots[1].accumulator == [2])
    }
}
