import CCrypto

/// HMAC-SHA256 (OpenSSL's libcrypto), for signed tokens.
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticationCode(for message: some Collection<UInt8>, key: some Collection<UInt8>) -> [UInt8] {
        var mac = [UInt8](repeating: 0, count: 32)
        let (k, m) = (Array(key), Array(message))
        let status = k.withUnsafeBytes { key in
            m.withUnsafeBytes { message in
                mac.withUnsafeMutableBufferPointer {
                    runnel_hmac_sha256(key.baseAddress, key.count, message.baseAddress, message.count, $0.baseAddress)
                }
            }
        }
        // HMAC with SHA-256 fails only when libcrypto cannot allocate its context.
        precondition(status == 0, "HMAC-SHA256 failed in libcrypto")
        return mac
    }
}
