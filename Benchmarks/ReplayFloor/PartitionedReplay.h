// PartitionedReplay.h: the floor laid out as a dataflow engine runs the job at parallelism 2.
#ifndef REPLAY_FLOOR_PARTITIONED_REPLAY_H
#define REPLAY_FLOOR_PARTITIONED_REPLAY_H

#include "BlockReader.h"
#include "DedupTable.h"
#include "Handoff.h"
#include "LineDecoder.h"
#include "PostViewWindows.h"
#include "SessionWindows.h"
#include "Stages.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

namespace floor_replay {

/// What a partitioned run counts, summed over its workers.
struct PartitionedCounts {
    uint64_t lines = 0, valid = 0, invalid = 0, duplicates = 0, late = 0;
    /// Clock ticks per stage over both threads (with `--stages`).
    Stages stages;
};

/// The creator replay as an engine of Flink's model runs it at parallelism 2, written by hand
/// for this job: each of two threads reads every other block of the file and decodes its
/// lines, and owns half of every keyed state, chosen by the key's hash (event ids for
/// deduplication, posts for the post views, visitors for the sessions); a record whose key
/// the other thread owns crosses to it through a ring of batches, as through a keyed
/// exchange (about 2.6 crossings an event, half of them to the other core). Watermarks
/// travel with the records: each reader's own every 4,096 lines, and each stage's is the
/// smaller of its two inputs'. Its state, ids and decoding are the floor's; what it adds
/// to the two-stage floor is what data parallelism costs: the exchanges, and each core
/// running every stage over half of each state.
class PartitionedReplay {
public:
    PartitionedReplay(int inputFd, off_t inputSize, int outputFd, IdPacker &ids, bool timeStages = false)
        : inputFd_(inputFd), inputSize_(inputSize), outputFd_(outputFd), ids_(ids), timeStages_(timeStages) {
        for (int w = 0; w < workers; w++) workers_[w] = std::make_unique<Worker>(*this, w);
        for (auto &w : workers_) w->connect();
    }

    /// Runs the job to the end of its input and returns what it counted.
    PartitionedCounts run() {
        std::thread second([&] { workers_[1]->run(); });
        workers_[0]->run();
        second.join();
        PartitionedCounts total;
        for (auto &w : workers_) {
            w->flushOutput();
            total.lines += w->counts.lines;
            total.valid += w->counts.valid;
            total.invalid += w->counts.invalid;
            total.duplicates += w->counts.duplicates;
            total.late += w->counts.late;
            total.stages.add(w->stages);
        }
        return total;
    }

private:
    static constexpr int workers = 2;
    static constexpr off_t blockSize = off_t(4) << 20;  // as Runnel's file source cuts the file
    static constexpr uint64_t linesPerWatermark = 4096;
    static constexpr int64_t outOfOrderness = 5000;
    static constexpr int prefetchBatch = 32;
    enum Stage { Dedup, Views, Sessions, StageCount };

    /// Where one thread's records for one stage of a thread go: a ring of batches
    /// (``Handoff``) used without waiting: a producer that finds it full keeps its batches
    /// (``Outbox``), a consumer that finds it empty does other work.
    using Mailbox = Handoff<Record>;
    using Batch = Mailbox::Batch;

    /// One producer's side of a mailbox: records are written straight into the ring's next
    /// batch, or, while the ring is full, into batches kept here in order until it has room.
    class Outbox {
    public:
        explicit Outbox(Mailbox &box) : box_(box) {}

        void append(const Record &r) {
            Batch &b = target();
            b.records[b.count++] = r;
            if (b.count == Mailbox::capacity) close(b);
        }

        /// A watermark (and whether the input ends) after the records so far.
        void mark(int64_t watermark, bool last) {
            Batch &b = target();
            b.watermark = watermark;
            b.last = last;
            close(b);
        }

        /// Hands over what has been written, in a batch not yet full if need be.
        void flush() {
            if (slot_ && slot_->count > 0) close(*slot_);
            while (!pending_.empty()) {
                Batch &front = pending_.front();
                if (front.count == 0 && front.watermark == INT64_MIN && !front.last) break;  // an empty open batch
                Batch *free = box_.tryFilling();
                if (!free) return;
                free->count = front.count;
                std::copy(front.records, front.records + front.count, free->records);
                free->watermark = front.watermark;
                free->last = front.last;
                box_.publish();
                pending_.pop_front();
            }
        }

        /// Whether everything written has been handed over.
        bool idle() const { return pending_.empty() && (!slot_ || slot_->count == 0); }

