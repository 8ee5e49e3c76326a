import CSimdjson
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An immutable, precompiled set of top-level JSON keys that `JSONLineParser`
/// extracts in a single pass over each line.
///
/// Compiling the keys once (in C) keeps per-field key matching to a few word
/// comparisons, instead of string comparisons per line.
/// The set is shared freely across threads: it is never mutated after `init`.
///
/// Key matching is byte-exact against the *raw* key text in the input, so a
/// key written with escape sequences (e.g. `"\u0061"` for `"a"`) does not match.
public final class JSONKeySet: @unchecked Sendable {
    // @unchecked: the C keyset is written only inside `init` and read-only afterwards.

    /// The most keys one set may hold (bounded so that slot storage stays small).
    public static let maximumCount = Int(RUNNEL_JSON_MAX_KEYS)

    /// The keys, in slot order: `keys[i]` is read back with `parser[i]`.
    public let keys: [String]

    /// The compiled C table; owned by this object.
    let handle: OpaquePointer

    /// Compiles `keys` into a set whose slot `i` is `keys[i]`.
    ///
    /// Key sets are static program data, so invalid input is a programming
    /// error and traps: more than `maximumCount` keys, a key listed twice, or a
    /// key containing a NUL, a double quote or a backslash (the raw comparison
    /// could never match such a key).
    public init(keys: [String]) {
        precondition(keys.count <= Self.maximumCount, "JSONKeySet holds at most \(Self.maximumCount) keys")
        precondition(keys.allSatisfy { !$0.utf8.contains(0) }, "JSONKeySet keys must not contain NUL")
        self.keys = keys
        // strdup'ed C copies: the C side copies them again, so they are freed right away.
        let cStrings: [UnsafeMutablePointer<CChar>?] = keys.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        let compiled = cStrings.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { rebound in
                runnel_json_keyset_create(rebound.baseAddress, rebound.count)
            }
        }
        guard let compiled else {
            preconditionFailure("JSONKeySet: duplicate key, or a key containing a quote or backslash: \(keys)")
        }
        handle = compiled
    }

    deinit {
        runnel_json_keyset_destroy(handle)
    }

    /// Number of keys, which is also the number of slots a parse fills.
    public var count: Int { keys.count }

    /// Slot index of `key`, or nil if the set does not contain it. Linear: meant
    /// for setup code that resolves indices once, not for per-line use.
    public func index(of key: String) -> Int? {
        keys.firstIndex(of: key)
    }
}
