// A cache prefetch hint for Swift, which has no intrinsic for one. Header only: the
// function is inlined into its Swift callers (no library to link).
#ifndef RUNNEL_CPREFETCH_H
#define RUNNEL_CPREFETCH_H

/// Asks the CPU to start loading the cache line of `address` for reading, without waiting
/// for it. Never faults, whatever the address.
static inline __attribute__((always_inline)) void runnel_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
