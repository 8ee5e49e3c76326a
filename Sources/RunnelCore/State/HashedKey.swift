/// A key together with its stable hash, computed once per element.
///
/// Keyed state, timers and window state all look up the current key, several times per
/// element. Hashing a string key each time (Swift's SipHash over every byte) dominated
/// those lookups; this wrapper hashes only the precomputed 64-bit value and compares the
/// keys themselves only when the hashes match.
public struct HashedKey<Key: StreamKey>: Hashable, Sendable {
    /// The key.
    public let key: Key
    /// `key.stableHash`.
    public let hash: UInt64

    /// Wraps a key, hashing it.
    public init(_ key: Key) {
        self.key = key
        self.hash = key.stableHash
    }

    /// Wraps a key whose stable hash is known.
    public init(_ key: Key, hash: UInt64) {
        self.key = key
        self.hash = hash
    }

    public static func == (a: HashedKey, b: HashedKey) -> Bool {
        a.hash == b.hash && a.key == b.key
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hash)
    }
}
