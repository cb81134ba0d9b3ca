/// @file
/// vow::handle: the handle returned by timers and watchers.
///
/// Example:
/// @code
/// vow::handle h = r.call_later(500ms, [] { fmt::print("late\n"); });
/// h.cancel();  // the callback never runs, and is destroyed now
/// @endcode
///
/// Thread safety: thread-bound. A handle is used and destroyed on its
/// reactor's thread (see docs/design.md, "Threading"). Where thread checks
/// are on, cancel(), active(), assigning over and destroying a handle whose
/// timer or watcher is still armed abort on another thread; a handle that
/// is inactive (fired, cancelled, or its reactor gone) no longer knows its
/// reactor and is left alone, on any thread.
#pragma once

namespace vow {

class reactor;

namespace detail {
struct handle_node;
}

/// A move-only reference to a scheduled timer, fd watcher or signal handler.
///
/// Dropping a handle does *not* cancel what it refers to (asyncio and
/// JavaScript semantics): keep the handle only if you may need to cancel.
/// A handle stays safe to use after its callback has fired, after it was
/// cancelled, and after its reactor was destroyed; `cancel()` is then a no-op.
class handle {
public:
    /// An empty handle, referring to nothing (inactive).
    handle() noexcept = default;
    /// Takes over what `other` refers to; `other` becomes empty.
    handle(handle&& other) noexcept;
    /// Takes over what `other` refers to; `other` becomes empty. What this
    /// handle referred to before is dropped, not cancelled.
    handle& operator=(handle&& other) noexcept;
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    /// Drops the reference; does not cancel the callback.
    ~handle();

    /// Stops the callback from running again and destroys the callable (or,
    /// when called from inside that very callback, right after it returns).
    /// Safe to call any number of times; a cancelled callback never runs, even
    /// if its event had already fired in the current turn.
    void cancel() noexcept;

    /// True while the callback may still run: scheduled and not cancelled.
    /// A one-shot timer becomes inactive when its callback starts.
    [[nodiscard]] bool active() const noexcept;

    /// Same as active().
    explicit operator bool() const noexcept { return active(); }

private:
    friend class reactor;
    explicit handle(detail::handle_node* node) noexcept : node_(node) {}
    detail::handle_node* node_ = nullptr;
};

}  // namespace vow
