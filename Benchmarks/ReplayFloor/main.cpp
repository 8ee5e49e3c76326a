// creator-replay-floor: the creator replay written by hand for this one job, as one
// loop with its state laid out for the job alone (on one thread, or as a two-thread pipeline). Not part of Runnel: a
// yardstick for it. It reads the same NDJSON input, applies the same checks, and writes the
// same result lines as `creator-analytics replay` (Benchmarks/flink/floor_compare.py checks
// that the two agree), so the CPU it takes is a floor for what the job's work costs on
// this machine: the JSON extractor is Runnel's own (CSimdjson); everything around it is
// what a program that knows the job can do: ids packed into words, one table per state
// with entries inline, windows of a minute kept together, lookups batched and prefetched,
// no exchanges, no checkpoints.
//
//   creator-replay-floor INPUT OUTPUT [--stages] [--threads 2]
//
// `--stages` also reports the share of clock ticks spent in each stage (reading lines,
// start-up and the final flush are not counted in any). `--threads 2` splits the work over
// two threads as a pipeline: one reads, decodes and deduplicates, the other keeps the
// windows and writes the results (about half the work each), the records passed between
// them in batches: a two-core floor that pays for moving records between the cores.
#include "DedupTable.h"
#include "Handoff.h"
#include "PostViewWindows.h"
#include "SessionWindows.h"
#include "runnel_simdjson.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

using namespace floor_replay;

