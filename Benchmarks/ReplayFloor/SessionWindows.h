// SessionWindows.h: sessions per visitor, closed after 30 minutes without an event.
#ifndef REPLAY_FLOOR_SESSION_WINDOWS_H
#define REPLAY_FLOOR_SESSION_WINDOWS_H

#include "IdSet.h"
#include "ResultWriter.h"
#include <map>
#include <vector>

namespace floor_replay {

/// Event-time session windows with their aggregate (first and last event time, events,
/// post views, distinct posts), merging as the job's session windows merge: an event at
/// `ts` opens the window [ts, ts + gap); windows that overlap merge.
///
/// One linear-probing table keyed by the visitor holds each visitor's first session inline
/// (an event touches one slot, found with no index in front of it). A visitor rarely has a
/// second open session (only while the watermark has not yet closed the first); those go
/// to a side list chained from the slot. Timers are kept per minute: a session is listed
/// in the bucket of the minute in which its window would close; when the watermark passes
/// that minute, the sessions listed there close, or, if they were extended meanwhile, are
/// listed again in their new minute (timers re-armed lazily, not on every event).
class SessionWindows {
public:
    static constexpr int64_t gap = 1800000;

    SessionWindows(ResultWriter &out) : out_(out), slots_(1 << 16) {}

    void prefetch(const PackedId &visitor) const { __builtin_prefetch(&slots_[visitor.hash() & (slots_.size() - 1)]); }

    void add(const PackedId &visitor, int64_t ts, bool isView, const PackedId &post) {
        size_t i = find(visitor);
        if (i == SIZE_MAX) {
            if ((used_ + 1) * 4 > slots_.size() * 3) grow();
            size_t mask = slots_.size() - 1;
            i = visitor.hash() & mask;
            while (!slots_[i].visitor.none()) i = (i + 1) & mask;
            start(slots_[i], visitor, ts, isView, post);
            slots_[i].more = -1;
            used_++;
            return;
        }
        Session &head = slots_[i];
        auto overlaps = [&](const Session &s) { return s.start < ts + gap && ts < s.end + gap; };
        Session *target = overlaps(head) ? &head : nullptr;
        int32_t previous = -1, current = head.more;
        while (current >= 0) {
            Session &s = extra_[current];
            int32_t next = s.more;
            if (overlaps(s)) {
                if (!target) {
                    target = &s;
                } else {
                    // The event bridges two sessions: they merge.
                    merge(*target, s);
                    unlink(head, previous, current, next);
                    current = next;
                    continue;
                }
            }
            previous = current;
            current = next;
        }
        if (!target) {
            int32_t k = allocateExtra();
            start(extra_[k], visitor, ts, isView, post);
            extra_[k].more = slots_[i].more;
            slots_[i].more = k;
            return;
        }
        target->start = std::min(target->start, ts);
        target->end = std::max(target->end, ts);
        target->events++;
        if (isView) {
            target->views++;
            if (!post.none()) target->posts.insert(post);
        }
    }

    /// Writes and drops every session whose window closes at or before `watermark`
    /// (INT64_MAX: every session).
    void fire(int64_t watermark) {
        while (!timers_.empty()) {
            int64_t minute = timers_.begin()->first;
            if (watermark != INT64_MAX && (minute + 1) * 60000 - 1 > watermark) break;
            std::vector<PackedId> visitors;
            visitors.swap(timers_.begin()->second);
            timers_.erase(timers_.begin());
            for (const PackedId &v : visitors) fireVisitor(v, minute, watermark);
        }
    }

private:
    struct Session {
        PackedId visitor;  // none: an empty slot
        int64_t start, end;
        uint32_t events, views;
        int64_t timerMinute;
        IdSet posts;
        int32_t more;  // the visitor's next session in `extra_`, or -1
    };

    static bool closes(const Session &s, int64_t watermark) { return s.end + gap - 1 <= watermark; }

    void start(Session &s, const PackedId &visitor, int64_t ts, bool isView, const PackedId &post) {
        s.visitor = visitor;
        s.start = s.end = ts;
        s.events = 1;
        s.views = isView;
        s.posts = IdSet();
        if (isView && !post.none()) s.posts.insert(post);
        arm(s);
    }

