/*
 * runnel_simdjson.h: a minimal C API for extracting top-level fields from
 * one JSON object per line, backed by simdjson's On Demand parser (behind a
 * faster single-pass parser for common lines; see runnel_simdjson.cpp).
 *
 * Why a C API at all: simdjson's On Demand types are move-only and their
 * accessors are ref-qualified (`get_object() &`), which Swift's C++ interop
 * cannot call. A narrow C surface also keeps the (large) simdjson header out of
 * every Swift module that imports this one, so only one C++ translation unit
 * pays its compile cost.
 *
 * The API does one main thing: parse one JSON document that must be an
 * object and copy a precompiled set of wanted top-level fields into caller
 * provided slots, walking the object's fields once. Beside it, one helper for
 * the NDJSON readers: counting a byte (newlines) in a buffer.
 *
 * Threading: a parser handle is single-threaded (one per thread); a keyset is
 * immutable after creation and may be shared by any number of threads.
 */
#ifndef RUNNEL_SIMDJSON_H
#define RUNNEL_SIMDJSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Limits of the API, as an enum so that Swift imports them as constants.
 *
 * RUNNEL_JSON_PADDING: how many readable bytes must follow the end of every
 * line given to runnel_json_extract. simdjson's stage 1 reads whole 64-byte
 * blocks and may read (never write) past the end of the input; the bytes there
 * may hold anything (their values do not affect the result). It is at least
 * SIMDJSON_PADDING (checked at compile time in the implementation).
 *
 * RUNNEL_JSON_MAX_KEYS: the most keys one keyset may hold. Keeping it small
 * bounds the slot array that a caller must provide and keeps key lookup in a
 * tiny table that stays in L1 cache.
 */
enum {
    RUNNEL_JSON_PADDING = 64,
    RUNNEL_JSON_MAX_KEYS = 64
};

/*
 * What a slot holds after runnel_json_extract. Stored in a byte (see
 * runnel_json_slot.kind), hence plain constants rather than an enum type.
 */
typedef uint8_t runnel_json_kind;
enum {
    /* The key did not occur in the object. */
    RUNNEL_JSON_KIND_MISSING = 0,
    /* The value was the literal null. */
    RUNNEL_JSON_KIND_NULL = 1,
    /* A string; `str`/`str_len` hold its unescaped UTF-8 bytes. */
    RUNNEL_JSON_KIND_STRING = 2,
    /* A number that is not an integer literal fitting int64; only `d` is set. */
    RUNNEL_JSON_KIND_NUMBER = 3,
    /* An integer literal (no fraction, no exponent) that fits int64; `i` and `d` are set. */
    RUNNEL_JSON_KIND_INTEGER = 4,
    /* true or false; `b` is set (1 for true). */
    RUNNEL_JSON_KIND_BOOL = 5,
    /* An object or an array (validated, but not extracted). */
    RUNNEL_JSON_KIND_OTHER = 6
};

/* Outcome of runnel_json_extract (plain constants, like the kinds, so that Swift sees them as numbers). */
typedef int32_t runnel_json_status;
enum {
    /* The line is one well-formed JSON object; slots are filled. */
    RUNNEL_JSON_OK = 0,
    /* The line is well-formed JSON but its root is not an object (e.g. an array or a bare number). */
    RUNNEL_JSON_NOT_OBJECT = 1,
    /* The line is not one well-formed JSON document (including trailing content after it). */
    RUNNEL_JSON_MALFORMED = 2
};

/*
 * One extracted field. Only the members named by `kind` are meaningful.
 *
 * For strings, `str` points into the parser's own string buffer (not into the
 * input line, because escapes are decoded), and stays valid only until the next
 * runnel_json_extract call on the same parser or its destruction.
 */
typedef struct runnel_json_slot {
    const char *str;
    size_t str_len;
    int64_t i;
    double d;
    uint8_t b;
    runnel_json_kind kind; /* one of RUNNEL_JSON_KIND_*; a byte so that the slot stays compact */
} runnel_json_slot;

/* Opaque parser: owns simdjson's On Demand parser, a copy of the current line
 * (where extracted strings live) and their reusable buffers. */
typedef struct runnel_json_parser runnel_json_parser;

/* Opaque, immutable set of wanted top-level keys. */
typedef struct runnel_json_keyset runnel_json_keyset;

/*
 * Creates a parser. Buffers are allocated lazily on the first call and reused,
 * so a long-lived parser per thread performs no allocation in steady state.
 * Returns NULL only if memory is exhausted.
 */
runnel_json_parser *runnel_json_parser_create(void);

/* Destroys a parser made by runnel_json_parser_create. NULL is ignored. */
void runnel_json_parser_destroy(runnel_json_parser *parser);

/*
 * Precompiles `count` NUL-terminated keys (UTF-8 bytes, compared exactly as
 * written) into a lookup table. Slot i of every later extraction refers to
 * keys[i]. The key bytes are copied, so `keys` need not outlive the call.
 *
 * Returns NULL (and builds nothing) if count > RUNNEL_JSON_MAX_KEYS, if a key
 * is listed twice, if a key contains a double quote or a backslash (such keys
 * could never be matched by the raw comparison described at
 * runnel_json_extract), or if memory is exhausted. An empty set is allowed: it
 * still validates the document.
 */
runnel_json_keyset *runnel_json_keyset_create(const char *const *keys, size_t count);

/* Destroys a keyset. NULL is ignored. */
void runnel_json_keyset_destroy(runnel_json_keyset *keyset);

/* Number of keys in the set (and so the number of slots that extraction fills). */
size_t runnel_json_keyset_count(const runnel_json_keyset *keyset);

/*
 * Parses `line[0..<length]` as exactly one JSON document (surrounding JSON
 * whitespace allowed, nothing else) and, if it is an object, fills
 * `slots[0..<runnel_json_keyset_count(keyset)]`.
 *
 * Padding: the caller guarantees that line[length ..< length + RUNNEL_JSON_PADDING]
 * is readable memory. Their contents are never written and do not matter.
 *
 * Key matching compares the raw bytes between the key's quotes with the
 * wanted key, so a key written with escape sequences in the input (e.g.
 * "\u0061" for "a") does not match. When a key occurs more than once, the
 * last occurrence wins. Fields that are not wanted are still fully validated
 * (strings unescaped, numbers and literals parsed, containers walked), so a
 * malformed value anywhere makes the whole line RUNNEL_JSON_MALFORMED.
 *
 * On RUNNEL_JSON_OK every slot is written (MISSING for absent keys). On any
 * other status the slots' contents are unspecified.
 */
runnel_json_status runnel_json_extract(runnel_json_parser *parser,
                                       const char *line, size_t length,
                                       const runnel_json_keyset *keyset,
                                       runnel_json_slot *slots);

/*
 * A static, human-readable description of why the last runnel_json_extract on
 * this parser returned RUNNEL_JSON_MALFORMED (or "no error"). The string has
 * static storage duration and is never freed.
 */
const char *runnel_json_parser_last_error(const runnel_json_parser *parser);

/*
 * The number of bytes equal to `value` among the `length` bytes at `bytes`:
 * newlines in a range of an NDJSON file. Vectorized by the compiler (sixteen
 * or more bytes per step), where a memchr call per line costs a call and a
 * restart per line.
 */
size_t runnel_count_byte(const void *bytes, size_t length, unsigned char value);

#ifdef __cplusplus
}
#endif

#endif /* RUNNEL_SIMDJSON_H */
