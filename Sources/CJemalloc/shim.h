// Thin shim over Debian's jemalloc: only the statistics interface (mallctl).
// Why a shim: mallctl's "epoch" dance and size_t out-parameters are awkward from Swift.
#ifndef RUNNEL_CJEMALLOC_SHIM_H
#define RUNNEL_CJEMALLOC_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include <jemalloc/jemalloc.h>

/// Refreshes jemalloc's cached statistics and reads allocated/active/resident bytes.
/// Returns 0 on success, an errno value otherwise (e.g. when jemalloc is not the allocator in use).
static inline int runnel_jemalloc_stats(uint64_t *allocated, uint64_t *active, uint64_t *resident) {
    uint64_t epoch = 1;
    size_t esz = sizeof(epoch);
    if (mallctl("epoch", &epoch, &esz, &epoch, esz) != 0) return -1;
    size_t v = 0, sz = sizeof(v);
    int rc = mallctl("stats.allocated", &v, &sz, NULL, 0);
    if (rc != 0) return rc;
    *allocated = v;
    sz = sizeof(v);
    rc = mallctl("stats.active", &v, &sz, NULL, 0);
    if (rc != 0) return rc;
    *active = v;
    sz = sizeof(v);
    rc = mallctl("stats.resident", &v, &sz, NULL, 0);
    if (rc != 0) return rc;
    *resident = v;
    return 0;
}
#endif