    void arm(Session &s) {
        s.timerMinute = (s.end + gap - 1) / 60000;
        timers_[s.timerMinute].push_back(s.visitor);
    }

    static void merge(Session &into, Session &from) {
        into.start = std::min(into.start, from.start);
        into.end = std::max(into.end, from.end);
        into.events += from.events;
        into.views += from.views;
        into.posts.formUnion(from.posts);
        from.posts.clear();
    }

    void fireVisitor(const PackedId &v, int64_t minute, int64_t watermark) {
        size_t i = find(v);
        if (i == SIZE_MAX) return;
        int32_t previous = -1, current = slots_[i].more;
        while (current >= 0) {
            Session &s = extra_[current];
            int32_t next = s.more;
            if (s.timerMinute == minute) {
                if (closes(s, watermark)) {
                    emit(s);
                    s.posts.clear();
                    unlink(slots_[i], previous, current, next);
                    current = next;
                    continue;
                }
                arm(s);
            }
            previous = current;
            current = next;
        }
        Session &head = slots_[i];
        if (head.timerMinute != minute) return;
        if (!closes(head, watermark)) {
            arm(head);
            return;
        }
        emit(head);
        head.posts.clear();
        if (head.more >= 0) {
            // The visitor's next session takes the slot.
            int32_t k = head.more;
            head = extra_[k];
            free_.push_back(k);
        } else {
            erase(i);
        }
    }

    void emit(const Session &s) {
        out_.literal("{\"type\":\"session\",\"session_key\":");
        out_.id(s.visitor);
        out_.literal(",\"session_start\":");
        out_.timestamp(s.start);
        out_.literal(",\"session_end\":");
        out_.timestamp(s.end);
        out_.literal(",\"duration_s\":");
        out_.seconds(s.end - s.start);
        out_.literal(",\"events\":");
        out_.integer(s.events);
        out_.literal(",\"post_views\":");
        out_.integer(s.views);
        out_.literal(",\"distinct_posts\":");
        out_.integer(s.posts.count);
        out_.literal("}\n");
    }

    size_t find(const PackedId &v) const {
        size_t mask = slots_.size() - 1;
        size_t i = v.hash() & mask;
        while (!slots_[i].visitor.none()) {
            if (slots_[i].visitor == v) return i;
            i = (i + 1) & mask;
        }
        return SIZE_MAX;
    }

    void grow() {
        std::vector<Session> old(slots_.size() * 2);
        old.swap(slots_);
        size_t mask = slots_.size() - 1;
        for (Session &s : old) {
            if (s.visitor.none()) continue;
            size_t i = s.visitor.hash() & mask;
            while (!slots_[i].visitor.none()) i = (i + 1) & mask;
            slots_[i] = s;
        }
    }

    /// Backward-shift deletion: later entries of the probe run move up, so no tombstones.
    void erase(size_t i) {
        size_t mask = slots_.size() - 1;
        slots_[i].visitor = PackedId();
        size_t j = i;
        for (;;) {
            j = (j + 1) & mask;
            if (slots_[j].visitor.none()) break;
            size_t home = slots_[j].visitor.hash() & mask;
            bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) continue;
            slots_[i] = slots_[j];
            slots_[j].visitor = PackedId();
            i = j;
        }
        used_--;
    }

    int32_t allocateExtra() {
        if (!free_.empty()) {
            int32_t k = free_.back();
            free_.pop_back();
            return k;
        }
        extra_.emplace_back();
        return int32_t(extra_.size() - 1);
    }

    void unlink(Session &head, int32_t previous, int32_t current, int32_t next) {
        if (previous < 0) head.more = next; else extra_[previous].more = next;
        free_.push_back(current);
    }

    ResultWriter &out_;
    std::vector<Session> slots_;
    size_t used_ = 0;
    std::vector<Session> extra_;
    std::vector<int32_t> free_;
    std::map<int64_t, std::vector<PackedId>> timers_;
};

}  // namespace floor_replay

#endif
