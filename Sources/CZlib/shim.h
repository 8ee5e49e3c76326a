// Thin shim over Debian's zlib (zlib1g-dev): inflateInit2 is a macro, which Swift cannot call.
#ifndef RUNNEL_CZLIB_SHIM_H
#define RUNNEL_CZLIB_SHIM_H
#include <zlib.h>

/// inflateInit2 for gzip streams (window bits 15 + 16: gzip header and trailer).
static inline int runnel_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
