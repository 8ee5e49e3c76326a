import CLibUV

/// An error reported by libuv: one of its negative `UV_E*` error codes.
///
/// libuv signals failure by returning a negative errno-style code from most calls;
/// this type keeps that code together with libuv's own symbolic name (`uv_err_name`)
/// and human-readable description (`uv_strerror`), plus the libuv call that failed,
/// so that a log line is actionable without a lookup table.
///
/// ### Thread safety
/// A value type made of immutable values; freely shareable across threads.
public struct UVError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The negative libuv error code, e.g. `UV_EMFILE.rawValue`.
    public let code: Int32

    /// libuv's symbolic name for ``code``, e.g. `"EMFILE"`.
    public let name: String

    /// libuv's description of ``code``, e.g. `"too many open files"`.
    public let message: String

    /// The libuv function (or Runnel operation) that returned ``code``, e.g. `"uv_loop_init"`.
    public let operation: String

    /// Creates an error from a libuv return code.
    ///
    /// - Parameters:
    ///   - code: The negative code returned by libuv.
    ///   - operation: The call that returned it; kept for diagnostics only.
    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
        // Both functions return pointers to static strings (libuv leaks a small
        // allocation only for unknown codes), so copying them out is safe.
        self.name = String(cString: uv_err_name(code))
        self.message = String(cString: uv_strerror(code))
    }

    /// A one-line rendering such as `uv_loop_init: EMFILE (too many open files)`.
    public var description: String {
        "\(operation): \(name) (\(message))"
    }
}

/// Turns a libuv return code into a thrown ``UVError``.
///
/// libuv functions return `0` (or, for a few, a non-negative count) on success and a
/// negative error code on failure; only the negative case throws.
///
/// - Parameters:
///   - result: The value returned by the libuv call.
///   - operation: The name of the call, recorded in the error.
/// - Returns: `result` unchanged when it is not an error, so counts can be used.
/// - Throws: ``UVError`` when `result` is negative.
@discardableResult
@inline(__always)
func uvCheck(_ result: Int32, _ operation: @autoclosure () -> String) throws(UVError) -> Int32 {
    if result < 0 {
        throw UVError(code: result, operation: operation())
    }
    return result
}

/// Traps when a libuv call that cannot fail on a valid handle reports an error.
///
/// Some libuv calls (`uv_timer_start` on an initialised timer, `uv_idle_start`, ...)
/// only fail on programmer error such as passing a closing handle; continuing after
/// such a failure would corrupt the loop, so the runtime stops with the libuv text.
///
/// - Parameters:
///   - result: The value returned by the libuv call.
///   - operation: The name of the call, included in the trap message.
@inline(__always)
func uvMust(_ result: Int32, _ operation: @autoclosure () -> String) {
    if result < 0 {
        fatalError("\(UVError(code: result, operation: operation()))")
    }
}
