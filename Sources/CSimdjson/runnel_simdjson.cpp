// runnel_simdjson.cpp: implementation of the C API declared in runnel_simdjson.h.
//
// Two tiers, one contract:
//
// 1. A fast path (namespace `fast` below) parses the line in a single forward
//    pass over a private, NUL-terminated copy. It validates as it goes (JSON
//    grammar, UTF-8, escapes, numbers, literals) and extracts the wanted
//    fields, but it only ever *accepts*: whenever it meets anything it does not
//    handle with certainty (any syntax error, a root that is not an object,
//    integers of more than 18 digits, numbers of more than 18 digits or out of
//    range, lone surrogate escapes, nesting deeper than 64 levels, ...) it
//    gives up without a verdict.
// 2. The reference path (simdjson On Demand, reading every value once) then
//    parses the line from scratch and decides, exactly as this shim always
//    did. It produces every MALFORMED and NOT_OBJECT answer and every error
//    message, and every value the fast path declines to decide.
//
// Why: on short lines simdjson's front ends cost far more than the extraction
// needs. Stage 1 alone is ~1,750 instructions for a 515-byte line (haswell
// kernel), and the On Demand walk, inlined here for the baseline target (its
// scalar "fallback" kernel), ~5,500 more. The fast path needs ~1,800 in all
// for such a line, using nothing beyond SSE2 (the x86-64 baseline), with a
// portable word-at-a-time scanner for other targets.
//
// Only the error-code (noexcept) half of simdjson is used, so no C++ exception
// can cross into Swift.

#include "runnel_simdjson.h"

#include <simdjson.h>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <memory>
#include <new>
#include <system_error>

// std::from_chars for double (libstdc++ 11 and later; not in every libc++).
#if defined(__cpp_lib_to_chars) && __cpp_lib_to_chars >= 201611L && !defined(RUNNEL_JSON_NO_FROM_CHARS)
#define RUNNEL_JSON_HAVE_FROM_CHARS 1
#endif

#if defined(__SSE2__) && !defined(RUNNEL_JSON_PORTABLE_SCAN)
#include <emmintrin.h>
#define RUNNEL_JSON_SCAN_SSE2 1
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(RUNNEL_JSON_SCALAR_SCAN)
#define RUNNEL_JSON_SCAN_SWAR 1
#endif

static_assert(RUNNEL_JSON_PADDING >= simdjson::SIMDJSON_PADDING,
              "RUNNEL_JSON_PADDING must cover simdjson's read-ahead");

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

namespace {

// Nesting bound for the validating walk over values that are not extracted.
// The walk recurses, so the bound caps stack use (a few hundred bytes a level)
// well inside the smallest thread stacks the runtime uses.
constexpr int kMaxNesting = 512;

// Readable bytes kept after the NUL that ends the fast path's copy of a line.
// They cover its widest read past a position at or before that NUL (33 bytes:
// the comparison of a learned key of 32 bytes and its closing quote; see
// runnel_json_parser::is_learned_key_at); their values never matter.
constexpr size_t kCopySlack = 64;

// Messages for conditions that simdjson itself does not name.
constexpr const char *kNoError = "no error";
constexpr const char *kTrailingContent = "trailing content after the JSON document";
constexpr const char *kTooDeep = "JSON nesting deeper than 512 levels";
constexpr const char *kBadLiteral = "invalid literal (expected null)";

// Length of a raw key (the bytes after its opening quote), or -1 if the key
// contains an escape sequence. Safe without a bound: stage 1 has already
// proved that every string has a closing quote inside the input.
inline long raw_key_length(const char *raw) noexcept {
    for (long n = 0;; n++) {
        const char c = raw[n];
        if (c == '"') { return n; }
        if (c == '\\') { return -1; }
    }
}

// Whether the string at raw (just after its opening quote, raw[0 ..< 8 * W + 1]
// readable) is exactly the plain key of `length` (1 to 8 * W) bytes whose bytes,
// zero-padded, are the W words `word`, each selected from a word loaded at raw
// by `mask` (words past the key's length are not compared). A plain key's bytes
// hold no quote, backslash or NUL, so a quote right after them ends the string
// (a match never runs past the copy's terminator) and the match is exact. The
// keyset's wanted keys use two words, learned unwanted keys four.
template <size_t W>
[[gnu::always_inline]] inline bool is_plain_key(const char *raw, size_t length, const uint64_t (&word)[W],
                                                const uint64_t (&mask)[W]) noexcept {
    if (raw[length] != '"') { return false; }
    uint64_t w;
    std::memcpy(&w, raw, sizeof w);
    if ((w & mask[0]) != word[0]) { return false; }
    for (size_t i = 1; i < W && length > 8 * i; i++) {
        std::memcpy(&w, raw + 8 * i, sizeof w);
        if ((w & mask[i]) != word[i]) { return false; }
    }
    return true;
}

} // namespace

struct runnel_json_parser {
    // Reference path: simdjson On Demand and its reusable buffers.
    ondemand::parser parser;
    const char *last_error = kNoError;
    // Fast path: a private copy of the current line, NUL-terminated and followed
    // by kCopySlack readable bytes. Wanted strings point into it (unescaped in
    // place), so they stay valid until the next extraction. Grows geometrically
    // with the longest line seen, then is reused without allocation.
    unsigned char *copy = nullptr;
    size_t copy_capacity = 0;
    // Fast path: for each key, the key that followed it in the last line read
    // with keyset `order_keyset` that had it (0 for none). A key is named by
    // its entry here: 1 + a wanted key's index (1 ... RUNNEL_JSON_MAX_KEYS),
    // kFirstLearnedKey + a learned unwanted key's index (see below), or
    // kOtherKey for any other key (wanted but found by find, or unwanted and
    // not learned); entry 0 is for the first key of a line. The lines of one
    // producer give their keys in one order (an optional field skipped now and
    // then), so each key is first checked against the one that followed its
    // predecessor last time: a comparison whose branch predicts well, where
    // probing the hash table walks chains whose branches do not (keys sharing
    // their first bytes, as event_id and event_name do). A wrong guess falls
    // back to the probe.
    static constexpr unsigned kOtherKey = RUNNEL_JSON_MAX_KEYS + 1;
    static constexpr unsigned kFirstLearnedKey = RUNNEL_JSON_MAX_KEYS + 2;
    // Unwanted keys are learned too, so that a line's keys that the keyset
    // does not name (a third of a creator event's) are recognized by one
    // guessed comparison rather than a probe, a scan of the key and a find
    // each. Only keys of 1 to kLearnedKeyMaxLength ASCII bytes are learned
    // (scanned without an escape, so free of quotes, backslashes and control
    // bytes: plain, as for the keyset's probe), at most kLearnedKeys of them per
    // keyset; later ones stay kOtherKey. A learned key is never a wanted one: it
    // is learned only after probe and find both missed it: plain wanted keys
    // are probed, and all others are found (has_other_keys).
    static constexpr unsigned kLearnedKeys = 32;
    // Up to this length (bytes) a key is learned: long enough for the longest a
    // creator event carries (`scroll_depth_percentage`, 23 bytes, in three of four).
    static constexpr size_t kLearnedKeyMaxLength = 32;
    static constexpr size_t kLearnedKeyWords = kLearnedKeyMaxLength / 8;
    uint64_t order_keyset = 0;
    unsigned char next_key[kFirstLearnedKey + kLearnedKeys] = {};
    static_assert(kFirstLearnedKey + kLearnedKeys - 1 <= UINT8_MAX, "key names are stored in bytes");
    unsigned learned_count = 0;
    uint32_t learned_length[kLearnedKeys] = {};
    uint64_t learned_word[kLearnedKeys][kLearnedKeyWords] = {};
    uint64_t learned_mask[kLearnedKeys][kLearnedKeyWords] = {};
    // The learned keys by their first two bytes, as the keyset's probe table holds its
    // keys (probe_hash; 1 + the learned key's index, 0 ending a chain): an unwanted key
    // met where its guess failed (an optional field before it, another event's order) is
    // recognized there by a comparison or two, without a scan of the key, a find and a
    // search of the learned keys (about 1.9 such keys a creator event).
    unsigned char learned_probe_head[256] = {};
    unsigned char learned_probe_next[kLearnedKeys] = {};

