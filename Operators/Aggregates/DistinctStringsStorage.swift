import RunnelCore
#if canImport(Glibc)
import Glibc
#endif

/// The sizes recorded at the start of a ``DistinctStringsStorage``.
struct DistinctStringsHeader {
    /// Members stored.
    var count: Int
    /// Members there is room for.
    var memberCapacity: Int
    /// The table's size minus one (a power of two minus one); 0 while the set has no table
    /// and is searched linearly.
    var tableMask: Int
    /// Bytes of the byte area in use.
    var byteCount: Int
    /// Bytes of the byte area (a multiple of 8).
    var byteCapacity: Int
}

/// The one buffer of a ``DistinctStrings`` set, in 64-bit words after its header:
///
/// - `memberCapacity` member records of two words each, in insertion order. A member of at
///   most 8 bytes is `(its bytes, little-endian, zero-padded; its length)`. A longer one is
///   `(its stable hash; its length | its offset in the byte area << 32)`. Lengths above 8
///   tell the kinds apart.
/// - The hash table, once the set has more than ``linearLimit`` members: open addressing,
///   at most half full, each slot `the top 32 bits of the member's hash << 32 | (member +
///   1)` (0 is empty), so a probe reads no member record until the bits match.
/// - The byte area: the UTF-8 bytes of the longer members, one after another.
///
/// A buffer never changes its capacities: a set that outgrows one moves to a larger one
/// (``grown(toAdd:)``). The owning set copies it before writing when it is shared.
///
/// `ManagedBuffer` is not `Sendable`; a set that crosses threads is safe all the same,
/// because a buffer is only written while its one owner holds it uniquely.
final class DistinctStringsStorage: ManagedBuffer<DistinctStringsHeader, UInt64> {
    /// Sets up to this size are searched linearly.
    static var linearLimit: Int { 16 }

    /// Members a new set has room for.
    static var initialMembers: Int { 8 }

    /// Members up to this length (bytes) are stored in their record.
    static var shortLimit: Int { 8 }

    /// The byte area of a new set whose first member is `length` bytes long.
    static func initialBytes(forFirst length: Int) -> Int {
        length <= shortLimit ? 0 : roundedToWords(4 * length)
    }

    /// A buffer with the given capacities, holding nothing.
    static func make(memberCapacity: Int, tableSize: Int, byteCapacity: Int) -> DistinctStringsStorage {
        assert(byteCapacity % 8 == 0, "the byte area is sized in whole words")
        let words = 2 * memberCapacity + tableSize + byteCapacity / 8
        let buffer = create(minimumCapacity: words) { _ in
            DistinctStringsHeader(count: 0, memberCapacity: memberCapacity, tableMask: tableSize == 0 ? 0 : tableSize - 1,
                                  byteCount: 0, byteCapacity: byteCapacity)
        }
        let storage = unsafeDowncast(buffer, to: DistinctStringsStorage.self)
        if tableSize > 0 {
            storage.withUnsafeMutablePointerToElements { ($0 + 2 * memberCapacity).initialize(repeating: 0, count: tableSize) }
        }
        return storage
    }

    /// Where `utf8` is (`found`) or would be recorded (`slot`, in the table; 0 without
    /// one), and its hash if it had to be computed (or was `knownHash`). `knownHash` is a
    /// long member's stable hash (``storedHash(_:)``); short members are hashed from their
    /// packed word whatever it says.
    @inline(__always)
    func find(_ utf8: UnsafeRawBufferPointer, knownHash: UInt64?) -> (slot: Int, found: Bool, hash: UInt64?) {
        withUnsafeMutablePointers { header, words in
            let count = header.pointee.count
            let mask = header.pointee.tableMask
            let table = words + 2 * header.pointee.memberCapacity
            let length = utf8.count
            if length <= Self.shortLimit {
                // Compared as one word: no hash unless the set has a table.
                let word = Self.pack(utf8)
                let tag = UInt64(truncatingIfNeeded: length)
                if mask == 0 {
                    for i in 0..<count where words[2 * i + 1] == tag && words[2 * i] == word { return (0, true, knownHash) }
                    return (0, false, knownHash)
                }
                let hash = Self.shortHash(word, length: length)
                let (slot, found) = Self.probe(table, mask: mask, hash: hash) { m in words[2 * m + 1] == tag && words[2 * m] == word }
                return (slot, found, hash)
            }
            let hash = knownHash ?? StableHash.hash(bytes: utf8)
            let bytes = UnsafeRawPointer(table + Self.tableSize(mask: mask))
            let matches = { (m: Int) -> Bool in
                let info = words[2 * m + 1]
                return words[2 * m] == hash && Int(truncatingIfNeeded: info & 0xFFFF_FFFF) == length
                    && memcmp(bytes + Int(truncatingIfNeeded: info >> 32), utf8.baseAddress!, length) == 0
            }
            if mask == 0 {
                for i in 0..<count where matches(i) { return (0, true, hash) }
                return (0, false, hash)
            }
            let (slot, found) = Self.probe(table, mask: mask, hash: hash, matches: matches)
            return (slot, found, hash)
        }
    }

