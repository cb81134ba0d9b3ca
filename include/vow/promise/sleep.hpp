/// @file
/// vow::sleep(): a future that is fulfilled after a delay.
///
/// @code
/// vow::sleep(r, 1s).then([] { fmt::print("World\n"); });
///
/// std::stop_source stop;
/// auto nap = vow::sleep(r, 1h, stop.get_token());
/// stop.request_stop();   // any thread: nap rejects with vow::cancelled_error
/// @endcode
///
/// Reactor thread only (checked where thread checks are on). Throws
/// vow::invalid_argument for a negative delay.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>

#include <exception>
#include <memory>
#include <source_location>
#include <stop_token>
#include <utility>

namespace vow {

namespace detail {
std::exception_ptr make_cancelled_error(const char* operation);

// Before any promise exists: had call_later refused the delay, the promise
// in its callable would break, and the future the caller never got would be
// reported as an unhandled rejection on top of the exception.
inline void check_sleep_delay(reactor::duration delay) {
    if (delay < reactor::duration::zero())
        throw invalid_argument("vow::sleep: the delay is negative");
}
}  // namespace detail

/// Fulfils the returned future `delay` from now, on a timer of `r`.
inline future<void> sleep(reactor& r, reactor::duration delay,
                          std::source_location where = std::source_location::current()) {
    detail::check_thread(r, "sleep");
    detail::check_sleep_delay(delay);
    promise<void> p(r, where);
    future<void> f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p)]() mutable { p.resolve(); });
    return f;
}

/// As sleep(reactor&, reactor::duration, std::source_location); rejects with
/// vow::cancelled_error (and frees the timer) as soon as stop is requested on
/// `token`, from any thread.
inline future<void> sleep(reactor& r, reactor::duration delay, const std::stop_token& token,
                          std::source_location where = std::source_location::current()) {
    detail::check_thread(r, "sleep");
    detail::check_sleep_delay(delay);
    if (token.stop_requested())
        return make_exception_future<void>(r, detail::make_cancelled_error("sleep"), where);
    struct op {
        promise<void> p;
        handle timer;
        stop_link link;
        bool done = false;
        op(reactor& rr, std::source_location w) : p(rr, w) {}
        void finish(bool cancelled) {
            if (std::exchange(done, true))
                return;
            timer.cancel();
            link.reset();
            if (cancelled)
                p.reject(detail::make_cancelled_error("sleep"));
            else
                p.resolve();
        }
    };
    auto o = std::make_shared<op>(r, where);
    future<void> f = o->p.get_future();
    o->timer = r.call_later(delay, [o] { o->finish(false); });
    o->link.assign(r, token, [o] { o->finish(true); });
    return f;
}

}  // namespace vow
