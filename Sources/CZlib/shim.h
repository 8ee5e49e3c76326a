// Thin shim over Debian's zlib (zlib1g-dev): inflateInit2 and deflateInit2 are macros,
// which Swift cannot call.
#ifndef RUNNEL_CZLIB_SHIM_H
#define RUNNEL_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 for gzip streams (window bits 15 + 16: gzip header and trailer).
static inline int runnel_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}

/// inflateInit2 for raw DEFLATE data (no header or trailer) with a window of
/// 2^window_bits bytes (8...15), as permessage-deflate (RFC 7692) sends it.
static inline int runnel_inflate_init_raw(z_stream *stream, int window_bits) {
    return inflateInit2(stream, -window_bits);
}

/// deflateInit2 for raw DEFLATE data with a window of 2^window_bits bytes (9...15; zlib
/// does not write raw streams with an 8-bit window) and the default memory level.
static inline int runnel_deflate_init_raw(z_stream *stream, int level, int window_bits) {
    return deflateInit2(stream, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY);
}
#endif