    /// What ``insert(_:knownHash:)`` did.
    enum InsertOutcome {
        /// The value was a member already.
        case found
        /// The value is now a member.
        case added
        /// The value is not a member and this buffer has no room for it (or must build or
        /// grow its table first): add it to ``grown(toAdd:)``; its hash, if computed, is here.
        case needsRoom(hash: UInt64?)
    }

    /// Adds `utf8` unless it is a member or there is no room for it.
    @inline(__always)
    func insert(_ utf8: UnsafeRawBufferPointer, knownHash: UInt64?) -> InsertOutcome {
        let (slot, found, hash) = find(utf8, knownHash: knownHash)
        if found { return .found }
        guard hasRoom(toAdd: utf8.count) else { return .needsRoom(hash: hash) }
        append(utf8, hash: hash, slot: slot)
        return .added
    }

    /// Whether a member of `length` bytes fits: a free member record, room for its bytes,
    /// and a table that stays at most half full (or no table needed yet).
    @inline(__always)
    private func hasRoom(toAdd length: Int) -> Bool {
        withUnsafeMutablePointerToHeader { header in
            let h = header.pointee
            guard h.count < h.memberCapacity else { return false }
            if length > Self.shortLimit && h.byteCount + length > h.byteCapacity { return false }
            return h.tableMask == 0 ? h.count < Self.linearLimit : (h.count + 1) * 2 <= h.tableMask + 1
        }
    }

