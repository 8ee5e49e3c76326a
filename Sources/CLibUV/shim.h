// Thin shim over Debian's libuv (>= 1.44), imported by RunnelRuntime only.
//
// Almost all of libuv is usable from Swift as-is: the handle structs import with
// their full layout (so Swift allocates them with the correct size and alignment and
// no sizeof shims are needed; libuv also offers uv_handle_size/uv_loop_size), the
// error enum imports as `uv_errno_t`, handle->data is reachable through
// uv_handle_get_data/uv_handle_set_data, and the callbacks are plain C function
// pointers that Swift `@convention(c)` functions satisfy.
//
// The shims below exist only where Swift cannot express something safely or at all:
//
// 1. Handle upcasts. libuv uses C "inheritance" (every handle struct begins with the
//    uv_handle_t fields, so `(uv_handle_t *)timer` is the idiomatic upcast). In Swift
//    the only spelling is an unchecked OpaquePointer round trip that accepts *any*
//    pointer; these inline functions keep the upcast type-checked, so passing e.g. a
//    uv_loop_t* where a handle is expected fails to compile instead of corrupting memory.
//
// 2. Thread names. libuv 1.44 has no uv_thread_setname (added in 1.50), Glibc hides
//    pthread_setname_np behind _GNU_SOURCE (which Swift's Glibc module does not
//    define), and prctl is variadic, which Swift cannot call.
#ifndef RUNNEL_CLIBUV_SHIM_H
#define RUNNEL_CLIBUV_SHIM_H

#include <stddef.h>
#include <uv.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

/// Upcasts a timer handle to the generic handle type (for uv_close, uv_handle_get_data, ...).
static inline uv_handle_t *runnel_uv_timer_as_handle(uv_timer_t *timer) {
    return (uv_handle_t *)timer;
}

/// Upcasts an async (cross-thread wake-up) handle to the generic handle type.
static inline uv_handle_t *runnel_uv_async_as_handle(uv_async_t *async) {
    return (uv_handle_t *)async;
}

/// Upcasts an idle handle to the generic handle type.
static inline uv_handle_t *runnel_uv_idle_as_handle(uv_idle_t *idle) {
    return (uv_handle_t *)idle;
}

/// Upcasts a check handle to the generic handle type.
static inline uv_handle_t *runnel_uv_check_as_handle(uv_check_t *check) {
    return (uv_handle_t *)check;
}

/// Upcasts a signal handle to the generic handle type.
static inline uv_handle_t *runnel_uv_signal_as_handle(uv_signal_t *signal) {
    return (uv_handle_t *)signal;
}

/// Upcasts a TCP handle to the generic handle type.
static inline uv_handle_t *runnel_uv_tcp_as_handle(uv_tcp_t *tcp) {
    return (uv_handle_t *)tcp;
}

/// Upcasts a TCP handle to the stream type (for listen, accept, read, write).
static inline uv_stream_t *runnel_uv_tcp_as_stream(uv_tcp_t *tcp) {
    return (uv_stream_t *)tcp;
}

/// Binds a TCP handle to an IPv4 or IPv6 address given as text. Returns 0 or a UV_E* code.
static inline int runnel_uv_tcp_bind_text(uv_tcp_t *tcp, const char *host, int port) {
    struct sockaddr_storage address;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&address) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&address) != 0) return UV_EINVAL;
    return uv_tcp_bind(tcp, (const struct sockaddr *)&address, 0);
}

/// Starts connecting a TCP handle to an IPv4 or IPv6 address given as text. Returns 0 or a UV_E* code.
static inline int runnel_uv_tcp_connect_text(uv_connect_t *request, uv_tcp_t *tcp, const char *host, int port, uv_connect_cb callback) {
    struct sockaddr_storage address;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&address) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&address) != 0) return UV_EINVAL;
    return uv_tcp_connect(request, tcp, (const struct sockaddr *)&address, callback);
}

/// The port a bound TCP handle listens on (after binding port 0), or a negative UV_E* code.
static inline int runnel_uv_tcp_local_port(uv_tcp_t *tcp) {
    struct sockaddr_storage address;
    int length = sizeof(address);
    int rc = uv_tcp_getsockname(tcp, (struct sockaddr *)&address, &length);
    if (rc != 0) return rc;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
}

/// Names the calling thread (as shown by top -H, perf, gdb); the kernel truncates the
/// name to 15 bytes. Returns 0 on success, -1 where unsupported or on failure.
static inline int runnel_uv_set_current_thread_name(const char *name) {
#ifdef __linux__
    return prctl(PR_SET_NAME, (unsigned long)name, 0UL, 0UL, 0UL);
#else
    (void)name;
    return -1;
#endif
}

/// Copies the calling thread's name into buffer, which must hold at least 16 bytes;
/// the result is NUL-terminated. Returns 0 on success, -1 where unsupported or on failure.
static inline int runnel_uv_get_current_thread_name(char *buffer, size_t size) {
#ifdef __linux__
    if (size < 16) return -1;
    return prctl(PR_GET_NAME, (unsigned long)buffer, 0UL, 0UL, 0UL);
#else
    (void)buffer;
    (void)size;
    return -1;
#endif
}

#endif
