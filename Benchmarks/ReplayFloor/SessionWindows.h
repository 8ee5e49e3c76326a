// SessionWindows.h: sessions per visitor, closed after 30 minutes without an event.
#ifndef REPLAY_FLOOR_SESSION_WINDOWS_H
#define REPLAY_FLOOR_SESSION_WINDOWS_H

#include "IdSet.h"
#include "InlineTable.h"
#include "ResultWriter.h"
#include <map>
#include <vector>

namespace floor_replay {

/// Event-time session windows with their aggregate (first and last event time, events,
/// post views, distinct posts), merging as the job's session windows merge: an event at
/// `ts` opens the window [ts, ts + gap); windows that overlap merge.
///
/// One table keyed by the visitor holds each visitor's first session inline (``InlineTable``:
/// an event touches one slot, found with no index in front of it). A visitor rarely has a
/// second open session (only while the watermark has not yet closed the first); those go
/// to a side list chained from the slot. Timers are kept per second: a session is listed
/// in the bucket of the second in which its window would close; when the watermark reaches
/// that time, the session closes, or, if it was extended meanwhile, is listed again in its
/// new second (timers re-armed lazily, not on every event).
class SessionWindows {
public:
    static constexpr int64_t gap = 1800000;
    /// Timers are kept per second of closing time.
    static constexpr int64_t bucketLength = 1000;

    explicit SessionWindows(ResultWriter &out) : out_(out), slots_(1 << 16) {}

    void prefetch(const PackedId &visitor) const { slots_.prefetch(visitor); }

    /// Adds an event at `ts` to the visitor's session, merging sessions it bridges. An event
    /// that overlaps no open session starts one, unless its own window has already closed at
    /// `watermark`: then it is late, dropped, and false returned (an event that joins an
    /// open session is not late).
    bool add(const PackedId &visitor, int64_t ts, bool isView, const PackedId &post, int64_t watermark) {
        const bool lateIfNew = ts + gap - 1 <= watermark;
        Session *found = slots_.find(visitor);
        if (!found) {
            if (lateIfNew) return false;
            Session &s = slots_.insert(visitor);
            start(s, visitor, ts, isView, post);
            s.more = -1;
            return true;
        }
        Session &head = *found;
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
            if (lateIfNew) return false;
            int32_t k = allocateExtra();
            start(extra_[k], visitor, ts, isView, post);
            extra_[k].more = head.more;
            head.more = k;
            return true;
        }
        target->start = std::min(target->start, ts);
        target->end = std::max(target->end, ts);
        target->events++;
        if (isView) {
            target->views++;
            if (!post.none()) target->posts.insert(post);
        }
        return true;
    }

    /// Writes and drops every session whose window closes at or before `watermark`
    /// (INT64_MAX: every session): the sessions of every bucket that has begun by then. A
    /// bucket the watermark is inside is visited once per call; the sessions in it that do
    /// not close yet are listed in it again, for the next watermark.
    void fire(int64_t watermark) {
        while (!timers_.empty()) {
            int64_t bucket = timers_.begin()->first;
            if (bucket * bucketLength > watermark) break;
            bool whole = watermark == INT64_MAX || (bucket + 1) * bucketLength - 1 <= watermark;
            std::vector<PackedId> visitors;
            visitors.swap(timers_.begin()->second);
            timers_.erase(timers_.begin());
            for (const PackedId &v : visitors) fireVisitor(v, bucket, watermark);
            if (!whole) break;
        }
    }

private:
    struct Session {
        PackedId visitor;  // none: an empty slot
        int64_t start, end;
        uint32_t events, views;
        int64_t timerBucket;
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

    /// Lists the session in the bucket of the time its window closes (`end + gap - 1`).
    void arm(Session &s) {
        int64_t closes = s.end + gap - 1;
        s.timerBucket = closes / bucketLength - (closes % bucketLength < 0 ? 1 : 0);  // floor division
        timers_[s.timerBucket].push_back(s.visitor);
    }

    static void merge(Session &into, Session &from) {
        into.start = std::min(into.start, from.start);
        into.end = std::max(into.end, from.end);
        into.events += from.events;
        into.views += from.views;
        into.posts.formUnion(from.posts);
        from.posts.clear();
    }

    void fireVisitor(const PackedId &v, int64_t bucket, int64_t watermark) {
        Session *found = slots_.find(v);
        if (!found) return;
        Session &head = *found;
        int32_t previous = -1, current = head.more;
        while (current >= 0) {
            Session &s = extra_[current];
            int32_t next = s.more;
            if (s.timerBucket == bucket) {
                if (closes(s, watermark)) {
                    emit(s);
                    s.posts.clear();
                    unlink(head, previous, current, next);
                    current = next;
                    continue;
                }
                arm(s);
            }
            previous = current;
            current = next;
        }
        if (head.timerBucket != bucket) return;
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
            slots_.erase(head);
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
    InlineTable<Session, &Session::visitor> slots_;
    std::vector<Session> extra_;
    std::vector<int32_t> free_;
    std::map<int64_t, std::vector<PackedId>> timers_;
};

}  // namespace floor_replay

#endif
