/// @file
/// vow::make_ready_future() and vow::make_exception_future(): futures that are
/// settled from the start.
///
/// @code
/// auto f = vow::make_ready_future(r, 42);          // future<int>
/// auto v = vow::make_ready_future(r);              // future<void>
/// auto e = vow::make_exception_future<int>(r, std::runtime_error("no"));
/// @endcode
///
/// Handlers chained on them still run on a later turn, never inside `then`.
/// Reactor thread only (they create futures, which are thread-bound; checked
/// where thread checks are on).
#pragma once

#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <exception>
#include <source_location>
#include <type_traits>
#include <utility>

namespace vow {

namespace detail {
[[noreturn]] void throw_null_exception(const char* operation);
}

/// A future that already holds `value`: make_ready_future<T>(r, v), or
/// make_ready_future(r, v) to take the type from `v`.
template <class T = void, class V,
          class R = std::conditional_t<std::is_void_v<T>, std::decay_t<V>, T>>
    requires(!std::is_same_v<std::decay_t<V>, std::source_location>)
future<R> make_ready_future(reactor& r, V&& value, std::source_location where = std::source_location::current()) {
    detail::check_thread(r, "make_ready_future");
    auto* s = new detail::state<R>(r, where, 1);
    try {
        s->set_value(std::forward<V>(value));
    } catch (...) {
        s->release();  // still pending: freed without a report
        throw;
    }
    return detail::future_access::make<R>(s);
}

/// A future<void> that is already fulfilled.
template <class T = void>
    requires std::is_void_v<T>
future<void> make_ready_future(reactor& r, std::source_location where = std::source_location::current()) {
    detail::check_thread(r, "make_ready_future");
    auto* s = new detail::state<void>(r, where, 1);
    s->set_value();
    return detail::future_access::make<void>(s);
}

/// A future that already holds `error`. Dropping it unhandled reports the
/// error, like any rejected future. Throws vow::invalid_argument for a null
/// exception_ptr.
template <class T>
future<T> make_exception_future(reactor& r, std::exception_ptr error,
                                std::source_location where = std::source_location::current()) {
    detail::check_thread(r, "make_exception_future");
    if (!error)
        detail::throw_null_exception("make_exception_future");
    auto* s = new detail::state<T>(r, where, 1);
    s->set_error(std::move(error));
    return detail::future_access::make<T>(s);
}

/// As make_exception_future(reactor&, std::exception_ptr, std::source_location),
/// from an exception object: make_exception_future<int>(r, std::runtime_error("x")).
template <class T, class E, class = std::enable_if_t<!std::is_same_v<std::decay_t<E>, std::exception_ptr>>>
future<T> make_exception_future(reactor& r, E&& error, std::source_location where = std::source_location::current()) {
    return make_exception_future<T>(r, std::make_exception_ptr(std::forward<E>(error)), where);
}

}  // namespace vow
