/// @file
/// vow::semaphore: limit how many operations run at once (asyncio.Semaphore).
///
/// @code
/// vow::semaphore slots(r, 10);
/// slots.acquire().then([&] { return fetch(url); })
///                .finally([&] { slots.release(); });
/// @endcode
#pragma once

#include <vow/promise/detail/waiters.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <cstddef>
#include <source_location>
#include <stop_token>

namespace vow {

/// Limits how many operations run at once (asyncio.Semaphore).
///
/// acquire() fulfils at once while permits are left, otherwise waits in line:
/// waiters are served strictly in the order they called acquire() (FIFO), and
/// a released permit goes to the oldest waiter before anyone else. Destroying
/// the semaphore rejects its waiters with vow::broken_promise.
///
/// Thread safety: thread-bound (docs/design.md); construct it anywhere, use
/// and destroy it on its reactor's thread (checked where thread checks are
/// on; the two getters are not checked).
class semaphore {
public:
    /// A semaphore with `permits` permits.
    semaphore(reactor& r, std::size_t permits) noexcept : r_(&r), permits_(permits) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    /// Rejects every waiter with vow::broken_promise. Without waiters it
    /// touches nothing of the reactor (which may then be gone already), and
    /// is not checked.
    ~semaphore() {
        if (!waiters_.empty())
            detail::check_thread(*r_, "semaphore::~semaphore");
    }

    /// A future fulfilled when a permit is ours. With a token, a waiter whose
    /// stop is requested leaves the line and rejects with vow::cancelled_error.
    future<void> acquire(std::stop_token token = {}, std::source_location where = std::source_location::current()) {
        detail::check_thread(*r_, "semaphore::acquire");
        if (permits_ > 0 && waiters_.empty()) {
            --permits_;
            return make_ready_future(*r_, where);
        }
        return waiters_.add(*r_, token, "semaphore::acquire", where);
    }

    /// Takes a permit now if one is free and nobody waits; false otherwise.
    bool try_acquire() noexcept {
        detail::check_thread(*r_, "semaphore::try_acquire");
        if (permits_ == 0 || !waiters_.empty())
            return false;
        --permits_;
        return true;
    }

    /// Returns `n` permits: each goes to the oldest waiter, or back to the pool.
    void release(std::size_t n = 1) {
        detail::check_thread(*r_, "semaphore::release");
        for (; n > 0; --n) {
            if (waiters_.empty())
                ++permits_;
            else
                waiters_.pop_front().resolve();
        }
    }

    /// Permits free now.
    [[nodiscard]] std::size_t available() const noexcept { return permits_; }
    /// Callers waiting in line for a permit.
    [[nodiscard]] std::size_t waiting() const noexcept { return waiters_.size(); }

private:
    reactor* r_;
    std::size_t permits_;
    detail::waiter_list<void> waiters_;
};

}  // namespace vow
