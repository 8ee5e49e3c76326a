// ResultWriter.h: result lines, written as `creator-analytics replay` writes them.
#ifndef REPLAY_FLOOR_RESULT_WRITER_H
#define REPLAY_FLOOR_RESULT_WRITER_H

#include "PackedId.h"
#include <cstdio>
#include <cstdlib>
#include <unistd.h>

namespace floor_replay {

/// Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms).
inline int64_t daysFromCivil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = unsigned(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + int64_t(doe) - 719468;
}

inline void civilFromDays(int64_t days, int &y, unsigned &m, unsigned &d) {
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = unsigned(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = int(int64_t(yoe) + era * 400 + (m <= 2));
}

/// Buffers result lines and writes them to a file descriptor a megabyte at a time. With
/// `wholeLines`, a write when the buffer is full stops at the last complete line, so that
/// writers on several threads can share a file opened with `O_APPEND` (each `write` appends
/// whole lines at once).
class ResultWriter {
public:
    ResultWriter(int fd, const IdPacker &ids, bool wholeLines = false) : fd_(fd), ids_(ids), wholeLines_(wholeLines) {
        buffer_ = static_cast<char *>(allocateOrExit(capacity));
    }
    ~ResultWriter() { free(buffer_); }
    ResultWriter(const ResultWriter &) = delete;
    ResultWriter &operator=(const ResultWriter &) = delete;

    void literal(const char *s, size_t n) {
        if (length_ + n > capacity) {
            if (wholeLines_) flushLines(); else flush();
        }
        memcpy(buffer_ + length_, s, n);
        length_ += n;
    }
    template <size_t N> void literal(const char (&s)[N]) { literal(s, N - 1); }

    void integer(int64_t v) {
        char b[24];
        int n = 24;
        bool negative = v < 0;
        uint64_t u = negative ? uint64_t(0) - uint64_t(v) : uint64_t(v);
        do {
            b[--n] = char('0' + u % 10);
            u /= 10;
        } while (u);
        if (negative) b[--n] = '-';
        literal(b + n, size_t(24 - n));
    }

    /// Milliseconds as seconds with three decimals (`1.500`).
    void seconds(int64_t millis) {
        integer(millis / 1000);
        char f[4] = {'.', char('0' + millis % 1000 / 100), 0, 0};
        twoDigits(f + 2, unsigned(millis % 100));
        literal(f, 4);
    }

    /// A quoted ISO 8601 UTC timestamp with milliseconds, for years 0 to 9999 (inputs have
    /// four-digit years; only a window ending after 9999 would need more).
    void timestamp(int64_t ms) {
        int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
        int64_t rem = ms - days * 86400000;
        int y;
        unsigned mo, d;
        civilFromDays(days, y, mo, d);
        char b[27] = "\"0000-00-00T00:00:00.000Z\"";
        twoDigits(b + 1, unsigned(y / 100));
        twoDigits(b + 3, unsigned(y % 100));
        twoDigits(b + 6, mo);
        twoDigits(b + 9, d);
        twoDigits(b + 12, unsigned(rem / 3600000));
        twoDigits(b + 15, unsigned(rem / 60000 % 60));
        twoDigits(b + 18, unsigned(rem / 1000 % 60));
        unsigned millis = unsigned(rem % 1000);
        b[21] = char('0' + millis / 100);
        twoDigits(b + 22, millis % 100);
        literal(b, 26);
    }

    /// An id as a JSON string (escaped as `JSONWriter` escapes).
    void id(const PackedId &id) {
        char scratch[40];
        const char *text;
        size_t n = ids_.text(id, scratch, text);
        literal("\"");
        for (size_t i = 0; i < n; i++) {
            unsigned char c = static_cast<unsigned char>(text[i]);
            const char *shortForm = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\t' ? "\\t"
                : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : nullptr;
            if (shortForm) {
                literal(shortForm, 2);
            } else if (c < 0x20) {
                char e[8];
                snprintf(e, sizeof e, "\\u%04x", c);
                literal(e, 6);
            } else {
                literal(text + i, 1);
            }
        }
        literal("\"");
    }

    void flush() {
        writeAll(buffer_, length_);
        length_ = 0;
    }

private:
    /// Writes the complete lines buffered, and keeps the start of the line being written.
    void flushLines() {
        const char *end = static_cast<const char *>(memrchr(buffer_, '\n', length_));
        if (!end) {
            flush();
            return;
        }
        size_t whole = size_t(end - buffer_) + 1;
        writeAll(buffer_, whole);
        memmove(buffer_, buffer_ + whole, length_ - whole);
        length_ -= whole;
    }

    void writeAll(const char *bytes, size_t length) {
        size_t written = 0;
        while (written < length) {
            ssize_t n = write(fd_, bytes + written, length - written);
            if (n <= 0) {
                perror("write");
                exit(1);
            }
            written += size_t(n);
        }
    }

public:

private:
    static void twoDigits(char *p, unsigned v) {
        p[0] = char('0' + v / 10);
        p[1] = char('0' + v % 10);
    }

    static constexpr size_t capacity = 1 << 20;
    int fd_;
    const IdPacker &ids_;
    bool wholeLines_;
    char *buffer_;
    size_t length_ = 0;
};

}  // namespace floor_replay

#endif
