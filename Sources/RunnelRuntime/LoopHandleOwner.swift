/// An object that owns one or more libuv handles registered on an ``EventLoop``.
///
/// libuv refuses to close a loop (`uv_loop_close` returns `UV_EBUSY`) while any
/// handle is open, and handle memory may only be freed once the handle's close
/// callback has run. The loop therefore keeps a registry of owners and, when it shuts
/// down, asks each one to close its handles *through the owner's own close path*, so
/// that each owner's close callback releases its `Unmanaged` self-retain and its
/// memory is reclaimed normally instead of leaking.
///
/// ### Thread safety
/// Conformers are confined to their loop's thread; `closeForShutdown()` is only
/// called on that thread.
protocol LoopHandleOwner: AnyObject {
    /// Starts closing every handle this object owns; idempotent.
    ///
    /// Must call ``EventLoop/unregisterHandleOwner(_:)`` (directly or through the
    /// owner's public close method) and pass a close callback that releases the
    /// retain stored in each handle's `data`.
    func closeForShutdown()
}
