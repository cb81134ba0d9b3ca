/// @file
/// vow::retry: run an async operation again until it succeeds, with
/// exponential backoff and jitter.
///
/// @code
/// vow::retry_policy policy;
/// policy.max_attempts = 5;
/// policy.retry_if = [](const std::exception_ptr& e, std::size_t) { return is_transient(e); };
/// auto page = vow::retry(r, policy, [&] { return client.get(url); });
///
/// // fn may take the attempt number (1 for the first call, then 2, 3...):
/// auto page = vow::retry(r, policy, [&](std::size_t attempt) {
///     return client.get(attempt == 1 ? url : mirror(url));
/// });
/// @endcode
///
/// Attempt 1 starts at once (fn is called inside retry). After a failed
/// attempt k, if attempts remain and retry_if (when set) says yes, it waits
/// `min(max_delay, initial_delay * multiplier^(k-1)) * (1 ± jitter * random)`
/// and calls fn again. The result settles like the last attempt: its value,
/// or its error. A stop requested on `token` cancels the wait between attempts
/// (vow::cancelled_error). Thread safety: thread-bound (docs/design.md).
#pragma once

#include <vow/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/sleep.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <random>
#include <source_location>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace vow {

/// How vow::retry retries: how many attempts, how long to wait between them
/// (exponential backoff with jitter), and which errors are worth a retry.
/// retry() throws vow::invalid_argument for a policy that makes no sense.
struct retry_policy {
    std::size_t max_attempts = 3;  ///< Most attempts; at least 1.
    /// The wait after the first failed attempt, before jitter; not negative.
    reactor::duration initial_delay = std::chrono::milliseconds(100);
    double multiplier = 2.0;  ///< Backoff factor; at least 1.
    /// The longest wait, before jitter; not negative.
    reactor::duration max_delay = std::chrono::seconds(10);
    /// The random spread of each wait, 0 to 1: +-10% by default.
    double jitter = 0.1;
    /// Should this error (of attempt number `attempt`, from 1) be retried?
    /// Empty: every error is retried.
    std::function<bool(const std::exception_ptr&, std::size_t attempt)> retry_if;
};

namespace detail {

void check_retry_policy(const retry_policy& p);
reactor::duration retry_delay(const retry_policy& p, std::size_t attempt, std::mt19937_64& rng);

// fn(attempt) if fn takes the attempt number, else fn(). A functor that
// takes both gets the number.
template <class F>
inline constexpr bool takes_attempt_v = std::is_invocable_v<F&, std::size_t>;

template <class F>
decltype(auto) call_attempt(F& fn, std::size_t attempt) {
    if constexpr (takes_attempt_v<F>)
        return fn(attempt);
    else
        return fn();
}

template <class F, class T>
struct retry_op : std::enable_shared_from_this<retry_op<F, T>> {
    reactor* r;
    retry_policy policy;
    F fn;
    std::stop_token token;
    std::source_location where;
    std::mt19937_64 rng{std::random_device{}()};
    std::size_t attempt = 0;

    retry_op(reactor& rr, retry_policy p, F f, std::stop_token t, std::source_location w)
        : r(&rr), policy(std::move(p)), fn(std::move(f)), token(std::move(t)), where(w) {}

    future<T> run() {
        ++attempt;
        future<T> f;
        try {
            f = call_attempt(fn, attempt);
        } catch (...) {
            f = make_exception_future<T>(*r, std::current_exception(), where);
        }
        return std::move(f).catch_(
            [self = this->shared_from_this()](std::exception_ptr e) -> future<T> {
                if (self->attempt >= self->policy.max_attempts ||
                    (self->policy.retry_if && !self->policy.retry_if(e, self->attempt)))
                    std::rethrow_exception(e);
                return sleep(*self->r, retry_delay(self->policy, self->attempt, self->rng), self->token, self->where)
                    .then([self] { return self->run(); });
            },
            where);
    }
};

}  // namespace detail

/// Calls the future-returning `fn(attempt)` (or `fn()`) until it succeeds or
/// the policy says stop. `attempt` is a std::size_t, 1 for the first call and
/// one more for each retry: the same number retry_if is given for that
/// attempt's error. A throw from `fn` is a failed attempt. `fn` is moved (or
/// copied) into the operation, called on the reactor's thread only, and
/// destroyed once the result has settled. Throws vow::invalid_argument for a
/// policy that makes no sense, without calling `fn`.
template <class F>
auto retry(reactor& r, retry_policy policy, F&& fn, std::stop_token token = {},
           std::source_location where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    if constexpr (!detail::takes_attempt_v<Fn> && !std::is_invocable_v<Fn&>) {
        static_assert(detail::dependent_false<F>,
                      "vow::retry: fn must take no arguments, or the attempt number (a std::size_t, from 1)");
        return future<void>();
    } else {
        using FR = decltype(detail::call_attempt(std::declval<Fn&>(), std::size_t{1}));
        if constexpr (!detail::is_future_v<FR>) {
            static_assert(detail::dependent_false<F>, "vow::retry: fn must return a vow::future");
            return future<void>();
        } else {
            using T = detail::unwrap_t<FR>;
            detail::check_thread(r, "retry");
            detail::check_retry_policy(policy);
            auto op = std::make_shared<detail::retry_op<Fn, T>>(r, std::move(policy), std::forward<F>(fn),
                                                                std::move(token), where);
            return op->run();
        }
    }
}

}  // namespace vow
