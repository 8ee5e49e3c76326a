/// The lookup structure of ``DistinctValues`` (``DistinctStrings`` keeps its own table in
/// its one buffer, `DistinctStringsStorage`): small sets are searched linearly, hashes first; from
/// ``inlineLimit`` members on, an open-addressing table at most half full, rebuilt at twice
/// the size as the set grows.
///
/// Each table slot holds the top 32 bits of its member's hash beside the member's number
/// (plus one; 0 is empty), so a probe reads only the table until a slot's bits match: the
/// members live in other buffers, and on a large set (a long session's posts) each one
/// read is a cache miss. The table's size is kept here too, so a lookup does not first
/// read the size from the table's buffer header.
///
/// The set owns its members in insertion order and answers, by member number, for a
/// member's hash and whether it matches the value looked up.
struct DistinctIndex: Sendable {
    /// Sets up to this size are searched linearly.
    static var inlineLimit: Int { 16 }

    /// The slots, `fingerprint << 32 | (member + 1)`; empty while the set is searched linearly.
    private var table: [UInt64] = []
    /// `table.count - 1` (the table's size is a power of two); 0 while there is no table.
    private var mask = 0

    /// Where a value with `hash` is (`found`) or would be recorded (`slot`; 0 while there
    /// is no table), among `count` members.
    @inline(__always)
    func position(hash: UInt64, count: Int, hashOf: (Int) -> UInt64, matches: (Int) -> Bool) -> (slot: Int, found: Bool) {
        if mask == 0 {
            for i in 0..<count where hashOf(i) == hash && matches(i) { return (0, true) }
            return (0, false)
        }
        let mask = self.mask
        let fingerprint = Self.fingerprint(hash)
        return table.withUnsafeBufferPointer { table -> (slot: Int, found: Bool) in
            // Unchecked: `mask` bounds every index, and the size stays unread.
            let slots = table.baseAddress!
            var slot = Self.home(hash, mask: mask)
            while true {
                let entry = slots[slot]
                if entry == 0 { return (slot, false) }
                if entry >> 32 == fingerprint {
                    let member = Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1
                    if hashOf(member) == hash && matches(member) { return (slot, true) }
                }
                slot = (slot + 1) & mask
            }
        }
    }

    /// Records the member just appended (number `count - 1`, with `hash`), which
    /// ``position(hash:count:hashOf:matches:)`` placed at `slot`; false when the table must
    /// be (re)built instead (``rebuild(count:hashOf:)``).
    @inline(__always)
    mutating func record(count: Int, slot: Int, hash: UInt64) -> Bool {
        if mask == 0 { return count <= Self.inlineLimit }
        if count * 2 > mask + 1 { return false }
        table[slot] = Self.fingerprint(hash) << 32 | UInt64(count)
        return true
    }

    @inline(__always)
    private static func home(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: hash >> 7) & mask
    }

    @inline(__always)
    private static func fingerprint(_ hash: UInt64) -> UInt64 { hash >> 32 }

    /// Builds the table for `count` members at twice the size it needs.
    mutating func rebuild(count: Int, hashOf: (Int) -> UInt64) {
        // Member numbers (plus one) must fit the slots' low 32 bits.
        precondition(count < Int(UInt32.max), "a distinct set is limited to 2^32 - 1 members")
        var capacity = 64
        while capacity < count * 4 { capacity *= 2 }
        var table = [UInt64](repeating: 0, count: capacity)
        let mask = capacity - 1
        for i in 0..<count {
            let hash = hashOf(i)
            var slot = Self.home(hash, mask: mask)
            while table[slot] != 0 { slot = (slot + 1) & mask }
            table[slot] = Self.fingerprint(hash) << 32 | UInt64(i + 1)
        }
        self.table = table
        self.mask = mask
    }
}
