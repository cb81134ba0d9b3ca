/// @file
/// vow::run_until_complete(): drive the loop until one future is done.
///
/// @code
/// vow::reactor r;
/// int n = vow::run_until_complete(r, fetch_count(r));  // asyncio's run_until_complete
/// @endcode
///
/// Runs the reactor on the calling thread until `f` settles, then returns its
/// value or rethrows its error. While the future is still pending and the
/// loop has nothing to do, it waits as long as a live promise could still
/// settle it (another thread may resolve it). It throws vow::stalled_error
/// instead of hanging when nothing alive can settle the future, and when the
/// reactor is stopped (reactor::stop()) before the future settles.
///
/// Thread safety: call on the reactor's thread (the future is thread-bound;
/// checked where thread checks are on), not from inside a callback (that
/// would be a nested run: vow::usage_error).
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <exception>
#include <type_traits>

namespace vow {

namespace detail {
// Runs `r` until `s` has settled; throws stalled_error or usage_error.
// Returns the state that holds the result (`s`, or the state a collapsed
// adoption moved the wait to), with one reference for the caller.
state_base* drive_until_settled(reactor& r, state_base& s);
}  // namespace detail

/// Runs `r` on the calling thread until `f` settles, then returns its value or
/// rethrows its error; throws vow::stalled_error when nothing alive can settle
/// `f` or the reactor is stopped first, and vow::usage_error when called from
/// inside a callback (see the file description).
template <class T>
T run_until_complete(reactor& r, future<T> f) {
    detail::check_thread(r, "run_until_complete");
    struct guard {
        detail::state_base* s;
        ~guard() { s->release(); }
    };
    guard taken{detail::future_access::take(f, "run_until_complete")};
    guard done{detail::drive_until_settled(r, *taken.s)};
    auto* s = static_cast<detail::state<T>*>(done.s);
    if (s->get_status() == detail::status::error)
        std::rethrow_exception(s->take_error());
    return s->take_value();
}

}  // namespace vow
