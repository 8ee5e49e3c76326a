/// What travels through a channel between tasks: records and, in order with them, the
/// control events that must not overtake records.
public enum StreamItem<Element> {
    /// A record and its event timestamp.
    case record(Element, Timestamp)
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

/// A batch of stream items: the unit that crosses threads.
public typealias StreamBatch<Element> = ContiguousArray<StreamItem<Element>>
