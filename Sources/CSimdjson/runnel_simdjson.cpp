// runnel_simdjson.cpp: implementation of the C API declared in runnel_simdjson.h.
//
// Only the error-code (noexcept) half of simdjson is used, so no C++ exception
// can cross into Swift. simdjson's stage 1 (structural indexing, the SIMD-heavy
// part) is chosen at run time by libsimdjson for the CPU at hand; the On Demand
// walk below is inlined from the header and compiled for the baseline target.

#include "runnel_simdjson.h"

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <new>

static_assert(RUNNEL_JSON_PADDING >= simdjson::SIMDJSON_PADDING,
              "RUNNEL_JSON_PADDING must cover simdjson's read-ahead");

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

namespace {

// Nesting bound for the validating walk over values that are not extracted.
// The walk recurses, so the bound caps stack use (a few hundred bytes a level)
// well inside the smallest thread stacks the runtime uses.
constexpr int kMaxNesting = 512;

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

// Table hash over a key's length and its first and last bytes: enough to
// separate typical field names, cheap to compute from the raw input.
inline unsigned key_hash(size_t length, unsigned char first, unsigned char last) noexcept {
    const uint32_t mix = uint32_t(length) * 0x9E3779B1u ^ ((uint32_t(first) << 8) | last) * 0x85EBCA6Bu;
    return mix >> 24; // 0..255
}

} // namespace

struct runnel_json_parser {
    ondemand::parser parser;
    const char *last_error = kNoError;
};

struct runnel_json_keyset {
    // Chained hash table: head[h] and next[i] hold key index + 1 (0 = end of chain).
    uint8_t head[256];
    uint8_t next[RUNNEL_JSON_MAX_KEYS];
    uint32_t length[RUNNEL_JSON_MAX_KEYS];
    const char *bytes[RUNNEL_JSON_MAX_KEYS];
    size_t count;
    std::unique_ptr<char[]> storage;

    // Index of the wanted key equal to raw[0..<n], or -1.
    inline int find(const char *raw, size_t n) const noexcept {
        const unsigned char first = n ? static_cast<unsigned char>(raw[0]) : 0;
        const unsigned char last = n ? static_cast<unsigned char>(raw[n - 1]) : 0;
        for (unsigned e = head[key_hash(n, first, last)]; e != 0; e = next[e - 1]) {
            const unsigned i = e - 1;
            if (length[i] == n && std::memcmp(bytes[i], raw, n) == 0) { return int(i); }
        }
        return -1;
    }
};

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
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        if (keys[i] == nullptr) { return nullptr; }
        const size_t n = std::strlen(keys[i]);
        if (n > UINT32_MAX || std::memchr(keys[i], '"', n) || std::memchr(keys[i], '\\', n)) { return nullptr; }
        total += n + 1;
    }
    std::unique_ptr<runnel_json_keyset> set(new (std::nothrow) runnel_json_keyset());
    if (!set) { return nullptr; }
    set->storage.reset(new (std::nothrow) char[total + 1]);
    if (!set->storage) { return nullptr; }
    std::memset(set->head, 0, sizeof set->head);
    std::memset(set->next, 0, sizeof set->next);
    set->count = count;
    char *cursor = set->storage.get();
    for (size_t i = 0; i < count; i++) {
        const size_t n = std::strlen(keys[i]);
        if (set->find(keys[i], n) >= 0) { return nullptr; } // listed twice
        std::memcpy(cursor, keys[i], n + 1);
        set->bytes[i] = cursor;
        set->length[i] = uint32_t(n);
        cursor += n + 1;
        const unsigned char first = n ? static_cast<unsigned char>(keys[i][0]) : 0;
        const unsigned char last = n ? static_cast<unsigned char>(keys[i][n - 1]) : 0;
        const unsigned h = key_hash(n, first, last);
        set->next[i] = set->head[h];
        set->head[h] = uint8_t(i + 1);
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

const char *runnel_json_parser_last_error(const runnel_json_parser *parser) {
    return parser->last_error;
}

} // extern "C"
