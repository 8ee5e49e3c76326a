// LineDecoder.h: one NDJSON line of the replay's input checked and decoded as the job does it.
#ifndef REPLAY_FLOOR_LINE_DECODER_H
#define REPLAY_FLOOR_LINE_DECODER_H

#include "DedupTable.h"
#include "PackedId.h"
#include "ResultWriter.h"
#include "runnel_simdjson.h"

#include <cstdio>
#include <cstring>

namespace floor_replay {

/// The kinds of event the job knows.
enum Name { UserRegistered, UserLoggedIn, PostViewed, PostPublished, CommentSubmitted, CreatorSubscribed, PaymentSucceeded, Unknown };

/// One valid line, decoded: what the later stages need, packed.
struct Record {
    uint64_t idHi, idLo, idHash;
    int64_t ts;
    PackedId visitor, post, creator;
    /// The event id when it is not a UUID (the partitioned run carries it to the id's owner).
    PackedId textId;
    Name name;
    bool uuid, fresh;
};

/// Checks and decodes lines: the job's replay decoder, written for the floor. One per thread
/// (the extractor's parser keeps a buffer).
class LineDecoder {
public:
    explicit LineDecoder(IdPacker &ids) : ids_(ids) {
        parser_ = runnel_json_parser_create();
        keyset_ = runnel_json_keyset_create(fieldKeys, FieldCount);
        if (!parser_ || !keyset_) exitOutOfMemory();
    }
    ~LineDecoder() {
        runnel_json_keyset_destroy(keyset_);
        runnel_json_parser_destroy(parser_);
    }
    LineDecoder(const LineDecoder &) = delete;
    LineDecoder &operator=(const LineDecoder &) = delete;

    /// Decodes `line` into `r` (its event id parsed, its hash computed for a UUID; `fresh`
    /// left for deduplication to set); false for a line the job counts as invalid.
    bool decode(const char *line, size_t length, Record &r) {
        Name name = Unknown;
        int64_t ts = 0;
        bool ok = false;
        if (runnel_json_extract(parser_, line, length, keyset_, slots_) == RUNNEL_JSON_OK &&
            slots_[EventId].kind == RUNNEL_JSON_KIND_STRING && slots_[EventId].str_len > 0 &&
            slots_[EventName].kind == RUNNEL_JSON_KIND_STRING &&
            (name = nameOf(slots_[EventName].str, slots_[EventName].str_len)) != Unknown &&
            slots_[Timestamp].kind == RUNNEL_JSON_KIND_STRING &&
            parseTimestamp(reinterpret_cast<const uint8_t *>(slots_[Timestamp].str), slots_[Timestamp].str_len, ts)) {
            // The fields each kind of event requires.
            switch (name) {
            case UserRegistered:
            case UserLoggedIn: ok = !absent(UserId); break;
            case PostViewed: ok = !absent(PostId) && !absent(CreatorId); break;
            case PostPublished: ok = !absent(UserId) && !absent(PostId); break;
            case CommentSubmitted: ok = !absent(UserId) && !absent(PostId) && !absent(CommentId); break;
            case CreatorSubscribed: ok = !absent(SubscriberId) && !absent(CreatorId); break;
            case PaymentSucceeded: ok = !absent(UserId) && !absent(CreatorId) && !absent(Amount) && !absent(Currency); break;
            case Unknown: break;
            }
        }
        if (!ok) return false;
        r.ts = ts;
        r.name = name;
        r.fresh = false;
        r.uuid = parseUUID(reinterpret_cast<const uint8_t *>(eventId()), eventIdLength(), r.idHi, r.idLo);
        if (r.uuid) r.idHash = DedupTable::hash(r.idHi, r.idLo);
        // The visitor is the user, or else the session.
        r.visitor = identifier(UserId);
        if (r.visitor.none()) r.visitor = identifier(SessionId);
        r.post = name == PostViewed ? identifier(PostId) : PackedId();
        r.creator = name == PostViewed ? identifier(CreatorId) : PackedId();
        return true;
    }

