// Thin shim over Debian's libxxhash-dev: XXH3 64-bit hashes for checkpoint checksums.
#ifndef RUNNEL_CXXHASH_SHIM_H
#define RUNNEL_CXXHASH_SHIM_H
#include <xxhash.h>
#endif