namespace {

// The keys the job's replay decoder asks the extractor for (CreatorEventDecoder's key set,
// in its order), so that extraction does the same work; the last five are not read here.
enum Field {
    EventId, EventName, Timestamp, UserId, SessionId, PostId, CreatorId, SubscriberId, CommentId, Amount, Currency,
    SubscriptionType, Role, DeviceType, Platform, Referrer, FieldCount
};
const char *const fieldKeys[FieldCount] = {"event_id", "event_name", "timestamp", "user_id", "session_id", "post_id",
                                           "creator_id", "subscriber_id", "comment_id", "amount", "currency",
                                           "subscription_type", "role", "device_type", "platform", "referrer"};

enum Name { UserRegistered, UserLoggedIn, PostViewed, PostPublished, CommentSubmitted, CreatorSubscribed, PaymentSucceeded, Unknown };

Name nameOf(const char *s, size_t n) {
    static const char *const names[] = {"user_registered", "user_logged_in", "post_viewed", "post_published",
                                        "comment_submitted", "creator_subscribed", "payment_succeeded"};
    for (int i = 0; i < 7; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return Name(i);
    return Unknown;
}

bool digits(const uint8_t *p, int n, int &v) {
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
bool parseTimestamp(const uint8_t *p, size_t n, int64_t &out) {
    if (!(n == 20 || (n >= 22 && n <= 30))) return false;
    int y, mo, d, h, mi, s;
    if (p[4] != '-' || p[7] != '-' || !digits(p, 4, y) || !digits(p + 5, 2, mo) || !digits(p + 8, 2, d)) return false;
    static const int daysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12) return false;
    int limit = daysIn[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
    if (d < 1 || d > limit) return false;
    if (p[10] != 'T' || p[13] != ':' || p[16] != ':' || p[n - 1] != 'Z' || !digits(p + 11, 2, h) || !digits(p + 14, 2, mi) ||
        !digits(p + 17, 2, s) || h > 23 || mi > 59 || s > 59)
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

/// One valid line, decoded: what the later stages need, packed.
struct Record {
    uint64_t idHi, idLo, idHash;
    int64_t ts;
    PackedId visitor, post, creator;
    Name name;
    bool uuid, fresh;
};

/// A cheap clock for the stage totals: the time stamp counter on x86-64, else nanoseconds.
uint64_t ticks() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
#endif
}

/// Clock tick totals per stage (only with `--stages`).
struct Stages {
    bool on = false;
    uint64_t decode = 0, dedup = 0, views = 0, sessions = 0, fireViews = 0, fireSessions = 0;
    uint64_t begin() const { return on ? ticks() : 0; }
    void end(uint64_t &total, uint64_t started) const {
        if (on) total += ticks() - started;
    }
};

/// The post views and sessions: what the second thread does with `--threads 2`.
struct WindowStage {
    PostViewWindows &views;
    SessionWindows &sessions;
    Stages &stages;
    int64_t watermark = INT64_MIN;
    uint64_t late = 0;

    void prefetch(const Record *records, int count) const {
        for (int k = 0; k < count; k++)
            if (records[k].fresh && !records[k].visitor.none()) sessions.prefetch(records[k].visitor);
    }

    /// Adds the fresh records among `records`, in order, judged against the watermark so far.
    void add(const Record *records, int count) {
        uint64_t t = stages.begin();
        for (int k = 0; k < count; k++) {
            const Record &r = records[k];
            if (!r.fresh || r.name != PostViewed || r.post.none()) continue;
            if (PostViewWindows::windowStart(r.ts) + PostViewWindows::length - 1 <= watermark) late++;
            else views.add(r.ts, r.post, r.visitor, r.creator);
        }
        stages.end(stages.views, t);
        t = stages.begin();
        for (int k = 0; k < count; k++) {
            const Record &r = records[k];
            if (!r.fresh || r.visitor.none()) continue;
            // A session window of its own would be late; an event that joins an open session is not.
            bool lateIfNew = r.ts + SessionWindows::gap - 1 <= watermark;
            if (!sessions.add(r.visitor, r.ts, r.name == PostViewed, r.post, lateIfNew)) late++;
        }
        stages.end(stages.sessions, t);
    }

    void advance(int64_t to) {
        if (to <= watermark) return;
        watermark = to;
        uint64_t t = stages.begin();
        views.fire(watermark);
        stages.end(stages.fireViews, t);
        t = stages.begin();
        sessions.fire(watermark);
        stages.end(stages.fireSessions, t);
    }
};

double seconds(const timespec &a, const timespec &b) { return double(b.tv_sec - a.tv_sec) + double(b.tv_nsec - a.tv_nsec) / 1e9; }

}  // namespace

int main(int argc, char **argv) {
    Stages stages;
    int threads = 1;
    bool badArguments = argc < 3;
    for (int i = 3; i < argc && !badArguments; i++) {
        if (strcmp(argv[i], "--stages") == 0) {
            stages.on = true;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && (strcmp(argv[i + 1], "1") == 0 || strcmp(argv[i + 1], "2") == 0)) {
            threads = atoi(argv[++i]);
        } else {
            badArguments = true;
        }
    }
    if (badArguments) {
        fprintf(stderr, "usage: creator-replay-floor INPUT OUTPUT [--stages] [--threads 1|2]\n");
        return 2;
    }
    timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);

    int in = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        perror(argv[1]);
        return 1;
    }
    int outFd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (outFd < 0) {
        perror(argv[2]);
        return 1;
    }
    IdPacker ids;
    ResultWriter out(outFd, ids);
    DedupTable dedup(3600000);
    PostViewWindows views(out, ids);
    SessionWindows sessions(out);
    runnel_json_parser *parser = runnel_json_parser_create();
    runnel_json_keyset *keyset = runnel_json_keyset_create(fieldKeys, FieldCount);
    if (!parser || !keyset) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    runnel_json_slot slots[FieldCount];
    auto absent = [&](Field f) { return slots[f].kind == RUNNEL_JSON_KIND_MISSING || slots[f].kind == RUNNEL_JSON_KIND_NULL; };
    // An id field as the job reads it: a string as is, an integer as its digits, a boolean
    // as true/false; anything else as no id.
    auto identifier = [&](Field f) -> PackedId {
        const runnel_json_slot &s = slots[f];
        char b[24];
        switch (s.kind) {
        case RUNNEL_JSON_KIND_STRING: return ids.pack(reinterpret_cast<const uint8_t *>(s.str), s.str_len);
        case RUNNEL_JSON_KIND_INTEGER: {
            int n = snprintf(b, sizeof b, "%lld", static_cast<long long>(s.i));
            return ids.pack(reinterpret_cast<const uint8_t *>(b), size_t(n));
        }
        case RUNNEL_JSON_KIND_BOOL:
            return s.b ? ids.pack(reinterpret_cast<const uint8_t *>("true"), 4) : ids.pack(reinterpret_cast<const uint8_t *>("false"), 5);
        default: return PackedId();
        }
    };

