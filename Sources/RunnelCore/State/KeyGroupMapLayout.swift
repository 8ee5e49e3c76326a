/// How a ``KeyGroupMap`` lays out its entries; chosen per keyed state by what the state is
/// read for.
public enum KeyGroupMapLayout: Sendable, Equatable {
    /// The entries lie densely behind an index of 8-byte slots (the default). A lookup of an
    /// absent key reads only the index, which stays in the cache far longer than the entries
    /// do: right for state that is mostly probed for keys it does not hold (deduplication),
    /// and for large state that checkpoints copy (they copy `count` entries, not a table).
    case indexed
    /// The entries lie in the probe table itself: a lookup of a present key reads one slot
    /// and no index in front of it. Right for state read and written on every element for
    /// keys it mostly holds (open sessions): an index slot is one more cache miss per
    /// element there, and the tables are small enough for their empty quarter not to matter.
    case inline
}
