// PackedId.h: an id string packed into three words, exactly.
#ifndef REPLAY_FLOOR_PACKED_ID_H
#define REPLAY_FLOOR_PACKED_ID_H

#include <algorithm>
#include <deque>
#include <mutex>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace floor_replay {

[[noreturn]] inline void exitOutOfMemory() {
    fputs("creator-replay-floor: out of memory\n", stderr);
    exit(1);
}

/// `malloc`, or exit.
inline void *allocateOrExit(size_t bytes) {
    void *p = malloc(bytes);
    if (!p) exitOutOfMemory();
    return p;
}

/// `calloc`, or exit.
inline void *zeroedOrExit(size_t count, size_t size) {
    void *p = calloc(count, size);
    if (!p) exitOutOfMemory();
    return p;
}

/// The 64-bit finalizer of SplitMix64: spreads every input bit.
inline uint64_t mix(uint64_t x) {
    uint64_t z = x + 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/// Eight ASCII hex digits (the first in the lowest byte) as a 32-bit value, without a loop.
inline bool hex8(uint64_t w, uint64_t &out) {
    const uint64_t high = 0x8080808080808080ULL;
    if (w & high) return false;
    uint64_t atLeast0 = w + 0x5050505050505050ULL, above9 = w + 0x4646464646464646ULL;
    uint64_t atLeastA = w + 0x1F1F1F1F1F1F1F1FULL, aboveF = w + 0x1919191919191919ULL;
    uint64_t valid = (atLeast0 & ~above9) | (atLeastA & ~aboveF);
    if ((valid & high) != high) return false;
    uint64_t x = (w & 0x0F0F0F0F0F0F0F0FULL) + ((w >> 6) & 0x0101010101010101ULL) * 9;
    x = __builtin_bswap64(x);
    x = ((x >> 4) | x) & 0x00FF00FF00FF00FFULL;
    x = ((x >> 8) | x) & 0x0000FFFF0000FFFFULL;
    x = ((x >> 16) | x) & 0x00000000FFFFFFFFULL;
    out = x;
    return true;
}

/// A canonical lowercase UUID (36 bytes) as two words; false for anything else.
inline bool parseUUID(const uint8_t *p, size_t n, uint64_t &hi, uint64_t &lo) {
    if (n != 36 || p[8] != '-' || p[13] != '-' || p[18] != '-' || p[23] != '-') return false;
    uint64_t w0, w3;
    uint32_t h9, h14, h19, h24;
    memcpy(&w0, p, 8);
    memcpy(&h9, p + 9, 4);
    memcpy(&h14, p + 14, 4);
    memcpy(&h19, p + 19, 4);
    memcpy(&h24, p + 24, 4);
    memcpy(&w3, p + 28, 8);
    uint64_t a, b, c, d;
    if (!hex8(w0, a) || !hex8(uint64_t(h9) | uint64_t(h14) << 32, b) || !hex8(uint64_t(h19) | uint64_t(h24) << 32, c) ||
        !hex8(w3, d))
        return false;
    hi = a << 32 | b;
    lo = c << 32 | d;
    return true;
}

/// An id (a visitor, post or creator) as a value of three words, so that hashing and
/// comparing it never touches memory elsewhere:
/// - up to 15 bytes: the bytes themselves (`tag` = `shortTag` + length);
/// - `s-` and a lowercase UUID (the generator's session ids): the UUID's 128 bits (`tag` = `uuidTag`);
/// - anything else: its number in an intern table (`tag` = `internedTag` + number), so
///   that every id is still held exactly.
struct PackedId {
    uint64_t w0 = 0, w1 = 0;
    uint32_t tag = 0;  // 0: no id

    static constexpr uint32_t shortTag = 0x80, uuidTag = 0x100, internedTag = 0x1000;

    bool none() const { return tag == 0; }
    bool operator==(const PackedId &o) const { return w0 == o.w0 && w1 == o.w1 && tag == o.tag; }
    uint64_t hash() const { return mix(w0 ^ mix(w1 ^ tag)); }
};

/// Packs ids, and keeps the text of those too long to pack. Thread-safe: with two threads
/// one packs while the other writes ids out; the intern table (rarely used) is locked.
class IdPacker {
public:
    PackedId pack(const uint8_t *p, size_t n) {
        PackedId id;
        if (n <= 15) {
            uint8_t b[16] = {0};
            memcpy(b, p, n);
            memcpy(&id.w0, b, 8);
            memcpy(&id.w1, b + 8, 8);
            id.tag = PackedId::shortTag + uint32_t(n);
            return id;
        }
        if (n == 38 && p[0] == 's' && p[1] == '-' && parseUUID(p + 2, 36, id.w0, id.w1)) {
            id.tag = PackedId::uuidTag;
            return id;
        }
        std::string text(reinterpret_cast<const char *>(p), n);
        std::lock_guard<std::mutex> lock(mutex_);
        auto found = index_.find(text);
        uint32_t number;
        if (found == index_.end()) {
            number = uint32_t(texts_.size());
            texts_.push_back(text);
            index_.emplace(text, number);
        } else {
            number = found->second;
        }
        id.tag = PackedId::internedTag + number;
        return id;
    }

    /// The id's text: written into `scratch` (at least 40 bytes), or pointing at the intern
    /// table. Returns its length and sets `text`.
    size_t text(const PackedId &id, char *scratch, const char *&text) const {
        text = scratch;
        if (id.tag >= PackedId::internedTag) {
            // A deque's elements stay where they are as it grows, so the text outlives the lock.
            std::lock_guard<std::mutex> lock(mutex_);
            const std::string &s = texts_[id.tag - PackedId::internedTag];
            text = s.data();
            return s.size();
        }
        if (id.tag == PackedId::uuidTag) {
            static const char digits[] = "0123456789abcdef";
            scratch[0] = 's';
            scratch[1] = '-';
            int nibble = 0;
            for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                    scratch[2 + i] = '-';
                    continue;
                }
                uint64_t w = nibble < 16 ? id.w0 : id.w1;
                scratch[2 + i] = digits[(w >> (60 - 4 * (nibble % 16))) & 15];
                nibble++;
            }
            return 38;
        }
        memcpy(scratch, &id.w0, 8);
        memcpy(scratch + 8, &id.w1, 8);
        return id.tag - PackedId::shortTag;
    }

    /// Orders two ids as their texts (byte order, as Swift orders ASCII strings).
    int compare(const PackedId &a, const PackedId &b) const {
        char x[40], y[40];
        const char *tx, *ty;
        size_t nx = text(a, x, tx), ny = text(b, y, ty);
        int c = memcmp(tx, ty, std::min(nx, ny));
        if (c != 0) return c;
        return nx < ny ? -1 : (nx > ny ? 1 : 0);
    }

    size_t internedCount() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return texts_.size();
    }

private:
    mutable std::mutex mutex_;
    std::deque<std::string> texts_;
    std::unordered_map<std::string, uint32_t> index_;
};

}  // namespace floor_replay

#endif
