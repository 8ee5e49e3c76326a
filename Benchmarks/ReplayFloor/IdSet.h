// IdSet.h: a set of packed ids, two inline, then an open-addressing table.
#ifndef REPLAY_FLOOR_ID_SET_H
#define REPLAY_FLOOR_ID_SET_H

#include "PackedId.h"
#include <cstdlib>

namespace floor_replay {

/// The distinct viewers of a post's window, or the distinct posts of a session. Half of
/// the post windows have one or two viewers, so two members live in the set itself; a
/// larger set spills into a linear-probing table on the heap (at most 3/4 full).
///
/// A plain value without a destructor: its owner calls `clear()` when the set is done.
struct IdSet {
    uint32_t count = 0;
    uint32_t capacity = 0;  // the table's size once spilled, else 0
    PackedId inline_[2];
    PackedId *table = nullptr;

    void clear() {
        free(table);
        table = nullptr;
        count = capacity = 0;
    }

    void insert(const PackedId &v) {
        if (!table) {
            for (uint32_t i = 0; i < count; i++)
                if (inline_[i] == v) return;
            if (count < 2) {
                inline_[count++] = v;
                return;
            }
            grow();
        } else if ((count + 1) * 4 > capacity * 3) {
            grow();
        }
        insertInTable(v);
    }

    void formUnion(const IdSet &other) {
        if (!other.table) {
            for (uint32_t i = 0; i < other.count; i++) insert(other.inline_[i]);
            return;
        }
        for (uint32_t i = 0; i < other.capacity; i++)
            if (!other.table[i].none()) insert(other.table[i]);
    }

private:
    void insertInTable(const PackedId &v) {
        uint32_t mask = capacity - 1;
        uint32_t i = uint32_t(v.hash()) & mask;
        while (!table[i].none()) {
            if (table[i] == v) return;
            i = (i + 1) & mask;
        }
        table[i] = v;
        count++;
    }

    void grow() {
        PackedId *old = table;
        uint32_t oldCapacity = capacity;
        capacity = capacity ? capacity * 2 : 8;
        table = static_cast<PackedId *>(zeroedOrExit(capacity, sizeof(PackedId)));
        count = 0;
        if (old) {
            for (uint32_t i = 0; i < oldCapacity; i++)
                if (!old[i].none()) insertInTable(old[i]);
            free(old);
        } else {
            insertInTable(inline_[0]);
            insertInTable(inline_[1]);
        }
    }
};

}  // namespace floor_replay

#endif
