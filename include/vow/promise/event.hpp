/// @file
/// vow::event: a flag that futures can wait for (asyncio.Event).
///
/// @code
/// vow::event ready(r);
/// ready.wait().then([] { fmt::print("go\n"); });
/// ready.set();     // wakes every waiter (each on a later turn)
/// @endcode
#pragma once

#include <vow/promise/detail/waiters.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <source_location>
#include <stop_token>

namespace vow {

/// A flag that futures can wait for (asyncio.Event).
///
/// wait() on a set event fulfils at once. clear() resets the flag for future
/// waits. Destroying the event rejects its waiters with vow::broken_promise.
///
/// Thread safety: thread-bound (docs/design.md); construct it anywhere, use
/// and destroy it on its reactor's thread (checked where thread checks are
/// on; the two getters are not checked).
class event {
public:
    /// An event on `r`, not set.
    explicit event(reactor& r) noexcept : r_(&r) {}
    event(const event&) = delete;
    event& operator=(const event&) = delete;
    /// Rejects every waiter with vow::broken_promise. Without waiters it
    /// touches nothing of the reactor (which may then be gone already), and
    /// is not checked.
    ~event() {
        if (!waiters_.empty())
            detail::check_thread(*r_, "event::~event");
    }

    /// Sets the flag and fulfils every waiter, oldest first.
    void set() {
        detail::check_thread(*r_, "event::set");
        set_ = true;
        while (!waiters_.empty())
            waiters_.pop_front().resolve();
    }
    /// Resets the flag: later wait() calls wait again for set().
    void clear() noexcept {
        detail::check_thread(*r_, "event::clear");
        set_ = false;
    }
    /// True while the flag is set.
    [[nodiscard]] bool is_set() const noexcept { return set_; }

    /// Fulfilled once the flag is set. With a token, rejects with
    /// vow::cancelled_error if stop is requested first.
    future<void> wait(std::stop_token token = {}, std::source_location where = std::source_location::current()) {
        detail::check_thread(*r_, "event::wait");
        if (set_)
            return make_ready_future(*r_, where);
        return waiters_.add(*r_, token, "event::wait", where);
    }

    /// Callers waiting for the flag.
    [[nodiscard]] std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    reactor* r_;
    bool set_ = false;
    detail::waiter_list<void> waiters_;
};

}  // namespace vow