    // Whether the string at raw (as for is_plain_key) is exactly learned key l.
    [[gnu::always_inline]] inline bool is_learned_key_at(const char *raw, unsigned l) const noexcept {
        return is_plain_key(raw, learned_length[l], learned_word[l], learned_mask[l]);
    }

    // The index of the learned key that the string at raw (as for is_plain_key) is
    // exactly, or -1.
    [[gnu::always_inline]] inline int probe_learned(const char *raw) const noexcept;

    // Forgets the learned keys (when the parser is used with another keyset).
    void forget_learned_keys() noexcept {
        learned_count = 0;
        std::memset(learned_probe_head, 0, sizeof learned_probe_head);
    }

    // The name (see next_key) of the unwanted key raw[0 ..< n], scanned and
    // free of escapes, learning it if it is plain and there is room;
    // kOtherKey otherwise (also for every key once kLearnedKeys are learned,
    // which bounds the cost for producers with many unwanted keys).
    // Not inlined: it runs only where a line's keys differ from the guesses, and inlined
    // into the extractor's loop (as link-time optimization chose) it cost that loop about
    // 59 instructions a line (callgrind, creator replay).
    [[gnu::noinline]] unsigned learn_unwanted_key(const runnel_json_keyset *keyset, const char *raw, size_t n) noexcept;

    runnel_json_parser() = default;
    runnel_json_parser(const runnel_json_parser &) = delete;
    runnel_json_parser &operator=(const runnel_json_parser &) = delete;
    ~runnel_json_parser() { std::free(copy); }
};

struct runnel_json_keyset {
    // Chained hash table: head[h] and next[i] hold key index + 1 (0 = end of chain).
    uint8_t head[256];
    uint8_t next[RUNNEL_JSON_MAX_KEYS];
    uint32_t length[RUNNEL_JSON_MAX_KEYS];
    // The first 16 bytes of each key as two words, zero-padded, so that most
    // keys compare as two word comparisons instead of a memcmp.
    uint64_t word[RUNNEL_JSON_MAX_KEYS][2];
    const char *bytes[RUNNEL_JSON_MAX_KEYS];
    // prefix_mask[k] keeps the first k bytes of a word loaded from memory
    // (built from bytes, so it holds for either byte order).
    uint64_t prefix_mask[9];
    size_t count;
    // The key bytes, each followed by a NUL and 16 zero bytes (see find).
    std::unique_ptr<char[]> storage;

    // Probe table for the fast path (see probe): the "plain" keys, those of 1
    // to 16 bytes in 0x20-0x7F, chained by a hash of their first two bytes.
    // mask and the probe table are only meaningful for plain keys.
    uint8_t probe_head[256];
    uint8_t probe_next[RUNNEL_JSON_MAX_KEYS];
    uint64_t mask[RUNNEL_JSON_MAX_KEYS][2]; // selects the key's bytes in word[i]
    bool has_other_keys;                    // some key is not plain
    // Distinct for every keyset ever made (a parser's remembered key order
    // belongs to one; an address may be reused after a keyset is destroyed).
    uint64_t id;

    // The first min(n, 8) bytes at raw, as a word with the rest zeroed.
    inline uint64_t first_word(const char *raw, size_t n) const noexcept {
        uint64_t w;
        std::memcpy(&w, raw, sizeof w);
        return w & prefix_mask[n < 8 ? n : 8];
    }

    // Table hash of a key: its length and first 8 bytes, mixed by a multiplication.
    static inline unsigned hash(uint64_t first, size_t n) noexcept {
        return unsigned(((first ^ n) * 0x9E3779B97F4A7C15ull) >> 56); // 0..255
    }

    // Probe table hash of a string's first two bytes (for a one-byte key, the
    // second byte is the string's closing quote).
    static inline unsigned probe_hash(unsigned char first, unsigned char second) noexcept {
        return (uint32_t(first) << 8 | second) * 0x9E3779B1u >> 24; // 0..255
    }

    // Recognizes a plain wanted key at the start of a string without scanning
    // it first: raw is just after the opening quote, inside the fast path's
    // copy of a line (raw[0 ..< 17] readable). A match means raw[0 ..< n] are
    // the key's bytes and raw[n] is a quote, so the string is exactly the key
    // and, its bytes being plain, valid. Returns the key's index (its length
    // in n) or -1, in which case the string must be scanned as usual.
    [[gnu::always_inline]] inline int probe(const char *raw, size_t &n) const noexcept {
        const unsigned h = probe_hash(static_cast<unsigned char>(raw[0]), static_cast<unsigned char>(raw[1]));
        for (unsigned e = probe_head[h]; e != 0; e = probe_next[e - 1]) {
            const unsigned i = e - 1;
            if (!is_plain_key_at(raw, i)) { continue; }
            n = length[i];
            return int(i);
        }
        return -1;
    }