    /// The event id of the line decoded last (valid until the next call).
    const char *eventId() const { return slots_[EventId].str; }
    size_t eventIdLength() const { return slots_[EventId].str_len; }

private:
    // The keys the job's replay decoder asks the extractor for (CreatorEventDecoder's key
    // set, in its order), so that extraction does the same work; the last five are not read.
    enum Field {
        EventId, EventName, Timestamp, UserId, SessionId, PostId, CreatorId, SubscriberId, CommentId, Amount, Currency,
        SubscriptionType, Role, DeviceType, Platform, Referrer, FieldCount
    };
    static constexpr const char *fieldKeys[FieldCount] = {
        "event_id", "event_name", "timestamp", "user_id", "session_id", "post_id", "creator_id", "subscriber_id",
        "comment_id", "amount", "currency", "subscription_type", "role", "device_type", "platform", "referrer"};

    static Name nameOf(const char *s, size_t n) {
        static const char *const names[] = {"user_registered", "user_logged_in", "post_viewed", "post_published",
                                            "comment_submitted", "creator_subscribed", "payment_succeeded"};
        for (int i = 0; i < 7; i++)
            if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return Name(i);
        return Unknown;
    }

    static bool digits(const uint8_t *p, int n, int &v) {
        v = 0;
        for (int i = 0; i < n; i++) {
            unsigned c = unsigned(p[i]) - '0';
            if (c > 9) return false;
            v = v * 10 + int(c);
        }
        return true;
    }

    /// `YYYY-MM-DDTHH:MM:SS[.f…]Z` (the fraction 1 to 9 digits, the first three counted), as
    /// the job's timestamp parser accepts it.
    static bool parseTimestamp(const uint8_t *p, size_t n, int64_t &out) {
        if (!(n == 20 || (n >= 22 && n <= 30))) return false;
        int y, mo, d, h, mi, s;
        if (p[4] != '-' || p[7] != '-' || !digits(p, 4, y) || !digits(p + 5, 2, mo) || !digits(p + 8, 2, d)) return false;
        static const int daysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (mo < 1 || mo > 12) return false;
        int limit = daysIn[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
        if (d < 1 || d > limit) return false;
        if (p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[n - 1] != 'Z' || !digits(p + 11, 2, h) ||
            !digits(p + 14, 2, mi) || !digits(p + 17, 2, s) || h > 23 || mi > 59 || s > 59)
            return false;
        int64_t millis = 0;
        if (n > 20) {
            if (p[19] != '.') return false;
            int fractionDigits = int(n) - 21, f = 0;
            for (int i = 0; i < fractionDigits; i++) {
                unsigned c = unsigned(p[20 + i]) - '0';
                if (c > 9) return false;
                if (i < 3) f = f * 10 + int(c);
            }
            for (int i = fractionDigits; i < 3; i++) f *= 10;
            millis = f;
        }
        out = daysFromCivil(y, unsigned(mo), unsigned(d)) * 86400000 + (h * 3600 + mi * 60 + s) * 1000LL + millis;
        return true;
    }

    bool absent(Field f) const {
        return slots_[f].kind == RUNNEL_JSON_KIND_MISSING || slots_[f].kind == RUNNEL_JSON_KIND_NULL;
    }

    /// An id field as the job reads it: a string as is, an integer as its digits, a boolean
    /// as true/false; anything else as no id.
    PackedId identifier(Field f) {
        const runnel_json_slot &s = slots_[f];
        char b[24];
        switch (s.kind) {
        case RUNNEL_JSON_KIND_STRING: return ids_.pack(reinterpret_cast<const uint8_t *>(s.str), s.str_len);
        case RUNNEL_JSON_KIND_INTEGER: {
            int n = snprintf(b, sizeof b, "%lld", static_cast<long long>(s.i));
            return ids_.pack(reinterpret_cast<const uint8_t *>(b), size_t(n));
        }
        case RUNNEL_JSON_KIND_BOOL:
            return s.b ? ids_.pack(reinterpret_cast<const uint8_t *>("true"), 4)
                       : ids_.pack(reinterpret_cast<const uint8_t *>("false"), 5);
        default: return PackedId();
        }
    }

    IdPacker &ids_;
    runnel_json_parser *parser_ = nullptr;
    runnel_json_keyset *keyset_ = nullptr;
    runnel_json_slot slots_[FieldCount];
};

}  // namespace floor_replay

#endif
