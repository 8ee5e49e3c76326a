/// The windows of one key and a value per window (accumulators, trigger state).
///
/// A key has few live windows at a time (one or two tumbling windows, `size / slide`
/// sliding ones), so a small array searched linearly beats a `Dictionary`, which would
/// hash the window on every element and allocate a table per key.
public struct WindowMap<Value> {
    private var windows: [TimeWindow] = []
    private var values: [Value] = []

    /// An empty map.
    public init() {}

    /// Whether no window has a value.
    public var isEmpty: Bool { windows.isEmpty }
    /// The number of windows.
    public var count: Int { windows.count }
    /// The windows, in insertion order.
    public var keys: [TimeWindow] { windows }

    /// Calls `body` with the windows and their values where they are stored (the value of
    /// `windows[i]` is `values[i]`), for encoding without copying values out.
    func withEntries<R>(_ body: (UnsafeBufferPointer<TimeWindow>, UnsafeBufferPointer<Value>) throws -> R) rethrows -> R {
        try windows.withUnsafeBufferPointer { w in try values.withUnsafeBufferPointer { v in try body(w, v) } }
    }

    private func index(of window: TimeWindow) -> Int? {
        for i in windows.indices where windows[i] == window { return i }
        return nil
    }

    /// The value of `window`; setting `nil` removes it.
    public subscript(window: TimeWindow) -> Value? {
        get { index(of: window).map { values[$0] } }
        set {
            if let i = index(of: window) {
                if let newValue { values[i] = newValue } else {
                    windows.remove(at: i)
                    values.remove(at: i)
                }
            } else if let newValue {
                windows.append(window)
                values.append(newValue)
            }
        }
    }

    /// The value of `window`, inserting `initial()` first when absent; updated in place.
    public subscript(window: TimeWindow, default initial: @autoclosure () -> Value) -> Value {
        get { index(of: window).map { values[$0] } ?? initial() }
        _modify {
            let i: Int
            if let found = index(of: window) {
                i = found
            } else {
                windows.append(window)
                values.append(initial())
                i = values.count - 1
            }
            yield &values[i]
        }
    }

    /// Changes `window`'s value in place, adding `initial()` first when the window is absent;
    /// returns whether it was added. (What the `default:` subscript does, without a captured
    /// flag to tell that the window was new.)
    @inline(__always)
    mutating func update(_ window: TimeWindow, initial: () -> Value, _ body: (inout Value) -> Void) -> Bool {
        if let i = index(of: window) {
            body(&values[i])
            return false
        }
        windows.append(window)
        values.append(initial())
        body(&values[values.count - 1])
        return true
    }

    /// Removes `window`; returns its value.
    @discardableResult
    public mutating func removeValue(forKey window: TimeWindow) -> Value? {
        guard let i = index(of: window) else { return nil }
        windows.remove(at: i)
        return values.remove(at: i)
    }
}

extension WindowMap: Sendable where Value: Sendable {}
