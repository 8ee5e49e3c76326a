/// What travels through a channel between tasks: records and, in order with them, the
/// control events that must not overtake records.
public enum StreamItem<Element> {
    /// A record and its event timestamp.
    case record(Element, Timestamp)
    /// First in each batch of a keyed exchange: the stable hashes of the keys of the batch's
    /// records, which the sender computed to route them, by position in the batch (0 for
    /// this item and for control items). The receiver's keyed operator takes them rather
    /// than hashing each key again, and fetches the state a record will touch a few records
    /// ahead. Beside the records rather than in them so the receiver can read the hash of a
    /// record ahead without copying the record (which would retain its strings).
    case keyHashes(ContiguousArray<UInt64>)
    /// The sender's watermark advanced.
    case watermark(Timestamp)
    /// The sender became idle (`true`) or active again (`false`): an idle input does not
    /// hold back the receiver's watermark.
    case idle(Bool)
    /// The sender has snapshotted its state for a checkpoint: the records before this
    /// belong to the checkpoint, those after it to the next one.
    case barrier(CheckpointBarrier)
    /// The sender has finished: nothing follows.
    case end
}