    const int64_t outOfOrderness = 5000;
    const uint64_t linesPerWatermark = 4096;  // as Runnel's source emits one per read step
    int64_t maxTs = INT64_MIN, watermark = INT64_MIN;
    uint64_t lines = 0, valid = 0, invalid = 0, duplicates = 0, late = 0;

    // Lines are decoded a batch at a time, so that the state each record will touch can be
    // prefetched a stage before it is touched.
    const int batchSize = 32;
    Record batch[batchSize];
    int inBatch = 0;
    WindowStage windows{views, sessions, stages};
    // With two threads, the windows run on the second one, fed through `ring`.
    std::unique_ptr<Handoff<Record>> ring;
    Handoff<Record>::Batch *filling = nullptr;
    std::thread windowThread;
    if (threads == 2) {
        ring = std::make_unique<Handoff<Record>>();
        filling = &ring->filling();
        windowThread = std::thread([&] {
            for (;;) {
                Handoff<Record>::Batch &b = ring->next();
                for (int k = 0; k < b.count; k += batchSize) {
                    int n = std::min(batchSize, b.count - k);
                    windows.prefetch(b.records + k, n);
                    windows.add(b.records + k, n);
                }
                if (b.watermark != INT64_MIN) windows.advance(b.watermark);
                bool last = b.last;
                ring->consumed();
                if (last) return;
            }
        });
    }
    auto handOver = [&](int64_t watermarkAfter, bool last) {
        filling->watermark = watermarkAfter;
        filling->last = last;
        ring->publish();
        if (!last) filling = &ring->filling();
    };
    auto processBatch = [&]() {
        uint64_t t = stages.begin();
        for (int k = 0; k < inBatch; k++) {
            Record &r = batch[k];
            if (r.uuid) r.fresh = dedup.insertIfAbsent(r.idHi, r.idLo, r.idHash, watermark, r.ts);
            if (!r.fresh) duplicates++;
        }
        stages.end(stages.dedup, t);
        if (threads == 1) {
            windows.prefetch(batch, inBatch);
            windows.add(batch, inBatch);
        } else {
            if (filling->count + inBatch > Handoff<Record>::capacity) handOver(INT64_MIN, false);
            for (int k = 0; k < inBatch; k++)
                if (batch[k].fresh) filling->records[filling->count++] = batch[k];
        }
        inBatch = 0;
    };
    auto advanceWatermark = [&](int64_t to) {
        if (to <= watermark) return;
        watermark = to;
        if (threads == 1) windows.advance(to);
        else handOver(to, false);
    };

