/// @file
/// vow::future: the eventual result of an asynchronous operation, and the
/// chain of handlers that consumes it.
///
/// A future<T> will hold a T or an error. You do not wait for it; you say what
/// happens next, and get a new future for the result of that:
///
/// @code
/// vow::sleep(r, 1s)
///     .then([] { return fetch_count(); })          // returns future<int>: adopted
///     .then([](int n) { return n * 2; })           // future<int>
///     .catch_([](const std::exception& e) {        // handles errors of that type
///         fmt::print("failed: {}\n", e.what());
///         return 0;
///     })
///     .finally([] { fmt::print("done\n"); });      // runs on both paths
/// @endcode
///
/// Where handlers run: always on the future's reactor thread, on a later turn
/// of the loop, never inside `then()` and never inside `resolve()` (Promises/A+
/// 2.2.4). Handlers run in the order their sources settled.
///
/// What happens to the handler: it is moved into the chain by `then`,
/// `catch_` or `finally` (one allocation, holding both the handler and the new
/// future's state), runs at most once, and is destroyed right after it runs,
/// or without running if the chain is dropped unsettled (the reactor destroyed).
/// A handler that is skipped (a `catch_` on a value, a `then` on an error)
/// lives as long as the node holding it: until the future it returned is
/// consumed or destroyed.
///
/// Thread safety: thread-bound. A future is used and destroyed on its
/// reactor's thread (docs/design.md, "Threading"). Only promises cross threads.
///
/// `catch` is a C++ keyword, so the error handler is spelled `catch_`.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>

#include <exception>
#include <source_location>
#include <type_traits>
#include <utility>

namespace vow {

namespace detail {

template <class F, class T>
struct then_invocable_t : std::is_invocable<std::decay_t<F>&&, T&&> {};
template <class F>
struct then_invocable_t<F, void> : std::is_invocable<std::decay_t<F>&&> {};
template <class F, class T>
inline constexpr bool then_invocable = then_invocable_t<F, T>::value;

template <class F, class T>
struct then_result {
    using type = std::invoke_result_t<std::decay_t<F>&&, T&&>;
};
template <class F>
struct then_result<F, void> {
    using type = std::invoke_result_t<std::decay_t<F>&&>;
};

// The parameter type of a non-generic, single-argument callable. Other
// signatures have no `type`, so catch_arg falls back to void (and catch_
// to its static_assert) instead of failing inside this header.
template <class Sig>
struct arg_of {};
template <class C, class R, class A>
struct arg_of<R (C::*)(A)> {
    using type = A;
};
template <class C, class R, class A>
struct arg_of<R (C::*)(A) const> {
    using type = A;
};
template <class C, class R, class A>
struct arg_of<R (C::*)(A) noexcept> {
    using type = A;
};
template <class C, class R, class A>
struct arg_of<R (C::*)(A) const noexcept> {
    using type = A;
};
template <class R, class A>
struct arg_of<R (*)(A)> {
    using type = A;
};

template <class F, class = void>
struct catch_arg {
    using type = void;  // not a single-argument callable we can inspect
};
template <class F>
struct catch_arg<F, std::void_t<typename arg_of<decltype(&F::operator())>::type>> {
    using type = std::remove_cvref_t<typename arg_of<decltype(&F::operator())>::type>;
};
template <class R, class A>
struct catch_arg<R (*)(A), void> {
    using type = std::remove_cvref_t<A>;
};

// What a catch_ handler catches: std::exception_ptr (everything) if it can
// take one, else the type named by its single parameter.
template <class F>
using catch_error_t = std::conditional_t<std::is_invocable_v<std::decay_t<F>&&, std::exception_ptr>,
                                         std::exception_ptr, typename catch_arg<std::decay_t<F>>::type>;

template <class R, class T>
inline constexpr bool recovers_to = std::is_void_v<T> ? (std::is_void_v<R> || std::is_same_v<std::remove_cvref_t<R>, future<void>>)
                                                      : (std::is_convertible_v<R, T> || std::is_same_v<std::remove_cvref_t<R>, future<T>>);

template <class>
inline constexpr bool dependent_false = false;

}  // namespace detail

/// then, catch_, finally and share consume the future, so they take it as an
/// rvalue: `std::move(f).then(...)`, or chain on the temporary. On a named
/// future they do not compile, with this message (a second `then` on the same
/// future could only fail at run time; folly's thenValue has the same rule).
/// The message is built from the name of the operation `op`, a string literal.
#define VOW_LVALUE_FUTURE(op)                                                                          \
    "vow::future::" op " consumes the future (one future, one consumer): call it on an rvalue, "      \
    "std::move(f)." op "(...), or chain on the temporary; for several consumers use share()"

/// The consumer side of a promise. Move-only. An empty future (default,
/// moved-from, or consumed) throws vow::future_consumed from every operation.
template <class T>
class [[nodiscard("a future that is dropped unhandled reports its error; chain it or keep it")]] future {
public:
    /// The type of the value this future will hold (void for none).
    using value_type = T;

