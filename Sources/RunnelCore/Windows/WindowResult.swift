/// Why a window emitted a result.
public enum FiringKind: Sendable, Hashable {
    /// A partial result of a window that is still open (early-firing triggers).
    case early
    /// The window's result when it closed (the watermark or clock passed its end).
    case onTime
    /// An updated result after a late element arrived within the allowed lateness.
    case late

    /// Whether the result is final for now (on-time or a late update), not a partial one.
    public var isFinal: Bool { self != .early }
}

/// One result of a window for one key.
public struct WindowResult<Key, Value> {
    /// The key.
    public var key: Key
    /// The window.
    public var window: TimeWindow
    /// The aggregate's result.
    public var value: Value
    /// Why the window fired.
    public var firing: FiringKind

    /// Creates a result.
    public init(key: Key, window: TimeWindow, value: Value, firing: FiringKind) {
        self.key = key
        self.window = window
        self.value = value
        self.firing = firing
    }
}

extension WindowResult: Sendable where Key: Sendable, Value: Sendable {}
extension WindowResult: Equatable where Key: Equatable, Value: Equatable {}
extension WindowResult: Hashable where Key: Hashable, Value: Hashable {}
