/// What the readers of one file have told about its line numbers, from which the number of
/// any line start is found by counting only the newlines nobody has accounted for.
///
/// It holds two kinds of exact facts:
/// - **points**: a line start and its number (the start of the file is line 1; a reader
///   resumed from a checkpoint knows its position's number);
/// - **spans**: how many lines start between two line starts. A reader that numbers the
///   lines of a block relative to the block's first line (``NDJSONStripeReader`` with a
///   shared ``NDJSONFileMapping``) tells the span it has read so far after each batch.
///
/// Why: a reader at p > 1 cannot number its block's lines before the blocks ahead of it
/// (read by others, usually part-way) are counted. Counting their newlines when it opens a
/// block was a second pass over the other readers' share of the file, several per cent of
/// the creator replay's CPU, for numbers that only dead letters and checkpoints read. With
/// the index a line's number is resolved when read, by following the spans the readers have
/// told since, and only the stretches nobody has told are counted.
///
/// A plain value: ``NDJSONFileMapping`` keeps it under its lock and counts outside it.
struct NDJSONLineIndex {
    /// Lines starting in `[start, end)`, for a span that starts at `start`.
    struct Span {
        var end: Int64
        var lines: Int64
    }

    /// What to do next to resolve a line start's number.
    enum Step: Equatable {
        /// The number is known.
        case resolved(Int64)
        /// Count the newlines in `from.offset..<to`; `to` is then line `from.lineNumber +
        /// that count` (``NDJSONFileMapping`` records it and asks again).
        case count(from: NDJSONPosition, to: Int64)
    }

    /// Exact points, in increasing offset.
    private(set) var points = [NDJSONPosition(offset: 0, lineNumber: 1)]
    /// Spans by their start, and those starts in increasing order.
    private var spans: [Int64: Span] = [:]
    private var spanStarts: [Int64] = []

    /// Records that the line starting at `point.offset` is line `point.lineNumber`.
    mutating func record(_ point: NDJSONPosition) {
        let i = firstIndex(in: points.lazy.map(\.offset), notBelow: point.offset)
        if i < points.count && points[i].offset == point.offset {
            assert(points[i] == point, "two numbers told for the line at \(point.offset): \(points[i].lineNumber) and \(point.lineNumber)")
            return
        }
        points.insert(point, at: i)
    }

    /// Records that `lines` lines start in `start..<end` (both line starts, or `end` the
    /// file's size). A span that starts where a longer one does adds nothing.
    mutating func record(spanFrom start: Int64, to end: Int64, lines: Int64) {
        guard end > start else { return }
        if let known = spans[start] {
            if end > known.end { spans[start] = Span(end: end, lines: lines) }
            return
        }
        spans[start] = Span(end: end, lines: lines)
        // Readers tell their spans in roughly file order: usually an append.
        if spanStarts.last.map({ $0 < start }) ?? true {
            spanStarts.append(start)
        } else {
            spanStarts.insert(start, at: firstIndex(in: spanStarts, notBelow: start))
        }
    }

    /// Moves toward the number of the line starting at `target`: from the latest point at or
    /// before it, along the spans (recording the points they reach), until the number is
    /// known or a stretch is left that no span covers: up to the next span's start, or to
    /// `target`.
    mutating func step(toward target: Int64) -> Step {
        let index = firstIndex(in: points.lazy.map(\.offset), notBelow: target)
        if index < points.count && points[index].offset == target { return .resolved(points[index].lineNumber) }
        var at = points[index - 1]
        while at.offset < target {
            if let span = spans[at.offset], span.end <= target {
                at = NDJSONPosition(offset: span.end, lineNumber: at.lineNumber + span.lines)
                record(at)
                continue
            }
            let next = firstIndex(in: spanStarts, notBelow: at.offset + 1)
            let to = next < spanStarts.count ? min(spanStarts[next], target) : target
            return .count(from: at, to: to)
        }
        return .resolved(at.lineNumber)
    }

    /// The first index of `sorted` whose element is at least `value` (its count if none).
    private func firstIndex<C: RandomAccessCollection>(in sorted: C, notBelow value: Int64) -> Int
    where C.Element == Int64, C.Index == Int {
        var low = sorted.startIndex, high = sorted.endIndex
        while low < high {
            let mid = (low + high) / 2
            if sorted[mid] < value { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