    private:
        Batch &target() {
            if (pending_.empty()) {
                if (!slot_) slot_ = box_.tryFilling();
                if (slot_) return *slot_;
            }
            if (pending_.empty() || closedBack_) {
                pending_.emplace_back();
                closedBack_ = false;
            }
            return pending_.back();
        }

        void close(Batch &b) {
            if (&b == slot_) {
                box_.publish();
                slot_ = nullptr;
            } else {
                closedBack_ = true;
            }
        }

        Mailbox &box_;
        Batch *slot_ = nullptr;
        std::deque<Batch> pending_;
        bool closedBack_ = false;
    };

    /// One thread: a reader of every other block, and the owner of half of each state.
    class Worker {
    public:
        Worker(PartitionedReplay &job, int index)
            : job_(job), index_(index), reader_(job.inputFd_), decoder_(job.ids_), out_(job.outputFd_, job.ids_, true),
              dedup_(3600000), views_(out_, job.ids_), sessions_(out_) {
            nextBlock_ = index;
            stages.on = job.timeStages_;
        }

        PartitionedCounts counts;
        Stages stages;

        /// Makes this worker's outboxes, into the other workers' (and its own) inboxes.
        void connect() {
            for (int s = 0; s < StageCount; s++)
                for (int t = 0; t < workers; t++) outboxes_[s][t] = std::make_unique<Outbox>(job_.workers_[t]->inboxes_[s][index_]);
        }

        void run() {
            startBlock();
            // Done when both window stages have seen the end and everything sent has been handed over.
            while (!(done_[Views] && done_[Sessions] && outboxesIdle())) {
                bool progress = false;
                if (!readerDone_) {
                    uint64_t t = stages.begin();
                    readStep();
                    stages.end(stages.decode, t);
                    progress = true;
                }
                progress |= drain(Dedup);
                progress |= drain(Views);
                progress |= drain(Sessions);
                uint64_t t = stages.begin();
                for (auto &stage : outboxes_)
                    for (auto &box : stage) box->flush();
                if (!progress) std::this_thread::yield();
                stages.end(stages.handOver, t);
            }
        }

        void flushOutput() { out_.flush(); }

    private:
        static int owner(uint64_t hash) { return int(hash >> 63); }

        bool outboxesIdle() const {
            for (auto &stage : outboxes_)
                for (auto &box : stage)
                    if (!box->idle()) return false;
            return true;
        }

        // MARK: Reading

        void startBlock() {
            off_t begin = off_t(nextBlock_) * blockSize;
            if (begin >= job_.inputSize_) {
                readerDone_ = true;
                for (int t = 0; t < workers; t++) outboxes_[Dedup][t]->mark(INT64_MAX, true);
                return;
            }
            reader_.start(begin, begin + blockSize);
            nextBlock_ += workers;
        }

        /// Reads up to the next watermark (4,096 lines), routing each valid record to the
        /// owner of its event id.
        void readStep() {
            const char *line;
            size_t length;
            while (linesSinceWatermark_ < linesPerWatermark) {
                if (!reader_.next(line, length)) {
                    startBlock();
                    if (readerDone_) return;
                    continue;
                }
                counts.lines++;
                linesSinceWatermark_++;
                Record r;
                if (!decoder_.decode(line, length, r)) {
                    counts.invalid++;
                    continue;
                }
                counts.valid++;
                if (r.ts > maxTs_) maxTs_ = r.ts;
                uint64_t h = r.idHash;
                if (!r.uuid) {
                    r.textId = job_.ids_.pack(reinterpret_cast<const uint8_t *>(decoder_.eventId()), decoder_.eventIdLength());
                    h = r.textId.hash();
                }
                outboxes_[Dedup][owner(h)]->append(r);
            }
            linesSinceWatermark_ = 0;
            if (maxTs_ != INT64_MIN)
                for (int t = 0; t < workers; t++) outboxes_[Dedup][t]->mark(maxTs_ - outOfOrderness - 1, false);
        }

        // MARK: Stages

        /// Processes every batch waiting in the stage's two inboxes.
        bool drain(Stage stage) {
            bool any = false;
            for (int from = 0; from < workers; from++) {
                Mailbox &box = inboxes_[stage][from];
                while (Batch *b = box.tryNext()) {
                    any = true;
                    uint64_t t = stages.begin();
                    switch (stage) {
                    case Dedup: deduplicate(*b); stages.end(stages.dedup, t); break;
                    case Views: addViews(*b); stages.end(stages.views, t); break;
                    case Sessions: addSessions(*b); stages.end(stages.sessions, t); break;
                    default: break;
                    }
                    input(stage, from, b->watermark, b->last);
                    box.consumed();
                }
            }
            return any;
        }