    /// An empty future: every operation throws vow::future_consumed.
    future() noexcept = default;
    /// Takes over `other`'s state; `other` becomes empty.
    future(future&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    /// Takes over `other`'s state; `other` becomes empty. The state this
    /// future held before is dropped, as by the destructor.
    future& operator=(future&& other) noexcept {
        if (this != &other) {
            if (s_)
                s_->release();
            s_ = std::exchange(other.s_, nullptr);
        }
        return *this;
    }
    future(const future&) = delete;
    future& operator=(const future&) = delete;
    /// Drops the state: nobody can handle its result any more, so an error it
    /// holds, or settles with later, is reported as an unhandled rejection.
    ~future() {
        if (s_)
            s_->release();
    }

    /// True if this future holds a state (not consumed, moved from or empty).
    [[nodiscard]] bool valid() const noexcept { return s_ != nullptr; }
    /// True once the result is in: a value or an error.
    [[nodiscard]] bool available() const noexcept { return s_ && !s_->pending(); }
    /// True once the result is in and is an error.
    [[nodiscard]] bool failed() const noexcept { return s_ && s_->get_status() == detail::status::error; }

    /// The reactor whose thread runs this future's handlers.
    [[nodiscard]] reactor& get_reactor() const {
        if (!s_)
            detail::throw_future_consumed("get_reactor");
        return s_->get_reactor();
    }

    /// Runs `fn` with the value (`fn(T)`, or `fn()` for future<void>) once it
    /// is in; returns a future for what `fn` returns. If `fn` returns a
    /// `future<U>`, the result is a `future<U>` that settles with it (adoption).
    /// If `fn` throws, the result rejects with that exception. An error skips
    /// `fn` and passes through. Consumes this future.
    /// Throws vow::future_consumed if this future is empty.
    template <class F>
    auto then(F&& fn, std::source_location where = std::source_location::current()) && {
        if constexpr (!detail::then_invocable<F, T>) {
            static_assert(detail::dependent_false<F>,
                          "vow::future<T>::then: the handler must be callable with the value "
                          "(as T, T&& or const T&), or with no arguments for future<void>");
            return future<void>();
        } else {
            using R = typename detail::then_result<F, T>::type;
            using Out = detail::unwrap_t<R>;
            return chain<detail::then_node<T, std::decay_t<F>, Out>, Out>(std::forward<F>(fn), where, "then", "future::then");
        }
    }
    /// On an lvalue: a compile error that says to std::move it (see
    /// VOW_LVALUE_FUTURE).
    template <class F>
    auto then(F&&, std::source_location = std::source_location::current()) & {
        static_assert(detail::dependent_false<F>, VOW_LVALUE_FUTURE("then"));
        return future<void>();
    }

    /// Runs `fn` if this future fails. `fn(std::exception_ptr)` handles any
    /// error; `fn(const E&)` handles only errors of type E (or derived), and
    /// others pass through. `fn` returns a T (or future<T>) that replaces the
    /// error; if it throws, that exception becomes the error. A value passes
    /// through untouched. Consumes this future.
    template <class F>
    auto catch_(F&& fn, std::source_location where = std::source_location::current()) && {
        using E = detail::catch_error_t<F>;
        if constexpr (std::is_void_v<E>) {
            static_assert(detail::dependent_false<F>,
                          "vow::future<T>::catch_: the handler must take std::exception_ptr, or one "
                          "exception type by const reference, e.g. [](const std::runtime_error& e)");
            return future<T>();
        } else if constexpr (!std::is_invocable_v<std::decay_t<F>&&, const E&>) {
            static_assert(detail::dependent_false<F>, "vow::future<T>::catch_: the handler cannot be called with its error type");
            return future<T>();
        } else if constexpr (!detail::recovers_to<std::invoke_result_t<std::decay_t<F>&&, const E&>, T>) {
            static_assert(detail::dependent_false<F>,
                          "vow::future<T>::catch_: the handler must return T (or future<T>, or "
                          "void for future<void>): the recovered value replaces the error");
            return future<T>();
        } else {
            return chain<detail::catch_node<T, std::decay_t<F>, E>, T>(std::forward<F>(fn), where, "catch_", "future::catch_");
        }
    }
    /// On an lvalue: a compile error that says to std::move it.
    template <class F>
    auto catch_(F&&, std::source_location = std::source_location::current()) & {
        static_assert(detail::dependent_false<F>, VOW_LVALUE_FUTURE("catch_"));
        return future<T>();
    }

    /// Runs `fn()` when this future settles, either way. The value or error
    /// passes through, unless `fn` throws or returns a future that rejects:
    /// then that error replaces it. If `fn` returns a future, the result waits
    /// for it. Consumes this future.
    template <class F>
    future<T> finally(F&& fn, std::source_location where = std::source_location::current()) && {
        if constexpr (!std::is_invocable_v<std::decay_t<F>&&>) {
            static_assert(detail::dependent_false<F>, "vow::future<T>::finally: the handler must take no arguments");
            return future<T>();
        } else {
            return chain<detail::finally_node<T, std::decay_t<F>>, T>(std::forward<F>(fn), where, "finally", "future::finally");
        }
    }
    /// On an lvalue: a compile error that says to std::move it.
    template <class F>
    future<T> finally(F&&, std::source_location = std::source_location::current()) & {
        static_assert(detail::dependent_false<F>, VOW_LVALUE_FUTURE("finally"));
        return future<T>();
    }

    /// A copyable future for many consumers (see shared_future.hpp).
    /// Consumes this future.
    shared_future<T> share(std::source_location where = std::source_location::current()) &&;
    /// On an lvalue: a compile error that says to std::move it.
    template <class U = T>
    shared_future<T> share(std::source_location = std::source_location::current()) & {
        static_assert(detail::dependent_false<U>,
                      "vow::future::share consumes the future: call std::move(f).share() and copy the "
                      "shared_future it returns to each consumer");
        return {};
    }

    /// Ends a chain on purpose: consumes this future and ignores its value.
    /// The operation goes on; an error it ends with is still reported as an
    /// unhandled rejection (use catch_ first to handle it). Unlike dropping
    /// the future, it says so in the code and needs no (void) cast.
    void discard() && noexcept {
        if (s_)
            std::exchange(s_, nullptr)->release();
    }

private:
    friend struct detail::future_access;
    explicit future(detail::state<T>* s) noexcept : s_(s) {}

    template <class Node, class Out, class F>
    future<Out> chain(F&& fn, std::source_location where, const char* operation, const char* checked_as) {
        detail::state<T>* src = detail::future_access::take(*this, operation);
        detail::check_thread(src->get_reactor(), checked_as);
        Node* n;
        try {
            n = new Node(src->get_reactor(), where, src, std::forward<F>(fn));
        } catch (...) {
            s_ = src;
            throw;
        }
        src->attach(n);
        src->release();  // our reference: src's producer or fire task keeps it now
        return detail::future_access::make<Out>(n);
    }

    detail::state<T>* s_ = nullptr;
};

}  // namespace vow

#include <vow/promise/shared_future.hpp>
