// Stages.h: clock ticks per stage of the floor, for `--stages`.
#ifndef REPLAY_FLOOR_STAGES_H
#define REPLAY_FLOOR_STAGES_H

#include <cstdint>
#include <cstdio>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace floor_replay {

/// A cheap clock for the stage totals: the time stamp counter on x86-64, else nanoseconds.
inline uint64_t ticks() {
#if defined(__x86_64__)
    return __rdtsc();
#else
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return uint64_t(now.tv_sec) * 1000000000u + uint64_t(now.tv_nsec);
#endif
}

/// Clock tick totals per stage (only with `--stages`). In the partitioned layout `decode`
/// includes sending each record to its event id's owner, `dedup` sending the fresh ones on,
/// and `handOver` handing batches over and waiting for work.
struct Stages {
    bool on = false;
    uint64_t decode = 0, dedup = 0, views = 0, sessions = 0, fireViews = 0, fireSessions = 0, handOver = 0;
    uint64_t begin() const { return on ? ticks() : 0; }
    void end(uint64_t &total, uint64_t started) const {
        if (on) total += ticks() - started;
    }

    void add(const Stages &other) {
        decode += other.decode;
        dedup += other.dedup;
        views += other.views;
        sessions += other.sessions;
        fireViews += other.fireViews;
        fireSessions += other.fireSessions;
        handOver += other.handOver;
    }

    /// Writes each stage's share of the counted ticks to standard error.
    void print() const {
        double total = double(decode + dedup + views + sessions + fireViews + fireSessions + handOver);
        fprintf(stderr,
                "stages (share of the counted clock ticks): decode %.3f, deduplicate %.3f, post views %.3f, "
                "sessions %.3f, firing post views %.3f, firing sessions %.3f",
                decode / total, dedup / total, views / total, sessions / total, fireViews / total, fireSessions / total);
        if (handOver) fprintf(stderr, ", handing over and waiting %.3f", handOver / total);
        fputc('\n', stderr);
    }
};

}  // namespace floor_replay

#endif