    // Whether the string at raw (as for probe) is exactly plain key i.
    [[gnu::always_inline]] inline bool is_plain_key_at(const char *raw, unsigned i) const noexcept {
        return is_plain_key(raw, length[i], word[i], mask[i]);
    }

    // Index of the wanted key equal to raw[0..<n], or -1. Reads 16 bytes at
    // raw whatever n is: callers pass keys inside a padded line (or the
    // padded storage above), where those bytes are readable.
    [[gnu::always_inline]] inline int find(const char *raw, size_t n) const noexcept {
        const uint64_t w0 = first_word(raw, n);
        for (unsigned e = head[hash(w0, n)]; e != 0; e = next[e - 1]) {
            const unsigned i = e - 1;
            if (length[i] != n || word[i][0] != w0) { continue; }
            if (n <= 8) { return int(i); }
            uint64_t w1;
            std::memcpy(&w1, raw + 8, sizeof w1);
            if ((w1 & prefix_mask[n < 16 ? n - 8 : 8]) != word[i][1]) { continue; }
            if (n <= 16 || std::memcmp(raw + 16, bytes[i] + 16, n - 16) == 0) { return int(i); }
        }
        return -1;
    }
};

unsigned runnel_json_parser::learn_unwanted_key(const runnel_json_keyset *keyset, const char *raw, size_t n) noexcept {
    if (n == 0 || n > kLearnedKeyMaxLength || learned_count == kLearnedKeys) { return kOtherKey; }
    // ASCII. (The scan that found the key's end has refused control bytes already; the
    // test for them keeps a NUL out of learned keys whatever calls this: see is_plain_key.)
    for (size_t k = 0; k < n; k++) {
        const unsigned char c = static_cast<unsigned char>(raw[k]);
        if (c >= 0x80 || c < 0x20) { return kOtherKey; }
    }
    uint64_t words[kLearnedKeyWords] = {};
    std::memcpy(words, raw, n);
    // Not among the learned keys: the caller tried probe_learned first.
    assert(probe_learned(raw) < 0);
    const unsigned l = learned_count++;
    // A one-byte key's second byte is its closing quote, as probe_learned reads it.
    const unsigned h = runnel_json_keyset::probe_hash(static_cast<unsigned char>(raw[0]), static_cast<unsigned char>(raw[1]));
    learned_probe_next[l] = learned_probe_head[h];
    learned_probe_head[h] = static_cast<unsigned char>(l + 1);
    learned_length[l] = uint32_t(n);
    for (size_t i = 0; i < kLearnedKeyWords; i++) {
        learned_word[l][i] = words[i];
        const size_t bytes = n > 8 * i ? n - 8 * i : 0;
        learned_mask[l][i] = keyset->prefix_mask[bytes < 8 ? bytes : 8];
    }
    return kFirstLearnedKey + l;
}

static_assert(kCopySlack >= runnel_json_parser::kLearnedKeyMaxLength + 1,
              "a learned key is compared with the byte after it, within the copy's slack");

inline int runnel_json_parser::probe_learned(const char *raw) const noexcept {
    const unsigned h = runnel_json_keyset::probe_hash(static_cast<unsigned char>(raw[0]), static_cast<unsigned char>(raw[1]));
    for (unsigned e = learned_probe_head[h]; e != 0; e = learned_probe_next[e - 1]) {
        if (is_learned_key_at(raw, e - 1)) { return int(e - 1); }
    }
    return -1;
}