        /// A watermark (or the end) from input `from` of a stage: the stage's own is the
        /// smaller of its inputs'.
        void input(Stage stage, int from, int64_t watermark, bool last) {
            if (watermark != INT64_MIN) inputWatermarks_[stage][from] = watermark;
            if (last) inputEnded_[stage][from] = true;
            bool ended = inputEnded_[stage][0] && inputEnded_[stage][1];
            int64_t now = std::min(inputWatermarks_[stage][0], inputWatermarks_[stage][1]);
            if (!ended && now <= watermarks_[stage]) return;
            if (ended) now = INT64_MAX;
            if (now > watermarks_[stage]) watermarks_[stage] = now;
            if (done_[stage]) return;
            done_[stage] = ended;
            uint64_t t = stages.begin();
            switch (stage) {
            case Dedup:
                for (int target = 0; target < workers; target++) {
                    outboxes_[Views][target]->mark(watermarks_[Dedup], ended);
                    outboxes_[Sessions][target]->mark(watermarks_[Dedup], ended);
                }
                break;
            case Views:
                views_.fire(watermarks_[Views]);
                stages.end(stages.fireViews, t);
                break;
            case Sessions:
                sessions_.fire(watermarks_[Sessions]);
                stages.end(stages.fireSessions, t);
                break;
            default: break;
            }
        }

        void deduplicate(Batch &b) {
            int64_t watermark = watermarks_[Dedup];
            char scratch[40];
            for (int k = 0; k < b.count; k += prefetchBatch) {
                int n = std::min(prefetchBatch, b.count - k);
                Record *records = b.records + k;
                for (int i = 0; i < n; i++)
                    if (records[i].uuid) dedup_.prefetch(records[i].idHash);
                for (int i = 0; i < n; i++) {
                    Record &r = records[i];
                    if (r.uuid) {
                        r.fresh = dedup_.insertIfAbsent(r.idHi, r.idLo, r.idHash, watermark, r.ts);
                    } else {
                        const char *text;
                        size_t length = job_.ids_.text(r.textId, scratch, text);
                        r.fresh = dedup_.insertTextIfAbsent(text, length, watermark, r.ts);
                    }
                    if (!r.fresh) {
                        counts.duplicates++;
                        continue;
                    }
                    if (r.name == PostViewed && !r.post.none()) outboxes_[Views][owner(r.post.hash())]->append(r);
                    if (!r.visitor.none()) outboxes_[Sessions][owner(r.visitor.hash())]->append(r);
                }
            }
        }

        void addViews(const Batch &b) {
            int64_t watermark = watermarks_[Views];
            for (int k = 0; k < b.count; k++) {
                const Record &r = b.records[k];
                if (!views_.add(r.ts, r.post, r.visitor, r.creator, watermark)) counts.late++;
            }
        }

        void addSessions(const Batch &b) {
            int64_t watermark = watermarks_[Sessions];
            for (int k = 0; k < b.count; k += prefetchBatch) {
                int n = std::min(prefetchBatch, b.count - k);
                const Record *records = b.records + k;
                for (int i = 0; i < n; i++) sessions_.prefetch(records[i].visitor);
                for (int i = 0; i < n; i++) {
                    const Record &r = records[i];
                    if (!sessions_.add(r.visitor, r.ts, r.name == PostViewed, r.post, watermark)) counts.late++;
                }
            }
        }

        PartitionedReplay &job_;
        int index_;
        BlockReader reader_;
        LineDecoder decoder_;
        ResultWriter out_;
        DedupTable dedup_;
        PostViewWindows views_;
        SessionWindows sessions_;

        int64_t nextBlock_;
        bool readerDone_ = false;
        uint64_t linesSinceWatermark_ = 0;
        int64_t maxTs_ = INT64_MIN;

        Mailbox inboxes_[StageCount][workers];
        std::unique_ptr<Outbox> outboxes_[StageCount][workers];
        int64_t inputWatermarks_[StageCount][workers] = {{INT64_MIN, INT64_MIN}, {INT64_MIN, INT64_MIN}, {INT64_MIN, INT64_MIN}};
        bool inputEnded_[StageCount][workers] = {};
        int64_t watermarks_[StageCount] = {INT64_MIN, INT64_MIN, INT64_MIN};
        /// Per stage: whether both its inputs have ended (and it has passed the end on).
        bool done_[StageCount] = {};

        friend class PartitionedReplay;
    };

    int inputFd_;
    off_t inputSize_;
    int outputFd_;
    IdPacker &ids_;
    bool timeStages_;
    std::unique_ptr<Worker> workers_[workers];
};

}  // namespace floor_replay

#endif
