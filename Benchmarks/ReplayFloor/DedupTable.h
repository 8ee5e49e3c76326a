// DedupTable.h: the event ids seen within the last hour of event time.
#ifndef REPLAY_FLOOR_DEDUP_TABLE_H
#define REPLAY_FLOOR_DEDUP_TABLE_H

#include "PackedId.h"
#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

namespace floor_replay {

/// Event ids (UUIDs as two words) with the event time at which each is forgotten.
///
/// An index of 8-byte slots (32 bits of the hash beside the entry's number + 1) over dense
/// entries, as Runnel's keyed state lays it out: nearly every lookup is of an id never seen,
/// which touches one index slot, and the index (16–32 MB at 5 M events) stays largely in the
/// last-level cache where inline 24-byte entries would not. Expired entries are dropped
/// when the index is rebuilt, each time it is 3/4 full. Ids that are not UUIDs go to a
/// hash map of strings (none in the generated data).
class DedupTable {
public:
    explicit DedupTable(int64_t ttl) : ttl_(ttl) { index_ = static_cast<uint64_t *>(zeroedOrExit(capacity_, 8)); }
    ~DedupTable() { free(index_); }
    DedupTable(const DedupTable &) = delete;
    DedupTable &operator=(const DedupTable &) = delete;

    static uint64_t hash(uint64_t hi, uint64_t lo) { return mix(hi ^ mix(lo)); }

    void prefetch(uint64_t h) const { __builtin_prefetch(&index_[h & (capacity_ - 1)]); }

    /// Whether the id (hash `h`) is new, remembering it until `now` + the time to live if so.
    /// An entry whose time has passed `watermark` counts as absent.
    bool insertIfAbsent(uint64_t hi, uint64_t lo, uint64_t h, int64_t watermark, int64_t now) {
        uint64_t mask = capacity_ - 1;
        uint64_t j = h & mask;
        uint64_t tag = h >> 32 << 32;
        while (uint64_t slot = index_[j]) {
            if ((slot & 0xffffffff00000000ULL) == tag) {
                Entry &e = entries_[(slot & 0xffffffff) - 1];
                if (e.hi == hi && e.lo == lo) {
                    if (e.expiry > watermark) return false;
                    e.expiry = now + ttl_;
                    return true;
                }
            }
            j = (j + 1) & mask;
        }
        entries_.push_back({hi, lo, now + ttl_});
        index_[j] = tag | entries_.size();
        if (entries_.size() * 4 > capacity_ * 3) rebuild(watermark);
        return true;
    }

    /// The same for an id that is not a UUID.
    bool insertTextIfAbsent(const char *text, size_t length, int64_t watermark, int64_t now) {
        std::string key(text, length);
        auto found = text_.find(key);
        if (found != text_.end() && found->second > watermark) return false;
        text_[key] = now + ttl_;
        return true;
    }

private:
    struct Entry {
        uint64_t hi, lo;
        int64_t expiry;
    };

    void rebuild(int64_t watermark) {
        size_t live = 0;
        for (size_t i = 0; i < entries_.size(); i++)
            if (entries_[i].expiry > watermark) entries_[live++] = entries_[i];
        entries_.resize(live);
        uint64_t capacity = 1 << 16;
        while (live * 2 > capacity) capacity *= 2;
        free(index_);
        index_ = static_cast<uint64_t *>(zeroedOrExit(capacity, 8));
        capacity_ = capacity;
        for (size_t k = 0; k < live; k++) {
            uint64_t h = hash(entries_[k].hi, entries_[k].lo);
            uint64_t j = h & (capacity - 1);
            while (index_[j]) j = (j + 1) & (capacity - 1);
            index_[j] = (h >> 32 << 32) | (k + 1);
        }
    }

    int64_t ttl_;
    uint64_t *index_;
    uint64_t capacity_ = 1 << 16;
    std::vector<Entry> entries_;
    std::unordered_map<std::string, int64_t> text_;
};

}  // namespace floor_replay

#endif