namespace {

error_code validate_value(runnel_json_parser *p, ondemand::value &value, int depth) noexcept;

// Walks an object that is not extracted, validating every key and value.
error_code validate_object(runnel_json_parser *p, ondemand::object &object, int depth) noexcept {
    for (auto result : object) {
        ondemand::field field;
        error_code error = std::move(result).get(field);
        if (error) { return error; }
        // Keys are only unescaped (and so validated) when they contain an escape.
        if (raw_key_length(field.key().raw()) < 0) {
            std::string_view ignored;
            error = field.unescaped_key().get(ignored);
            if (error) { return error; }
        }
        error = validate_value(p, field.value(), depth);
        if (error) { return error; }
    }
    return simdjson::SUCCESS;
}

// Walks an array that is not extracted, validating every element.
error_code validate_array(runnel_json_parser *p, ondemand::array &array, int depth) noexcept {
    for (auto result : array) {
        ondemand::value element;
        error_code error = std::move(result).get(element);
        if (error) { return error; }
        error = validate_value(p, element, depth);
        if (error) { return error; }
    }
    return simdjson::SUCCESS;
}

// On Demand skips unread values by counting brackets, which would let a bad
// literal or escape inside an ignored field pass; reading every value once
// makes "malformed anywhere" hold for the whole line.
error_code validate_value(runnel_json_parser *p, ondemand::value &value, int depth) noexcept {
    ondemand::json_type type;
    error_code error = value.type().get(type);
    if (error) { return error; }
    switch (type) {
    case ondemand::json_type::object: {
        if (depth >= kMaxNesting) { p->last_error = kTooDeep; return simdjson::DEPTH_ERROR; }
        ondemand::object object;
        error = value.get_object().get(object);
        if (error) { return error; }
        return validate_object(p, object, depth + 1);
    }
    case ondemand::json_type::array: {
        if (depth >= kMaxNesting) { p->last_error = kTooDeep; return simdjson::DEPTH_ERROR; }
        ondemand::array array;
        error = value.get_array().get(array);
        if (error) { return error; }
        return validate_array(p, array, depth + 1);
    }
    case ondemand::json_type::string: {
        std::string_view ignored;
        return value.get_string().get(ignored);
    }
    case ondemand::json_type::number: {
        ondemand::number ignored;
        error = value.get_number().get(ignored);
        if (error) {
            // Integers beyond 64 bits are valid JSON that get_number refuses.
            double fallback;
            return value.get_double().get(fallback);
        }
        return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
        bool ignored;
        return value.get_bool().get(ignored);
    }
    case ondemand::json_type::null: {
        bool is_null = false;
        error = value.is_null().get(is_null);
        if (error) { return error; }
        if (!is_null) { p->last_error = kBadLiteral; return simdjson::N_ATOM_ERROR; }
        return simdjson::SUCCESS;
    }
    }
    return simdjson::TAPE_ERROR;
}

// Reads one wanted value into its slot.
error_code extract_value(runnel_json_parser *p, ondemand::value &value, runnel_json_slot &slot) noexcept {
    ondemand::json_type type;
    error_code error = value.type().get(type);
    if (error) { return error; }
    switch (type) {
    case ondemand::json_type::string: {
        std::string_view text;
        error = value.get_string().get(text);
        if (error) { return error; }
        slot.str = text.data();
        slot.str_len = text.size();
        slot.kind = RUNNEL_JSON_KIND_STRING;
        return simdjson::SUCCESS;
    }
    case ondemand::json_type::number: {
        ondemand::number number;
        error = value.get_number().get(number);
        if (error) {
            double fallback;
            error = value.get_double().get(fallback);
            if (error) { return error; }
            slot.d = fallback;
            slot.kind = RUNNEL_JSON_KIND_NUMBER;
            return simdjson::SUCCESS;
        }
        switch (number.get_number_type()) {
        case ondemand::number_type::signed_integer:
            slot.i = number.get_int64();
            slot.d = double(slot.i);
            slot.kind = RUNNEL_JSON_KIND_INTEGER;
            break;
        case ondemand::number_type::unsigned_integer:
            slot.d = double(number.get_uint64());
            slot.kind = RUNNEL_JSON_KIND_NUMBER;
            break;
        default:
            slot.d = number.get_double();
            slot.kind = RUNNEL_JSON_KIND_NUMBER;
            break;
        }
        return simdjson::SUCCESS;
    }
    case ondemand::json_type::boolean: {
        bool flag;
        error = value.get_bool().get(flag);
        if (error) { return error; }
        slot.b = flag ? 1 : 0;
        slot.kind = RUNNEL_JSON_KIND_BOOL;
        return simdjson::SUCCESS;
    }
    case ondemand::json_type::null:
        error = validate_value(p, value, 1);
        if (error) { return error; }
        slot.kind = RUNNEL_JSON_KIND_NULL;
        return simdjson::SUCCESS;
    case ondemand::json_type::object:
    case ondemand::json_type::array:
        error = validate_value(p, value, 1);
        if (error) { return error; }
        slot.kind = RUNNEL_JSON_KIND_OTHER;
        return simdjson::SUCCESS;
    }
    return simdjson::TAPE_ERROR;
}

// Validates a document whose root is not an object, so that callers can tell
// "valid JSON of the wrong shape" from "not JSON at all".
error_code validate_non_object_root(runnel_json_parser *p, ondemand::document &doc, ondemand::json_type type) noexcept {
    error_code error = simdjson::SUCCESS;
    switch (type) {
    case ondemand::json_type::array: {
        ondemand::array array;
        error = doc.get_array().get(array);
        if (!error) { error = validate_array(p, array, 1); }
        break;
    }
    case ondemand::json_type::string: {
        std::string_view ignored;
        error = doc.get_string().get(ignored);
        break;
    }
    case ondemand::json_type::number: {
        ondemand::number ignored;
        error = doc.get_number().get(ignored);
        if (error && error != simdjson::TRAILING_CONTENT) {
            double fallback;
            error = doc.get_double().get(fallback);
        }
        break;
    }
    case ondemand::json_type::boolean: {
        bool ignored;
        error = doc.get_bool().get(ignored);
        break;
    }
    case ondemand::json_type::null: {
        bool is_null = false;
        error = doc.is_null().get(is_null);
        if (!error && !is_null) { p->last_error = kBadLiteral; error = simdjson::N_ATOM_ERROR; }
        break;
    }
    case ondemand::json_type::object:
        error = simdjson::TAPE_ERROR; // not reached: objects are handled by the caller
        break;
    }
    return error;
}

// True when nothing but whitespace follows the consumed document.
inline bool at_document_end(ondemand::document &doc) noexcept {
    return doc.current_location().error() == simdjson::OUT_OF_BOUNDS;
}

inline runnel_json_status malformed(runnel_json_parser *p, error_code error) noexcept {
    // Messages that we set ourselves take precedence over simdjson's generic code.
    if (p->last_error == kNoError) { p->last_error = simdjson::error_message(error); }
    return RUNNEL_JSON_MALFORMED;
}

// The reference path: simdjson On Demand, reading every value once so that a
// malformed value anywhere is reported (On Demand alone would skip unread
// values by counting brackets). Decides every line the fast path gives up on.
// Expects every slot preset to MISSING.
[[gnu::noinline]] runnel_json_status reference_extract(runnel_json_parser *p,
                                     const char *line, size_t length,
                                     const runnel_json_keyset *keyset,
                                     runnel_json_slot *slots) noexcept {
    ondemand::document doc;
    error_code error = p->parser.iterate(simdjson::padded_string_view(line, length, length + RUNNEL_JSON_PADDING)).get(doc);
    if (error) { return malformed(p, error); }

    ondemand::json_type root;
    error = doc.type().get(root);
    if (error) { return malformed(p, error); }
    if (root != ondemand::json_type::object) {
        error = validate_non_object_root(p, doc, root);
        if (error) { return malformed(p, error); }
        if (!at_document_end(doc)) { p->last_error = kTrailingContent; return RUNNEL_JSON_MALFORMED; }
        return RUNNEL_JSON_NOT_OBJECT;
    }

    ondemand::object object;
    error = doc.get_object().get(object);
    if (error) { return malformed(p, error); }
    for (auto result : object) {
        ondemand::field field;
        error = std::move(result).get(field);
        if (error) { return malformed(p, error); }
        const char *raw = field.key().raw();
        const long n = raw_key_length(raw);
        int index = -1;
        if (n >= 0) {
            index = keyset->find(raw, size_t(n));
        } else {
            // Escaped keys never match (see the header), but must still be valid.
            std::string_view ignored;
            error = field.unescaped_key().get(ignored);
            if (error) { return malformed(p, error); }
        }
        error = index >= 0 ? extract_value(p, field.value(), slots[index])
                           : validate_value(p, field.value(), 1);
        if (error) { return malformed(p, error); }
    }
    if (!at_document_end(doc)) { p->last_error = kTrailingContent; return RUNNEL_JSON_MALFORMED; }
    return RUNNEL_JSON_OK;
}

// MARK: - Fast path

// A single forward pass over a private copy of the line, terminated by a NUL
// byte. The NUL is what keeps every loop in bounds without length checks: it
// matches no token, is not whitespace, not a digit, not a hex digit, not a
// UTF-8 continuation byte, and the string scanner treats it like any control
// character. A NUL inside the line is never valid JSON either (it is neither
// allowed between tokens nor unescaped inside a string), so meeting one, real
// or the terminator, simply ends the fast path.
//
// Every function returns the position after what it consumed, or nullptr for
// "no verdict" (the reference path then decides). nullptr never means
// "malformed" by itself: the fast path makes no negative claims.
namespace fast {

using byte = unsigned char;

// Containers nested deeper than this level (the root object is level 0) are
// left to the reference path, which enforces the documented limit. The
// recursion below is bounded by it, so stack use stays tiny.
constexpr int kMaxDepth = 64;

// 10^0 ... 10^22: every one is exactly representable as a double.
constexpr double kPowersOfTen[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

inline bool is_digit(byte c) noexcept { return unsigned(c) - '0' < 10u; }

inline byte *skip_whitespace(byte *p) noexcept {
    // JSON whitespace is exactly space, tab, line feed and carriage return.
    while (*p <= ' ' && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) { p++; }
    return p;
}

// The first byte at or after p that needs a closer look inside a string: a
// quote, a backslash, a control character (< 0x20, including the NUL
// terminator) or a byte >= 0x80 (UTF-8 to validate). Always finds the
// terminator at the latest; reads at most 15 bytes past the byte it returns.
#if defined(RUNNEL_JSON_SCAN_SSE2)
inline byte *next_string_special(byte *p) noexcept {
    const __m128i two = _mm_set1_epi8(0x02);
    const __m128i limit = _mm_set1_epi8(0x21);
    const __m128i backslash = _mm_set1_epi8('\\');
    for (;;) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
        // x ^ 0x02 is below 0x21 exactly for x in 0x00-0x1F and for x = '"',
        // and negative (so below 0x21 in a signed comparison) for x >= 0x80:
        // one comparison finds all but the backslash.
        const __m128i hits = _mm_or_si128(_mm_cmplt_epi8(_mm_xor_si128(v, two), limit), _mm_cmpeq_epi8(v, backslash));
        const unsigned mask = unsigned(_mm_movemask_epi8(hits));
        if (mask != 0) { return p + __builtin_ctz(mask); }
        p += 16;
    }
}
#elif defined(RUNNEL_JSON_SCAN_SWAR)
// Eight bytes per step in a 64-bit word (little-endian). The per-byte tests
// below can flag a byte spuriously only just above a byte that is flagged
// correctly (a borrow carries upward), so the lowest flag is always exact.
inline byte *next_string_special(byte *p) noexcept {
    constexpr uint64_t ones = 0x0101010101010101ull;
    constexpr uint64_t highs = 0x8080808080808080ull;
    for (;;) {
        uint64_t v;
        std::memcpy(&v, p, sizeof v);
        const uint64_t q = v ^ (ones * '"');
        const uint64_t b = v ^ (ones * '\\');
        const uint64_t flags = (((q - ones) & ~q) | ((b - ones) & ~b) | ((v - ones * 0x20) & ~v) | v) & highs;
        if (flags != 0) { return p + (__builtin_ctzll(flags) >> 3); }
        p += 8;
    }
}
#else
inline byte *next_string_special(byte *p) noexcept {
    while (*p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80) { p++; }
    return p;
}
#endif

inline int hex_value(byte c) noexcept {
    if (unsigned(c) - '0' < 10u) { return c - '0'; }
    const unsigned lower = unsigned(c | 0x20) - 'a';
    return lower < 6u ? int(lower) + 10 : -1;
}

// Four hex digits at p (stops reading at the first byte that is not one).
inline bool read_hex4(const byte *p, uint32_t &value) noexcept {
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        const int digit = hex_value(p[k]);
        if (digit < 0) { return false; }
        v = (v << 4) | uint32_t(digit);
    }
    value = v;
    return true;
}

// p is at a backslash. Validates one escape sequence; returns the byte after it.
// Accepted: the eight single-character escapes, \uXXXX outside the surrogate
// range, and a high surrogate escape immediately followed by a low one.
// Anything else (including lone surrogates) gets no verdict.
inline byte *check_escape(byte *p) noexcept {
    switch (p[1]) {
    case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
        return p + 2;
    case 'u': {
        uint32_t unit;
        if (!read_hex4(p + 2, unit)) { return nullptr; }
        if (unit < 0xD800 || unit >= 0xE000) { return p + 6; }
        if (unit >= 0xDC00 || p[6] != '\\' || p[7] != 'u') { return nullptr; }
        uint32_t low;
        if (!read_hex4(p + 8, low) || low < 0xDC00 || low >= 0xE000) { return nullptr; }
        return p + 12;
    }
    default:
        return nullptr;
    }
}

// p is at a byte >= 0x80. Validates one UTF-8 sequence (the well-formed byte
// sequences of Unicode, table 3-7: no overlongs, no surrogates, nothing above
// U+10FFFF); returns the byte after it.
inline byte *check_utf8(byte *p) noexcept {
    const byte lead = p[0];
    auto continuation = [](byte c) noexcept { return (c & 0xC0) == 0x80; };
    if (lead < 0xC2) { return nullptr; }
    if (lead < 0xE0) { return continuation(p[1]) ? p + 2 : nullptr; }
    if (lead < 0xF0) {
        const byte low = lead == 0xE0 ? 0xA0 : 0x80;
        const byte high = lead == 0xED ? 0x9F : 0xBF;
        return p[1] >= low && p[1] <= high && continuation(p[2]) ? p + 3 : nullptr;
    }
    if (lead < 0xF5) {
        const byte low = lead == 0xF0 ? 0x90 : 0x80;
        const byte high = lead == 0xF4 ? 0x8F : 0xBF;
        return p[1] >= low && p[1] <= high && continuation(p[2]) && continuation(p[3]) ? p + 4 : nullptr;
    }
    return nullptr;
}

// p is at a byte that next_string_special stopped at. Handles it and scans
// on to the closing quote. Kept out of line so that the common case (no
// escape, no byte above 0x7F) stays small enough to inline everywhere.
[[gnu::noinline]] byte *scan_string_slow(byte *p, bool &escaped) noexcept {
    for (;;) {
        const byte c = *p;
        if (c == '"') { return p; }
        if (c == '\\') {
            escaped = true;
            p = check_escape(p);
        } else if (c >= 0x80) {
            p = check_utf8(p);
        } else {
            return nullptr; // unescaped control character, or the terminator
        }
        if (p == nullptr) { return nullptr; }
        p = next_string_special(p);
    }
}

// p is just after an opening quote. Validates the string and returns its
// closing quote; `escaped` is set if it holds at least one escape sequence.
[[gnu::always_inline]] inline byte *scan_string(byte *p, bool &escaped) noexcept {
    p = next_string_special(p);
    return *p == '"' ? p : scan_string_slow(p, escaped);
}

inline byte *put_utf8(byte *out, uint32_t cp) noexcept {
    if (cp < 0x80) {
        *out++ = byte(cp);
    } else if (cp < 0x800) {
        *out++ = byte(0xC0 | (cp >> 6));
        *out++ = byte(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = byte(0xE0 | (cp >> 12));
        *out++ = byte(0x80 | ((cp >> 6) & 0x3F));
        *out++ = byte(0x80 | (cp & 0x3F));
    } else {
        *out++ = byte(0xF0 | (cp >> 18));
        *out++ = byte(0x80 | ((cp >> 12) & 0x3F));
        *out++ = byte(0x80 | ((cp >> 6) & 0x3F));
        *out++ = byte(0x80 | (cp & 0x3F));
    }
    return out;
}

// Decodes the escapes of the string [begin, end) in place (it was validated
// by scan_string) and returns its new length. Writing never overtakes
// reading: every escape is longer than the bytes it stands for.
inline size_t unescape_in_place(byte *begin, const byte *end) noexcept {
    const byte *in = begin;
    byte *out = begin;
    while (in < end) {
        if (*in != '\\') { *out++ = *in++; continue; }
        const byte kind = in[1];
        if (kind != 'u') {
            byte decoded = kind; // '"', '\\' and '/' stand for themselves
            switch (kind) {
            case 'b': decoded = '\b'; break;
            case 'f': decoded = '\f'; break;
            case 'n': decoded = '\n'; break;
            case 'r': decoded = '\r'; break;
            case 't': decoded = '\t'; break;
            default: break;
            }
            *out++ = decoded;
            in += 2;
            continue;
        }
        uint32_t cp = 0;
        read_hex4(in + 2, cp);
        in += 6;
        if (cp >= 0xD800 && cp < 0xDC00) {
            uint32_t low = 0;
            read_hex4(in + 2, low);
            in += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        out = put_utf8(out, cp);
    }
    return size_t(out - begin);
}

struct Number {
    bool is_integer;
    int64_t integer;
    double real;
};

// p is at '-' or a digit. Accepts the JSON number grammar and gives a verdict
// for integer literals of at most 18 digits (always within int64; longer ones
// are left to the reference path, which knows the int64/uint64/double rules),
// and for numbers with a fraction or an exponent, at most 18 digits in all
// and a finite value. Those are converted with correct rounding, as
// simdjson converts them, so the double is the same bit for bit: when the
// digits form an integer w <= 2^53 scaled by 10^e with |e| <= 22, w and 10^|e|
// are exact doubles and one multiplication or division is correctly rounded;
// otherwise std::from_chars (correctly rounded) converts, where available.
inline byte *parse_number(byte *p, Number &out) noexcept {
    const byte *const start = p;
    const bool negative = *p == '-';
    p += negative;
    const byte *digits = p;
    uint64_t w = 0;
    if (*p == '0') {
        p++;
        if (is_digit(*p)) { return nullptr; } // leading zero
    } else if (is_digit(*p)) {
        // Wraps harmlessly past 19 digits: such numbers get no verdict below.
        while (is_digit(*p)) { w = w * 10 + (*p - '0'); p++; }
    } else {
        return nullptr;
    }
    const size_t integer_digits = size_t(p - digits);
    if (*p != '.' && (*p | 0x20) != 'e') {
        if (integer_digits > 18) { return nullptr; }
        out.is_integer = true;
        out.integer = negative ? -int64_t(w) : int64_t(w);
        return p;
    }
    size_t fraction_digits = 0;
    if (*p == '.') {
        p++;
        const byte *fraction = p;
        while (is_digit(*p)) { w = w * 10 + (*p - '0'); p++; }
        fraction_digits = size_t(p - fraction);
        if (fraction_digits == 0) { return nullptr; }
    }
    long exponent = 0;
    if ((*p | 0x20) == 'e') {
        p++;
        const bool negative_exponent = *p == '-';
        if (*p == '-' || *p == '+') { p++; }
        const byte *exponent_digits = p;
        while (is_digit(*p) && p - exponent_digits < 4) { exponent = exponent * 10 + (*p - '0'); p++; }
        if (p == exponent_digits || is_digit(*p)) { return nullptr; } // no digits, or more than 4
        if (negative_exponent) { exponent = -exponent; }
    }
    exponent -= long(fraction_digits);
    out.is_integer = false;
    // With more digits, simdjson 3.0.1's get_number (the reference) takes a
    // slow path that does not hand back its result (the value reads 0.0): no
    // verdict, so that the reference path keeps deciding those values exactly
    // as before. Up to 18 digits (19 counting a '.') its result is correctly
    // rounded.
    if (integer_digits + fraction_digits > 18) { return nullptr; }
    if (w <= (uint64_t(1) << 53) && exponent >= -22 && exponent <= 22) {
        const double value = exponent >= 0 ? double(w) * kPowersOfTen[exponent] : double(w) / kPowersOfTen[-exponent];
        out.real = negative ? -value : value;
        return p;
    }
#if defined(RUNNEL_JSON_HAVE_FROM_CHARS)
    // Other exponents, or w above 2^53 (full-precision doubles): the standard
    // library's correctly rounded conversion, for finite values only (a number
    // that overflows, and anything the library reports as out of range, such
    // as a value that underflows to zero, is left to the reference path).
    const char *first = reinterpret_cast<const char *>(start);
    double value;
    const std::from_chars_result result = std::from_chars(first, reinterpret_cast<const char *>(p), value);
    if (result.ec != std::errc() || result.ptr != reinterpret_cast<const char *>(p) || !std::isfinite(value)) { return nullptr; }
    out.real = value;
    return p;
#else
    return nullptr;
#endif
}

// p is at the first byte of a literal ('t', 'f' or 'n').
inline byte *match_literal(byte *p, const char *word, size_t length) noexcept {
    return std::memcmp(p, word, length) == 0 ? p + length : nullptr;
}

// Nesting levels: the root object is level 0, its field values level 1, and
// so on. `level` below is the level of the value at p.
byte *skip_value(byte *p, int level) noexcept;

// p is at '{'. Validates the object (keys and values).
byte *skip_object(byte *p, int level) noexcept {
    if (level > kMaxDepth) { return nullptr; }
    p = skip_whitespace(p + 1);
    if (*p == '}') { return p + 1; }
    for (;;) {
        if (*p != '"') { return nullptr; }
        bool escaped = false;
        p = scan_string(p + 1, escaped);
        if (p == nullptr) { return nullptr; }
        p = skip_whitespace(p + 1);
        if (*p != ':') { return nullptr; }
        p = skip_value(skip_whitespace(p + 1), level + 1);
        if (p == nullptr) { return nullptr; }
        p = skip_whitespace(p);
        if (*p == ',') { p = skip_whitespace(p + 1); continue; }
        if (*p == '}') { return p + 1; }
        return nullptr;
    }
}

// p is at '['. Validates the array's elements.
byte *skip_array(byte *p, int level) noexcept {
    if (level > kMaxDepth) { return nullptr; }
    p = skip_whitespace(p + 1);
    if (*p == ']') { return p + 1; }
    for (;;) {
        p = skip_value(p, level + 1);
        if (p == nullptr) { return nullptr; }
        p = skip_whitespace(p);
        if (*p == ',') { p = skip_whitespace(p + 1); continue; }
        if (*p == ']') { return p + 1; }
        return nullptr;
    }
}

// Validates one value (leading whitespace allowed).
byte *skip_value(byte *p, int level) noexcept {
    switch (*p) {
    case ' ': case '\t': case '\n': case '\r':
        return skip_value(skip_whitespace(p), level);
    case '"': {
        bool escaped = false;
        p = scan_string(p + 1, escaped);
        return p ? p + 1 : nullptr;
    }
    case '{': return skip_object(p, level);
    case '[': return skip_array(p, level);
    case 't': return match_literal(p, "true", 4);
    case 'f': return match_literal(p, "false", 5);
    case 'n': return match_literal(p, "null", 4);
    default: {
        Number ignored;
        return *p == '-' || is_digit(*p) ? parse_number(p, ignored) : nullptr;
    }
    }
}

// Validates one top-level field value (leading whitespace allowed) and
// stores it in its slot.
inline byte *extract_value(byte *p, runnel_json_slot &slot) noexcept {
    if (*p <= ' ') { p = skip_whitespace(p); }
    if (*p == '"') { // strings first: the most common kind by far
        byte *begin = p + 1;
        bool escaped = false;
        byte *end = scan_string(begin, escaped);
        if (end == nullptr) { return nullptr; }
        slot.str = reinterpret_cast<const char *>(begin);
        slot.str_len = escaped ? unescape_in_place(begin, end) : size_t(end - begin);
        slot.kind = RUNNEL_JSON_KIND_STRING;
        return end + 1;
    }
    switch (*p) {
    case 't':
    case 'f': {
        const bool flag = *p == 't';
        p = flag ? match_literal(p, "true", 4) : match_literal(p, "false", 5);
        if (p == nullptr) { return nullptr; }
        slot.b = flag ? 1 : 0;
        slot.kind = RUNNEL_JSON_KIND_BOOL;
        return p;
    }
    case 'n':
        p = match_literal(p, "null", 4);
        if (p == nullptr) { return nullptr; }
        slot.kind = RUNNEL_JSON_KIND_NULL;
        return p;
    case '{':
    case '[':
        p = skip_value(p, 1);
        if (p == nullptr) { return nullptr; }
        slot.kind = RUNNEL_JSON_KIND_OTHER;
        return p;
    default: {
        if (*p != '-' && !is_digit(*p)) { return nullptr; }
        Number number;
        p = parse_number(p, number);
        if (p == nullptr) { return nullptr; }
        if (number.is_integer) {
            slot.i = number.integer;
            slot.d = double(number.integer);
            slot.kind = RUNNEL_JSON_KIND_INTEGER;
        } else {
            slot.d = number.real;
            slot.kind = RUNNEL_JSON_KIND_NUMBER;
        }
        return p;
    }
    }
}

// Makes room for a line of `length` bytes plus the terminator and the slack.
inline bool reserve_copy(runnel_json_parser *parser, size_t length) noexcept {
    const size_t needed = length + 1 + kCopySlack;
    if (needed <= parser->copy_capacity) { return true; }
    size_t capacity = parser->copy_capacity * 2;
    if (capacity < needed) { capacity = needed; }
    if (capacity < 4096) { capacity = 4096; }
    // Zeroed, so that no read ahead ever touches uninitialized memory.
    void *fresh = std::calloc(capacity, 1);
    if (fresh == nullptr) { return false; }
    std::free(parser->copy);
    parser->copy = static_cast<byte *>(fresh);
    parser->copy_capacity = capacity;
    return true;
}

// Parses the line and fills the slots (all preset to MISSING by the caller).
// Returns true only for a well-formed object whose slots are now final;
// false means "no verdict" (the slots may then be partly written).
[[gnu::noinline]] bool extract(runnel_json_parser *parser, const char *line, size_t length,
                    const runnel_json_keyset *keyset, runnel_json_slot *slots) noexcept {
    // Lines the reference parser would refuse for their size get its verdict.
    if (length > parser->parser.max_capacity() || !reserve_copy(parser, length)) { return false; }
    byte *const begin = parser->copy;
    if (length != 0) { std::memcpy(begin, line, length); }
    byte *const end = begin + length;
    *end = 0;

    // Whitespace is rare in NDJSON, so each step tests for the expected byte
    // first and skips whitespace only when that test fails.
    byte *p = skip_whitespace(begin);
    if (*p != '{') { return false; }
    p = skip_whitespace(p + 1);
    if (parser->order_keyset != keyset->id) {
        std::memset(parser->next_key, 0, sizeof parser->next_key);
        parser->forget_learned_keys();
        parser->order_keyset = keyset->id;
    }
    unsigned previous = 0; // the name (entry of next_key) of the key before this one
    if (*p != '}') {
        for (;;) {
            if (*p != '"') { return false; }
            const char *key = reinterpret_cast<const char *>(p + 1);
            int index;     // the wanted key's index, or -1
            unsigned name; // see next_key
            const unsigned guess = parser->next_key[previous];
            if (guess != 0 && guess <= RUNNEL_JSON_MAX_KEYS && keyset->is_plain_key_at(key, guess - 1)) {
                index = int(guess - 1);
                name = guess;
                p += keyset->length[index] + 1; // at the closing quote
            } else if (guess >= runnel_json_parser::kFirstLearnedKey
                       && parser->is_learned_key_at(key, guess - runnel_json_parser::kFirstLearnedKey)) {
                index = -1;
                name = guess;
                p += parser->learned_length[guess - runnel_json_parser::kFirstLearnedKey] + 1;
            } else {
                size_t key_length = 0;
                index = keyset->probe(key, key_length);
                int learned = -1;
                if (index >= 0) {
                    name = unsigned(index) + 1;
                    p += key_length + 1;
                } else if ((learned = parser->probe_learned(key)) >= 0) {
                    name = runnel_json_parser::kFirstLearnedKey + unsigned(learned);
                    p += parser->learned_length[learned] + 1;
                } else {
                    bool escaped = false;
                    p = scan_string(p + 1, escaped);
                    if (p == nullptr) { return false; }
                    const size_t scanned = size_t(reinterpret_cast<const char *>(p) - key);
                    // Keys are compared raw: one written with escapes never matches.
                    if (keyset->has_other_keys && !escaped) { index = keyset->find(key, scanned); }
                    name = index >= 0 || escaped ? runnel_json_parser::kOtherKey
                                                 : parser->learn_unwanted_key(keyset, key, scanned);
                }
                parser->next_key[previous] = static_cast<unsigned char>(name == runnel_json_parser::kOtherKey ? 0 : name);
            }
            previous = name;
            p++;
            if (*p != ':') {
                p = skip_whitespace(p);
                if (*p != ':') { return false; }
            }
            p++;
            if (index >= 0) {
                p = extract_value(p, slots[index]);
            } else if (*p == '"') { // the most common unwanted value, inlined
                bool ignored = false;
                p = scan_string(p + 1, ignored);
                if (p != nullptr) { p++; }
            } else {
                p = skip_value(p, 1);
            }
            if (p == nullptr) { return false; }
            if (*p != ',') {
                p = skip_whitespace(p);
                if (*p == '}') { break; }
                if (*p != ',') { return false; }
            }
            p++;
            if (*p != '"') { p = skip_whitespace(p); }
        }
    }
    // Only whitespace may follow the object (a NUL before `end` is a real one).
    return skip_whitespace(p + 1) == end;
}

} // namespace fast

} // namespace

extern "C" {

runnel_json_parser *runnel_json_parser_create(void) {
    return new (std::nothrow) runnel_json_parser();
}

void runnel_json_parser_destroy(runnel_json_parser *parser) {
    delete parser;
}

runnel_json_keyset *runnel_json_keyset_create(const char *const *keys, size_t count) {
    if (count > RUNNEL_JSON_MAX_KEYS || (count > 0 && keys == nullptr)) { return nullptr; }
    constexpr size_t kKeyPadding = 16; // find reads 16 bytes at a key's start
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (keys[i] == nullptr) { return nullptr; }
        const size_t n = std::strlen(keys[i]);
        if (n > UINT32_MAX || std::memchr(keys[i], '"', n) || std::memchr(keys[i], '\\', n)) { return nullptr; }
        total += n + 1 + kKeyPadding;
    }
    std::unique_ptr<runnel_json_keyset> set(new (std::nothrow) runnel_json_keyset());
    if (!set) { return nullptr; }
    set->storage.reset(new (std::nothrow) char[total + 1]());
    if (!set->storage) { return nullptr; }
    std::memset(set->head, 0, sizeof set->head);
    std::memset(set->next, 0, sizeof set->next);
    std::memset(set->probe_head, 0, sizeof set->probe_head);
    std::memset(set->probe_next, 0, sizeof set->probe_next);
    set->has_other_keys = false;
    for (size_t k = 0; k <= 8; k++) {
        unsigned char selected[8] = {};
        std::memset(selected, 0xFF, k);
        std::memcpy(&set->prefix_mask[k], selected, sizeof selected);
    }
    set->count = count;
    // From 1: a parser's order_keyset starts at 0, which names no keyset.
    static std::atomic<uint64_t> next_id{1};
    set->id = next_id.fetch_add(1, std::memory_order_relaxed);
    char *cursor = set->storage.get();
    for (size_t i = 0; i < count; i++) {
        const size_t n = std::strlen(keys[i]);
        std::memcpy(cursor, keys[i], n); // zero padding follows (the storage is zeroed)
        if (set->find(cursor, n) >= 0) { return nullptr; } // listed twice
        set->bytes[i] = cursor;
        set->length[i] = uint32_t(n);
        set->word[i][0] = set->first_word(cursor, n);
        std::memcpy(&set->word[i][1], cursor + 8, sizeof set->word[i][1]); // zero beyond the key
        const unsigned h = runnel_json_keyset::hash(set->word[i][0], n);
        set->next[i] = set->head[h];
        set->head[h] = uint8_t(i + 1);
        // Plain keys: 1 to 16 bytes of printable ASCII (or DEL), so that input
        // bytes equal to them are a valid string body without further checks.
        bool plain = n >= 1 && n <= 16;
        for (size_t k = 0; k < n && plain; k++) {
            const unsigned char c = static_cast<unsigned char>(cursor[k]);
            plain = c >= 0x20 && c < 0x80;
        }
        if (plain) {
            set->mask[i][0] = set->prefix_mask[n < 8 ? n : 8];
            set->mask[i][1] = set->prefix_mask[n > 8 ? n - 8 : 0];
            const unsigned char second = n >= 2 ? static_cast<unsigned char>(cursor[1]) : '"';
            const unsigned ph = runnel_json_keyset::probe_hash(static_cast<unsigned char>(cursor[0]), second);
            set->probe_next[i] = set->probe_head[ph];
            set->probe_head[ph] = uint8_t(i + 1);
        } else {
            set->has_other_keys = true;
        }
        cursor += n + 1 + kKeyPadding;
    }
    return set.release();
}

void runnel_json_keyset_destroy(runnel_json_keyset *keyset) {
    delete keyset;
}

size_t runnel_json_keyset_count(const runnel_json_keyset *keyset) {
    return keyset ? keyset->count : 0;
}

runnel_json_status runnel_json_extract(runnel_json_parser *p,
                                       const char *line, size_t length,
                                       const runnel_json_keyset *keyset,
                                       runnel_json_slot *slots) {
    p->last_error = kNoError;
    const size_t count = keyset->count;
    for (size_t i = 0; i < count; i++) { slots[i].kind = RUNNEL_JSON_KIND_MISSING; }
    if (fast::extract(p, line, length, keyset, slots)) { return RUNNEL_JSON_OK; }
    // No verdict: the reference path parses the line again from scratch.
    for (size_t i = 0; i < count; i++) { slots[i].kind = RUNNEL_JSON_KIND_MISSING; }
    return reference_extract(p, line, length, keyset, slots);
}

const char *runnel_json_parser_last_error(const runnel_json_parser *parser) {
    return parser->last_error;
}

size_t runnel_count_byte(const void *bytes, size_t length, unsigned char value) {
    const unsigned char *p = static_cast<const unsigned char *>(bytes);
    size_t total = 0;
    // In chunks of at most 240 bytes (under 256, so that the vectorized loop can
    // count in byte lanes without overflowing them, and a multiple of the vector
    // widths, so that no chunk ends with a scalar tail but the last).
    while (length > 0) {
        const size_t chunk = length < 240 ? length : 240;
        unsigned char count = 0;
        for (size_t i = 0; i < chunk; i++) { count = static_cast<unsigned char>(count + (p[i] == value)); }
        total += count;
        p += chunk;
        length -= chunk;
    }
    return total;
}

} // extern "C"
