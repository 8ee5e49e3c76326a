// PostViewWindows.h: views and distinct viewers per post and one-minute window.
#ifndef REPLAY_FLOOR_POST_VIEW_WINDOWS_H
#define REPLAY_FLOOR_POST_VIEW_WINDOWS_H

#include "IdSet.h"
#include "InlineTable.h"
#include "ResultWriter.h"
#include <map>
#include <vector>

namespace floor_replay {

/// Tumbling one-minute windows of post views, with one table per open minute.
///
/// Every window of a minute fires at the same watermark, so a minute's windows are kept
/// together: a linear-probing table keyed by the post, its entries inline. A minute's table
/// holds the few thousand posts viewed in it and stays in the cache while the minute is
/// open; firing walks it in order and drops it. No timer per window is needed.
class PostViewWindows {
public:
    static constexpr int64_t length = 60000;

    PostViewWindows(ResultWriter &out, const IdPacker &ids) : out_(out), ids_(ids) {}

    static int64_t windowStart(int64_t ts) { return ts - ((ts % length) + length) % length; }

    /// Counts a view of `post` at `ts` by `viewer` (none for an anonymous view without a
    /// session) of a post by `creator`, unless its window has closed at `watermark`: then
    /// the view is late, dropped, and false returned.
    bool add(int64_t ts, const PackedId &post, const PackedId &viewer, const PackedId &creator, int64_t watermark) {
        int64_t start = windowStart(ts);
        if (start + length - 1 <= watermark) return false;
        if (start != cachedStart_) {
            cached_ = &minutes_[start];
            cachedStart_ = start;
        }
        Window &w = cached_->findOrInsert(post);
        w.views++;
        if (!viewer.none()) w.viewers.insert(viewer);
        // The smallest creator id seen, as the job's aggregate keeps it.
        if (!creator.none() && (w.creator.none() || (!(creator == w.creator) && ids_.compare(creator, w.creator) < 0)))
            w.creator = creator;
        return true;
    }

    /// Writes and drops every window that ends at or before `watermark` + 1.
    void fire(int64_t watermark) {
        cached_ = nullptr;
        cachedStart_ = INT64_MIN;
        while (!minutes_.empty() && minutes_.begin()->first + length - 1 <= watermark) {
            int64_t start = minutes_.begin()->first;
            minutes_.begin()->second.forEach([&](Window &w) {
                out_.literal("{\"type\":\"post_views\",\"window_start\":");
                out_.timestamp(start);
                out_.literal(",\"window_end\":");
                out_.timestamp(start + length);
                out_.literal(",\"post_id\":");
                out_.id(w.post);
                out_.literal(",\"creator_id\":");
                if (w.creator.none()) out_.literal("\"\""); else out_.id(w.creator);
                out_.literal(",\"views\":");
                out_.integer(w.views);
                out_.literal(",\"unique_viewers\":");
                out_.integer(w.viewers.count);
                out_.literal("}\n");
                w.viewers.clear();
            });
            minutes_.erase(minutes_.begin());
        }
    }

private:
    struct Window {
        PackedId post;  // none: an empty slot
        PackedId creator;
        uint32_t views = 0;
        IdSet viewers;
    };

    /// The windows of one minute, by post.
    struct Minute : InlineTable<Window, &Window::post> {
        Minute() : InlineTable<Window, &Window::post>(1024) {}
    };

    ResultWriter &out_;
    const IdPacker &ids_;
    std::map<int64_t, Minute> minutes_;
    Minute *cached_ = nullptr;
    int64_t cachedStart_ = INT64_MIN;
};

}  // namespace floor_replay

#endif
