import CCrypto

/// SHA-1 digests (OpenSSL's libcrypto). Used where a protocol requires SHA-1 — the
/// WebSocket handshake's `Sec-WebSocket-Accept` — never for anything that needs a secure hash.
public enum SHA1 {
    /// The 20-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        let input = Array(bytes)
        input.withUnsafeBytes { raw in
            digest.withUnsafeMutableBufferPointer { runnel_sha1(raw.baseAddress, raw.count, $0.baseAddress) }
        }
        return digest
    }
}
