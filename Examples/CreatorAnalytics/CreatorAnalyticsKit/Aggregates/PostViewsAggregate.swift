import RunnelCore
import RunnelOperators

/// Counts the views of one post in a window and its distinct viewers.
///
/// A viewer is the `user_id`, or the `session_id` for anonymous views; a view with
/// neither adds no viewer. The creator is the smallest `creator_id` seen, so the result
/// does not depend on arrival order.
///
/// Generic over what a view is (``PostViewFields``): the live job counts ``PostView``s, the
/// replay job its ``ReplayEvent``s.
public struct PostViewsAggregate<View: PostViewFields>: AggregateFunction, Sendable {
    /// The running state of one post's window.
    public typealias Accumulator = PostViewsAccumulator

    /// Creates the aggregate.
    public init() {}

    public func createAccumulator() -> Accumulator { Accumulator() }

    public func add(_ view: View, to acc: inout Accumulator) {
        acc.views += 1
        if let viewer = view.visitor { acc.viewers.insert(viewer) }
        if let c = view.viewedCreator, acc.creatorId.map({ c < $0 }) ?? true { acc.creatorId = c }
    }

    public func merge(_ other: Accumulator, into acc: inout Accumulator) {
        acc.views += other.views
        acc.viewers.formUnion(other.viewers)
        if let c = other.creatorId, acc.creatorId.map({ c < $0 }) ?? true { acc.creatorId = c }
    }

    public func result(_ acc: Accumulator) -> Accumulator { acc }
}

/// The running state of one post's window in ``PostViewsAggregate``.
public struct PostViewsAccumulator: Sendable, Hashable {
    /// Views counted.
    public var views = 0
    /// Distinct viewer ids.
    public var viewers = DistinctStrings()
    /// The post's creator.
    public var creatorId: String?

    /// An empty accumulator.
    public init() {}
}

extension PostViewsAccumulator: StateCodable {
    public func encode(to writer: inout BinaryWriter) {
        writer.write(views)
        writer.write(viewers)
        writer.write(creatorId)
    }

    public init(from reader: inout BinaryReader) throws {
        views = try reader.read()
        viewers = try reader.read()
        creatorId = try reader.read()
    }
}
