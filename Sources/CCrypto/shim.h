// Thin shim over OpenSSL's libcrypto (Debian libssl-dev): SHA-1 for the WebSocket handshake
// (RFC 6455 Sec-WebSocket-Accept) and HMAC-SHA256 for signed tokens. Never hand-written.
#ifndef RUNNEL_CCRYPTO_SHIM_H
#define RUNNEL_CCRYPTO_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>
#include <openssl/hmac.h>
#include <openssl/evp.h>

/// SHA-1 of `count` bytes into `digest` (20 bytes).
static inline void runnel_sha1(const void *bytes, size_t count, uint8_t digest[20]) {
    SHA1((const unsigned char *)bytes, count, digest);
}

/// HMAC-SHA256 of `count` bytes under `key` into `mac` (32 bytes). Returns 0 on success.
static inline int runnel_hmac_sha256(const void *key, size_t keyCount, const void *bytes, size_t count, uint8_t mac[32]) {
    unsigned int length = 32;
    return HMAC(EVP_sha256(), key, (int)keyCount, (const unsigned char *)bytes, count, mac, &length) == NULL ? -1 : 0;
}

/// Standard base64 (with padding) of `count` bytes into `out`, which has room for
/// 4 * ((count + 2) / 3) + 1 bytes; returns the length written (without the NUL).
static inline int runnel_base64_encode(const void *bytes, size_t count, char *out) {
    return EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)bytes, (int)count);
}

/// Decodes standard base64 `text` (length a multiple of 4) into `out` (room for
/// 3 * count / 4 bytes); returns the decoded length including the zero bytes that padding
/// stands for (the caller subtracts one per '='), or -1 on invalid input.
static inline int runnel_base64_decode(const char *text, size_t count, void *out) {
    return EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)text, (int)count);
}
#endif
