// Handoff.h: decoded records passed from one thread to another in batches.
#ifndef REPLAY_FLOOR_HANDOFF_H
#define REPLAY_FLOOR_HANDOFF_H

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace floor_replay {

/// A single-producer, single-consumer ring of batches. A batch carries up to `capacity`
/// records, then the watermark that follows them (or none), and whether it is the last:
/// the consumer sees records and watermarks in the order the producer made them, as one
/// thread would.
template <typename Record> class Handoff {
public:
    static constexpr int capacity = 256;

    struct Batch {
        Record records[capacity];
        int count = 0;
        int64_t watermark = INT64_MIN;  // INT64_MIN: no watermark after these records
        bool last = false;
    };

    explicit Handoff(size_t batches = 32) : ring_(batches) {}

    /// The batch the producer fills next (waits while the consumer is a whole ring behind).
    Batch &filling() {
        Batch *b;
        while (!(b = tryFilling())) std::this_thread::yield();
        return *b;
    }

    /// The batch the producer fills next, or nullptr while the consumer is a whole ring behind.
    Batch *tryFilling() {
        uint64_t head = head_.load(std::memory_order_relaxed);
        if (head - tail_.load(std::memory_order_acquire) == ring_.size()) return nullptr;
        return &ring_[head % ring_.size()];
    }

    void publish() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

    /// The next batch to consume (waits for the producer).
    Batch &next() {
        Batch *b;
        while (!(b = tryNext())) std::this_thread::yield();
        return *b;
    }

    /// The next batch to consume, or nullptr when the producer has published none.
    Batch *tryNext() {
        uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (head_.load(std::memory_order_acquire) == tail) return nullptr;
        return &ring_[tail % ring_.size()];
    }

    /// Hands the batch from ``next()`` back, emptied, for the producer to fill again.
    void consumed() {
        uint64_t tail = tail_.load(std::memory_order_relaxed);
        Batch &b = ring_[tail % ring_.size()];
        b.count = 0;
        b.watermark = INT64_MIN;
        b.last = false;
        tail_.store(tail + 1, std::memory_order_release);
    }

private:
    std::vector<Batch> ring_;
    alignas(64) std::atomic<uint64_t> head_{0};
    alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace floor_replay

#endif
