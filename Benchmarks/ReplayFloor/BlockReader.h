// BlockReader.h: the lines of one block of a file, read with pread.
#ifndef REPLAY_FLOOR_BLOCK_READER_H
#define REPLAY_FLOOR_BLOCK_READER_H

#include "PackedId.h"
#include "runnel_simdjson.h"

#include <cstring>
#include <sys/types.h>
#include <unistd.h>

namespace floor_replay {

/// Reads the lines that start in a block `[begin, end)` of a file, as a parallel file source
/// splits a file: a line belongs to the block it starts in (so a block other than the first
/// skips the rest of a line that started before it), and its last line may run past its end.
/// Lines are returned without their newline (and without a carriage return before it), in a
/// buffer with `RUNNEL_JSON_PADDING` readable bytes after each, as the extractor needs.
class BlockReader {
public:
    explicit BlockReader(int fd) : fd_(fd) { buffer_ = static_cast<char *>(allocateOrExit(capacity_ + RUNNEL_JSON_PADDING)); }
    ~BlockReader() { free(buffer_); }
    BlockReader(const BlockReader &) = delete;
    BlockReader &operator=(const BlockReader &) = delete;

    /// Starts on the block `[begin, end)`.
    void start(off_t begin, off_t end) {
        have_ = at_ = 0;
        offset_ = begin > 0 ? begin - 1 : 0;  // from the byte before: a newline there starts a line at `begin`
        lineStart_ = offset_;
        end_ = end;
        eof_ = false;
        skipping_ = begin > 0;
    }

    /// The next line of the block; false when the block has no more.
    bool next(const char *&line, size_t &length) {
        for (;;) {
            if (!skipping_ && lineStart_ >= end_) return false;
            char *newline = static_cast<char *>(memchr(buffer_ + at_, '\n', have_ - at_));
            if (!newline) {
                if (eof_) {
                    if (at_ == have_) return false;
                    newline = buffer_ + have_;  // a last line without a newline
                } else {
                    fill();
                    continue;
                }
            }
            const char *begin = buffer_ + at_;
            size_t n = size_t(newline - begin);
            size_t consumed = n + (newline < buffer_ + have_ ? 1 : 0);
            at_ += consumed;
            lineStart_ += off_t(consumed);
            if (skipping_) {  // the end of the line before the block (or the newline just before it)
                skipping_ = false;
                continue;
            }
            if (n > 0 && begin[n - 1] == '\r') n--;
            line = begin;
            length = n;
            return true;
        }
    }

private:
    void fill() {
        memmove(buffer_, buffer_ + at_, have_ - at_);
        have_ -= at_;
        at_ = 0;
        if (have_ + chunk_ > capacity_) {
            capacity_ *= 2;
            buffer_ = static_cast<char *>(realloc(buffer_, capacity_ + RUNNEL_JSON_PADDING));
            if (!buffer_) exitOutOfMemory();
        }
        ssize_t n = pread(fd_, buffer_ + have_, chunk_, offset_);
        if (n < 0) {
            perror("pread");
            exit(1);
        }
        eof_ = n == 0;
        have_ += size_t(n);
        offset_ += n;
    }

    static constexpr size_t chunk_ = 1 << 20;
    int fd_;
    char *buffer_;
    size_t capacity_ = 4 * chunk_;
    size_t have_ = 0, at_ = 0;
    off_t offset_ = 0, lineStart_ = 0, end_ = 0;
    bool eof_ = false, skipping_ = false;
};

}  // namespace floor_replay

#endif