    const size_t chunk = 1 << 20;
    size_t capacity = 4 * chunk;
    char *buffer = static_cast<char *>(allocateOrExit(capacity + RUNNEL_JSON_PADDING));
    size_t have = 0, at = 0;
    off_t fileOffset = 0;
    bool eof = false;
    for (;;) {
        char *newline = static_cast<char *>(memchr(buffer + at, '\n', have - at));
        if (!newline) {
            if (eof) {
                if (at == have) break;
                newline = buffer + have;  // a last line without a newline
            } else {
                memmove(buffer, buffer + at, have - at);
                have -= at;
                at = 0;
                if (have + chunk > capacity) {
                    capacity *= 2;
                    buffer = static_cast<char *>(realloc(buffer, capacity + RUNNEL_JSON_PADDING));
                    if (!buffer) exitOutOfMemory();
                }
                ssize_t n = pread(in, buffer + have, chunk, fileOffset);
                if (n < 0) {
                    perror("pread");
                    exit(1);  // not a return: a running window thread must not be destroyed
                }
                eof = n == 0;
                have += size_t(n);
                fileOffset += n;
                continue;
            }
        }
        const char *line = buffer + at;
        size_t length = size_t(newline - line);
        at = size_t(newline - buffer) + (newline < buffer + have ? 1 : 0);
        if (length > 0 && line[length - 1] == '\r') length--;
        lines++;

        uint64_t t = stages.begin();
        Name name = Unknown;
        int64_t ts = 0;
        bool ok = false;
        if (runnel_json_extract(parser, line, length, keyset, slots) == RUNNEL_JSON_OK &&
            slots[EventId].kind == RUNNEL_JSON_KIND_STRING && slots[EventId].str_len > 0 &&
            slots[EventName].kind == RUNNEL_JSON_KIND_STRING &&
            (name = nameOf(slots[EventName].str, slots[EventName].str_len)) != Unknown &&
            slots[Timestamp].kind == RUNNEL_JSON_KIND_STRING &&
            parseTimestamp(reinterpret_cast<const uint8_t *>(slots[Timestamp].str), slots[Timestamp].str_len, ts)) {
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
        if (ok) {
            valid++;
            if (ts > maxTs) maxTs = ts;
            Record &r = batch[inBatch++];
            r.ts = ts;
            r.name = name;
            const char *id = slots[EventId].str;
            size_t idLength = slots[EventId].str_len;
            r.uuid = parseUUID(reinterpret_cast<const uint8_t *>(id), idLength, r.idHi, r.idLo);
            if (r.uuid) {
                r.idHash = DedupTable::hash(r.idHi, r.idLo);
                dedup.prefetch(r.idHash);
                r.fresh = false;
            } else {
                r.fresh = dedup.insertTextIfAbsent(id, idLength, watermark, ts);
            }
            // The visitor is the user, or else the session.
            r.visitor = identifier(UserId);
            if (r.visitor.none()) r.visitor = identifier(SessionId);
            r.post = name == PostViewed ? identifier(PostId) : PackedId();
            r.creator = name == PostViewed ? identifier(CreatorId) : PackedId();
        } else {
            invalid++;
        }
        stages.end(stages.decode, t);
        if (inBatch == batchSize) processBatch();
        if (lines % linesPerWatermark == 0) {
            processBatch();
            if (maxTs != INT64_MIN) advanceWatermark(maxTs - outOfOrderness - 1);
        }
    }
    processBatch();
    if (threads == 1) {
        advanceWatermark(INT64_MAX);
    } else {
        handOver(INT64_MAX, true);
        windowThread.join();
    }
    late = windows.late;
    out.flush();
    // As the job's file sink does when it finishes.
    if (fsync(outFd) != 0) perror("fsync");
    close(outFd);
    close(in);
    runnel_json_keyset_destroy(keyset);
    runnel_json_parser_destroy(parser);

    timespec finished;
    clock_gettime(CLOCK_MONOTONIC, &finished);
    rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    fprintf(stderr,
            "events read %llu, valid %llu, invalid %llu, duplicates %llu, late %llu, wall time %.3f s, CPU %.3f s, "
            "peak RSS %ld MiB, ids interned %zu\n",
            (unsigned long long)lines, (unsigned long long)valid, (unsigned long long)invalid, (unsigned long long)duplicates,
            (unsigned long long)late, seconds(started, finished), cpu, usage.ru_maxrss / 1024, ids.internedCount());
    if (stages.on) {
        double total = double(stages.decode + stages.dedup + stages.views + stages.sessions + stages.fireViews + stages.fireSessions);
        fprintf(stderr,
                "stages (share of the counted clock ticks): decode %.3f, deduplicate %.3f, post views %.3f, "
                "sessions %.3f, firing post views %.3f, firing sessions %.3f\n",
                stages.decode / total, stages.dedup / total, stages.views / total, stages.sessions / total,
                stages.fireViews / total, stages.fireSessions / total);
    }
    return 0;
}
