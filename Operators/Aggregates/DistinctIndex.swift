/// The lookup structure shared by the distinct-value sets (``DistinctValues``,
/// ``DistinctStrings``): small sets are searched linearly, hashes first; from
/// ``inlineLimit`` members on, an open-addressing table of member numbers (plus one; 0 is
/// empty) at most half full, rebuilt at twice the size as the set grows.
///
/// The set owns its members in insertion order and answers, by member number, for a
/// member's hash and whether it matches the value looked up.
struct DistinctIndex: Sendable {
    /// Sets up to this size are searched linearly.
    static var inlineLimit: Int { 16 }

    private var table: [Int32] = []

    /// Where a value with `hash` is (`found`) or would be recorded (`slot`; 0 while there
    /// is no table), among `count` members.
    @inline(__always)
    func position(hash: UInt64, count: Int, hashOf: (Int) -> UInt64, matches: (Int) -> Bool) -> (slot: Int, found: Bool) {
        if table.isEmpty {
            for i in 0..<count where hashOf(i) == hash && matches(i) { return (0, true) }
            return (0, false)
        }
        let mask = table.count - 1
        var slot = Self.home(hash, mask: mask)
        while true {
            let entry = Int(table[slot])
            if entry == 0 { return (slot, false) }
            if hashOf(entry - 1) == hash && matches(entry - 1) { return (slot, true) }
            slot = (slot + 1) & mask
        }
    }

    /// Records the member just appended (number `count - 1`), which
    /// ``position(hash:count:hashOf:matches:)`` placed at `slot`; false when the table must
    /// be (re)built instead (``rebuild(count:hashOf:)``).
    @inline(__always)
    mutating func record(count: Int, slot: Int) -> Bool {
        if table.isEmpty { return count <= Self.inlineLimit }
        if count * 2 > table.count { return false }
        table[slot] = Int32(count)
        return true
    }

    @inline(__always)
    private static func home(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: hash >> 7) & mask
    }

    /// Builds the table for `count` members at twice the size it needs.
    mutating func rebuild(count: Int, hashOf: (Int) -> UInt64) {
        var capacity = 64
        while capacity < count * 4 { capacity *= 2 }
        var table = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for i in 0..<count {
            var slot = Self.home(hashOf(i), mask: mask)
            while table[slot] != 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(i + 1)
        }
        self.table = table
    }
}
