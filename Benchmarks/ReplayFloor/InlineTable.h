// InlineTable.h: a linear-probing hash table with its entries in its slots.
#ifndef REPLAY_FLOOR_INLINE_TABLE_H
#define REPLAY_FLOOR_INLINE_TABLE_H

#include "PackedId.h"
#include <vector>

namespace floor_replay {

/// Entries keyed by the packed id in their member `Key`, held in the probe slots themselves:
/// finding an entry touches its slot and nothing in front of it. An entry whose key is none
/// is an empty slot. At most 3/4 full; erasing shifts the rest of the probe run back, so
/// there are no tombstones. Entries are plain values, moved by copying when the table grows
/// or an entry is erased.
template <typename Entry, PackedId Entry::*Key>
class InlineTable {
public:
    explicit InlineTable(size_t capacity) : slots_(capacity) {}

    void prefetch(const PackedId &key) const { __builtin_prefetch(&slots_[key.hash() & (slots_.size() - 1)]); }

    /// The entry of `key`, or null.
    Entry *find(const PackedId &key) {
        size_t mask = slots_.size() - 1;
        for (size_t i = key.hash() & mask; !(slots_[i].*Key).none(); i = (i + 1) & mask)
            if (slots_[i].*Key == key) return &slots_[i];
        return nullptr;
    }

    /// A new entry for `key` (which must be absent), its other members as the slot held them.
    Entry &insert(const PackedId &key) {
        if ((used_ + 1) * 4 > slots_.size() * 3) grow();
        size_t mask = slots_.size() - 1;
        size_t i = key.hash() & mask;
        while (!(slots_[i].*Key).none()) i = (i + 1) & mask;
        used_++;
        slots_[i].*Key = key;
        return slots_[i];
    }

    /// The entry of `key`, inserted if absent.
    Entry &findOrInsert(const PackedId &key) {
        if (Entry *found = find(key)) return *found;
        return insert(key);
    }

    /// Removes `entry` (a reference into this table).
    void erase(Entry &entry) {
        size_t mask = slots_.size() - 1;
        size_t i = size_t(&entry - slots_.data());
        slots_[i].*Key = PackedId();
        for (size_t j = (i + 1) & mask; !(slots_[j].*Key).none(); j = (j + 1) & mask) {
            size_t home = (slots_[j].*Key).hash() & mask;
            // An entry stays where it is if its home lies cyclically in (i, j].
            bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            slots_[i] = slots_[j];
            slots_[j].*Key = PackedId();
            i = j;
        }
        used_--;
    }

    /// Calls `body` with every entry, in slot order.
    template <typename Body> void forEach(Body body) {
        for (Entry &e : slots_)
            if (!(e.*Key).none()) body(e);
    }

private:
    void grow() {
        std::vector<Entry> old(slots_.size() * 2);
        old.swap(slots_);
        size_t mask = slots_.size() - 1;
        for (Entry &e : old) {
            if ((e.*Key).none()) continue;
            size_t i = (e.*Key).hash() & mask;
            while (!(slots_[i].*Key).none()) i = (i + 1) & mask;
            slots_[i] = e;
        }
    }

    std::vector<Entry> slots_;
    size_t used_ = 0;
};

}  // namespace floor_replay

#endif