    /// Linear probing from `hash`'s home slot; `matches` confirms a member whose
    /// fingerprint matches.
    @inline(__always)
    private static func probe(_ table: UnsafeMutablePointer<UInt64>, mask: Int, hash: UInt64,
                              matches: (Int) -> Bool) -> (slot: Int, found: Bool) {
        let fingerprint = hash >> 32
        var slot = home(hash, mask: mask)
        while true {
            let entry = table[slot]
            if entry == 0 { return (slot, false) }
            if entry >> 32 == fingerprint, matches(Int(truncatingIfNeeded: entry & 0xFFFF_FFFF) - 1) { return (slot, true) }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private static func home(_ hash: UInt64, mask: Int) -> Int {
        Int(truncatingIfNeeded: hash >> 7) & mask
    }

    /// The table slot of member `member` with this hash: its fingerprint (the hash's top
    /// 32 bits) and the member's number plus one, as ``probe(_:mask:hash:matches:)`` reads it.
    @inline(__always)
    private static func slotEntry(hash: UInt64, member: Int) -> UInt64 {
        (hash >> 32) << 32 | UInt64(truncatingIfNeeded: member + 1)
    }

    /// The number of table slots for a header's `tableMask` (0: no table).
    @inline(__always)
    private static func tableSize(mask: Int) -> Int { mask == 0 ? 0 : mask + 1 }

    /// Adds `utf8` as the next member; the buffer has room for it, `find` did not find it,
    /// and with a table, `slot` and `hash` are what `find` returned.
    @inline(__always)
    private func append(_ utf8: UnsafeRawBufferPointer, hash: UInt64?, slot: Int?) {
        withUnsafeMutablePointers { header, words in
            let i = header.pointee.count
            let length = utf8.count
            let mask = header.pointee.tableMask
            let table = words + 2 * header.pointee.memberCapacity
            precondition(i < header.pointee.memberCapacity, "DistinctStrings: no room for a member")
            var memberHash = hash
            if length <= Self.shortLimit {
                let word = Self.pack(utf8)
                words[2 * i] = word
                words[2 * i + 1] = UInt64(truncatingIfNeeded: length)
                memberHash = Self.shortHash(word, length: length)
            } else {
                let offset = header.pointee.byteCount
                precondition(offset + length <= header.pointee.byteCapacity, "DistinctStrings: no room for a member's bytes")
                precondition(offset + length <= Int(UInt32.max), "a DistinctStrings set is limited to 4 GiB")
                let bytes = UnsafeMutableRawPointer(table + Self.tableSize(mask: mask))
                (bytes + offset).copyMemory(from: utf8.baseAddress!, byteCount: length)
                header.pointee.byteCount = offset + length
                let h = hash ?? StableHash.hash(bytes: utf8)
                memberHash = h
                words[2 * i] = h
                words[2 * i + 1] = UInt64(truncatingIfNeeded: length) | UInt64(truncatingIfNeeded: offset) << 32
            }
            header.pointee.count = i + 1
            if mask != 0 { table[slot!] = Self.slotEntry(hash: memberHash!, member: i) }
        }
    }

    /// A larger buffer holding the same members, with room to add one of `length` bytes
    /// (which this one lacks: more members, more bytes, or a (larger) table).
    func grown(toAdd length: Int) -> DistinctStringsStorage {
        let old = header
        let tableSize = Self.tableSize(mask: old.tableMask)
        let needsMembers = old.count == old.memberCapacity
        let needsBytes = length > Self.shortLimit && old.byteCount + length > old.byteCapacity
        let needsTable = tableSize == 0 ? old.count + 1 > Self.linearLimit : (old.count + 1) * 2 > tableSize
        // Member numbers (plus one) must fit the table slots' low 32 bits.
        precondition(old.count < Int(UInt32.max) - 1, "a DistinctStrings set is limited to 2^32 - 2 members")
        var newTableSize = tableSize
        if needsTable {
            newTableSize = 64
            while newTableSize < (old.count + 1) * 4 { newTableSize *= 2 }
        }
        let grown = Self.make(memberCapacity: needsMembers ? 2 * old.memberCapacity : old.memberCapacity,
                              tableSize: newTableSize,
                              byteCapacity: needsBytes ? Self.roundedToWords(max(2 * old.byteCapacity, old.byteCount + 4 * length))
                                  : old.byteCapacity)
        fill(grown, copyingTable: !needsTable)
        return grown
    }

    /// An equal buffer of the same capacities, for a set about to change a shared one.
    func copy() -> DistinctStringsStorage {
        let old = header
        let copy = Self.make(memberCapacity: old.memberCapacity, tableSize: Self.tableSize(mask: old.tableMask),
                             byteCapacity: old.byteCapacity)
        fill(copy, copyingTable: true)
        return copy
    }

    /// Copies the members and bytes into `target` (empty, with room for them), and the
    /// table too (same size) or else builds target's table from the members.
    private func fill(_ target: DistinctStringsStorage, copyingTable: Bool) {
        withUnsafeMutablePointers { header, words in
            target.withUnsafeMutablePointers { targetHeader, targetWords in
                let count = header.pointee.count
                let byteCount = header.pointee.byteCount
                let table = words + 2 * header.pointee.memberCapacity
                let tableSize = Self.tableSize(mask: header.pointee.tableMask)
                let targetMask = targetHeader.pointee.tableMask
                let targetTable = targetWords + 2 * targetHeader.pointee.memberCapacity
                let targetTableSize = Self.tableSize(mask: targetMask)
                targetWords.initialize(from: words, count: 2 * count)
                if byteCount > 0 {
                    UnsafeMutableRawPointer(targetTable + targetTableSize)
                        .copyMemory(from: UnsafeRawPointer(table + tableSize), byteCount: byteCount)
                }
                targetHeader.pointee.count = count
                targetHeader.pointee.byteCount = byteCount
                guard targetTableSize > 0 else { return }
                if copyingTable {
                    targetTable.update(from: table, count: tableSize) // over the zeros `make` wrote
                    return
                }
                for m in 0..<count {
                    let info = words[2 * m + 1]
                    let hash = info > UInt64(Self.shortLimit) ? words[2 * m] : Self.shortHash(words[2 * m], length: Int(info))
                    var slot = Self.home(hash, mask: targetMask)
                    while targetTable[slot] != 0 { slot = (slot + 1) & targetMask }
                    targetTable[slot] = Self.slotEntry(hash: hash, member: m)
                }
            }
        }
    }

    /// The stable hash stored for member `i`: nil for a short member (it stores its bytes
    /// instead, and hashing them is cheap).
    func storedHash(_ i: Int) -> UInt64? {
        withUnsafeMutablePointerToElements { words in
            words[2 * i + 1] > UInt64(Self.shortLimit) ? words[2 * i] : nil
        }
    }

    /// Calls `body` with the UTF-8 bytes of member `i`.
    func withMemberBytes<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeMutablePointers { header, words in
            let info = words[2 * i + 1]
            if info <= UInt64(Self.shortLimit) {
                return try Self.withUnpacked(words[2 * i], length: Int(info), body)
            }
            let mask = header.pointee.tableMask
            let bytes = UnsafeRawPointer(words + 2 * header.pointee.memberCapacity + Self.tableSize(mask: mask))
            return try body(UnsafeRawBufferPointer(start: bytes + Int(truncatingIfNeeded: info >> 32),
                                                   count: Int(truncatingIfNeeded: info & 0xFFFF_FFFF)))
        }
    }

    /// The bytes of a short member, as `pack` stored them.
    private static func withUnpacked<R>(_ word: UInt64, length: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: word.littleEndian) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }
    }

    /// The table's hash of a short member (`pack`ed, and its length, which tells apart
    /// values that differ only in trailing NULs): from the word, cheaper than hashing the
    /// bytes. Only the table uses it; long members keep their `StableHash`.
    @inline(__always)
    private static func shortHash(_ word: UInt64, length: Int) -> UInt64 {
        StableHash.mix(word ^ UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// At most 8 bytes as a little-endian word, zero-padded (`StableHash.packedWord`).
    @inline(__always)
    static func pack(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        guard let p = bytes.baseAddress else { return 0 }
        return StableHash.packedWord(p, count: bytes.count)
    }

    private static func roundedToWords(_ bytes: Int) -> Int { (bytes + 7) & ~7 }
}
