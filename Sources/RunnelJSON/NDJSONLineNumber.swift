/// The 1-based number of a line in its file, which may be resolved only when it is read.
///
/// A reader at p > 1 numbers the lines of a block from the block's first line, whose own
/// number depends on blocks other readers are still reading (see ``NDJSONLineIndex``). Its
/// lines carry that relative count and the shared ``NDJSONFileMapping``, which resolves
/// the base when ``value`` is first read: by then the other readers have usually told how
/// many lines they read, so nothing is counted. A dead letter keeps the number in this form
/// and resolves it only if it is written.
///
/// Equality, hashing, ordering and the description use the resolved value: each resolves
/// the number (under the mapping's lock, counting what nobody has told yet), so keep them
/// off hot paths. A number in this form keeps its file's mapping alive.
public struct NDJSONLineNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The mapping that resolves the number of the line at `base`; nil when `count` is the
    /// number itself.
    private let mapping: NDJSONFileMapping?
    /// A line start whose number the mapping resolves.
    private let base: Int64
    /// The lines after the one at `base` (or the number itself).
    private let count: Int64

    /// A number known already.
    @inlinable
    public init(_ value: Int64) {
        self.init(mapping: nil, base: 0, count: value)
    }

    /// The number of the line `count` lines after the line starting at `base`, resolved in
    /// `mapping` when read.
    @usableFromInline
    init(mapping: NDJSONFileMapping?, base: Int64, count: Int64) {
        self.mapping = mapping
        self.base = base
        self.count = count
    }

    /// The number (resolved on each read; the mapping keeps what it resolved).
    public var value: Int64 {
        guard let mapping else { return count }
        return mapping.lineNumber(atLineStart: base) + count
    }

    public static func == (a: Self, b: Self) -> Bool { a.value == b.value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(value) }
    public var description: String { String(value) }
}
