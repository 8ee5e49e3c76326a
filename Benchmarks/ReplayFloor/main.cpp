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
//   creator-replay-floor INPUT OUTPUT [--stages] [--threads 2 | --partitioned]
//
// `--stages` also reports the share of clock ticks spent in each stage (reading lines,
// start-up and the final flush are not counted in any; in the partitioned layout reading is
// counted with decoding, and both threads' ticks are added up). `--threads 2` splits the work over
// two threads as a pipeline: one reads, decodes and deduplicates, the other keeps the
// windows and writes the results (about half the work each), the records passed between
// them in batches: a two-core floor that pays for moving records between the cores.
// `--partitioned` runs it on two threads as an engine of Flink's model runs the job at
// parallelism 2 (PartitionedReplay.h): each thread reads half of the file and owns half of
// every keyed state, records crossing between the threads by their keys.
#include "BlockReader.h"
#include "DedupTable.h"
#include "Handoff.h"
#include "LineDecoder.h"
#include "PartitionedReplay.h"
#include "PostViewWindows.h"
#include "SessionWindows.h"
#include "Stages.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

using namespace floor_replay;

namespace {

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
            if (!views.add(r.ts, r.post, r.visitor, r.creator, watermark)) late++;
        }
        stages.end(stages.views, t);
        t = stages.begin();
        for (int k = 0; k < count; k++) {
            const Record &r = records[k];
            if (!r.fresh || r.visitor.none()) continue;
            if (!sessions.add(r.visitor, r.ts, r.name == PostViewed, r.post, watermark)) late++;
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

/// The summary line every run ends with (compared by floor_compare.py).
void printSummary(const timespec &started, uint64_t lines, uint64_t valid, uint64_t invalid, uint64_t duplicates,
                  uint64_t late, const IdPacker &ids) {
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
}

}  // namespace

int main(int argc, char **argv) {
    Stages stages;
    int threads = 1;
    bool partitioned = false;
    bool badArguments = argc < 3;
    for (int i = 3; i < argc && !badArguments; i++) {
        if (strcmp(argv[i], "--stages") == 0) {
            stages.on = true;
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && (strcmp(argv[i + 1], "1") == 0 || strcmp(argv[i + 1], "2") == 0)) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--partitioned") == 0) {
            partitioned = true;
        } else {
            badArguments = true;
        }
    }
    if (partitioned && threads != 1) badArguments = true;
    if (badArguments) {
        fprintf(stderr, "usage: creator-replay-floor INPUT OUTPUT [--stages] [--threads 1|2 | --partitioned]\n");
        return 2;
    }
    timespec started;
    clock_gettime(CLOCK_MONOTONIC, &started);

    int in = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        perror(argv[1]);
        return 1;
    }
    // Appending: the partitioned run's two writers share the file (each writes whole lines).
    int outFd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (outFd < 0) {
        perror(argv[2]);
        return 1;
    }
    IdPacker ids;
    if (partitioned) {
        struct stat info;
        if (fstat(in, &info) != 0) {
            perror(argv[1]);
            return 1;
        }
        PartitionedReplay job(in, info.st_size, outFd, ids, stages.on);
        PartitionedCounts counts = job.run();
        if (fsync(outFd) != 0) perror("fsync");
        close(outFd);
        close(in);
        printSummary(started, counts.lines, counts.valid, counts.invalid, counts.duplicates, counts.late, ids);
        if (stages.on) counts.stages.print();
        return 0;
    }
    ResultWriter out(outFd, ids);
    DedupTable dedup(3600000);
    PostViewWindows views(out, ids);
    SessionWindows sessions(out);
    LineDecoder decoder(ids);

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

    BlockReader reader(in);
    reader.start(0, INT64_MAX);  // the whole file as one block
    const char *line;
    size_t length;
    while (reader.next(line, length)) {
        lines++;

        uint64_t t = stages.begin();
        Record &r = batch[inBatch];
        if (decoder.decode(line, length, r)) {
            valid++;
            inBatch++;
            if (r.ts > maxTs) maxTs = r.ts;
            if (r.uuid) dedup.prefetch(r.idHash);
            else r.fresh = dedup.insertTextIfAbsent(decoder.eventId(), decoder.eventIdLength(), watermark, r.ts);
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

    printSummary(started, lines, valid, invalid, duplicates, late, ids);
    if (stages.on) stages.print();
    return 0;
}
