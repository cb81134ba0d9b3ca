/// @file
/// Loops whose steps are futures: vow::repeat, vow::do_until, vow::do_for_each
/// and vow::keep_doing (seastar's names).
///
/// @code
/// // Read lines until the peer is done:
/// vow::repeat(r, [s]() mutable {
///     return s.read_line().then([](std::optional<std::string> line) {
///         if (!line)
///             return vow::stop_iteration::yes;
///         fmt::print("{}\n", *line);
///         return vow::stop_iteration::no;
///     });
/// });                                                  // future<void>
///
/// // Tick every 100 ms until told to stop:
/// vow::keep_doing(r, [&] { return vow::sleep(r, 100ms, stop.get_token()).then(tick); },
///                 stop.get_token());
/// @endcode
///
/// Each loop calls its body, waits for the future it returns, and calls it
/// again, one iteration at a time; the returned `future<void>` settles when the
/// loop ends, or rejects with the first error (a throw from the body, or a
/// body future that rejects), after which the body is not called again.
///
/// Constant memory: a loop is one node that waits on one body future at a
/// time, whatever the number of iterations; nothing grows with the count and
/// nothing recurses on the stack. (The natural alternative, a continuation
/// that returns the next iteration's future, is also constant in vow; see
/// docs/design.md, "Adoption collapses". These helpers are shorter, and keep
/// the loop's state in one place.)
///
/// When the body runs: the first call happens inside the loop function (as
/// with map_concurrent and retry). A body future that is already settled is
/// taken at once and the next iteration runs without waiting for a turn of
/// the loop; a pending one is waited for, and the next iteration runs on the
/// reactor's thread when it settles. After 4096 iterations in a row without a
/// wait (the reactor's drain budget), the loop yields to the reactor with a
/// zero-delay timer, so timers, I/O and stop requests are never starved.
///
/// What happens to the body (and the predicate or function): moved or copied
/// into the loop, called on the reactor's thread only, and destroyed as soon
/// as the loop ends (so what it captured, a stream, a shared_ptr, is released
/// then); never run after that. An rvalue range given to do_for_each lives as
/// long as the loop's state. A loop whose future is dropped keeps running; its
/// error is then reported as an unhandled rejection, like any dropped future's.
///
/// Thread safety: thread-bound (docs/design.md): call on the reactor's thread.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

#include <cassert>
#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <ranges>
#include <source_location>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace vow {

/// What a repeat body says after each iteration: go on (`no`) or stop (`yes`).
enum class stop_iteration {
    no,  ///< Go on: call the body again.
    yes  ///< Stop: the loop resolves.
};

namespace detail {

// Iterations run back to back before a loop yields to the reactor: the same
// budget as the reactor's queue drain.
inline constexpr std::size_t loop_batch = 4096;

// The machinery shared by the loops: one state<void> that is also the
// continuation of the body future it waits on. Derived provides
//   bool finished();          // checked before each iteration: true ends the loop
//   auto call();              // runs the body: an R or a future<R>
//   bool next(R&&) / next();  // after a value: false ends the loop (R = stop_iteration)
//   bool ends_quietly(const std::exception_ptr&);  // an error that ends the loop with success
//   void destroy_body();      // the loop ended: destroy the body now
template <class Derived, class R>
class loop_node : public state<void> {
public:
    loop_node(reactor& r, std::source_location where) noexcept : state<void>(r, where, 1) {}

    // Runs iterations until one waits, the loop ends, or the batch is used up.
    void run() {
        try {
            for (std::size_t n = 0; n < loop_batch; ++n) {
                if (self().finished())
                    return succeed();
                using S = decltype(self().call());
                if constexpr (is_future_v<S>) {
                    auto f = self().call();
                    state<R>* s = future_access::take(f, "a loop (the future its body returned)");
                    if (s->pending()) {
                        this->add_ref();  // the body's state owns us while we wait
                        this->set_upstream(s);
                        s->attach(this);
                        s->release();
                        return;
                    }
                    bool go = take(*s);
                    s->release();
                    if (!go)
                        return;
                } else if constexpr (std::is_void_v<S>) {
                    self().call();
                } else if (!self().next(self().call())) {
                    return succeed();
                }
            }
        } catch (...) {
            return fail(std::current_exception());
        }
        yield();
    }

    void fire(state_base& src) final {
        this->set_upstream(nullptr);
        bool go;
        try {
            go = take(static_cast<state<R>&>(src));
        } catch (...) {
            return fail(std::current_exception());
        }
        if (go)
            run();
    }
    void drop() noexcept final { this->release(); }
    void moved_to(state_base& src) noexcept final { this->set_upstream(&src); }

    // Default hooks.
    bool finished() { return false; }
    bool ends_quietly(const std::exception_ptr&) { return false; }

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }

    // Takes a settled body state's result; true to go on.
    bool take(state<R>& s) {
        if (s.get_status() != status::value) {
            fail(s.take_error());
            return false;
        }
        if constexpr (std::is_void_v<R>) {
            s.take_value();
            return true;
        } else {
            if (self().next(s.take_value()))
                return true;
            succeed();
            return false;
        }
    }

    void succeed() {
        self().destroy_body();
        this->set_value();
    }

    void fail(std::exception_ptr e) {
        if (!this->pending())
            return;
        bool quiet = self().ends_quietly(e);
        self().destroy_body();
        if (quiet)
            this->set_value();
        else
            this->set_error(std::move(e));
    }

    // Lets the reactor poll I/O and timers before the next batch.
    void yield() {
        struct resume {
            loop_node* n;
            explicit resume(loop_node* nn) noexcept : n(nn) { n->add_ref(); }
            resume(resume&& o) noexcept : n(std::exchange(o.n, nullptr)) {}
            resume(const resume&) = delete;
            ~resume() {
                if (n)
                    n->release();
            }
            void operator()() { n->run(); }
        };
        try {
            (void)this->get_reactor().call_later(reactor::duration::zero(), resume(this));
        } catch (...) {
            fail(std::current_exception());
        }
    }
};

template <class F>
class repeat_node final : public loop_node<repeat_node<F>, stop_iteration> {
public:
    template <class G>
    repeat_node(reactor& r, std::source_location where, G&& fn)
        : loop_node<repeat_node, stop_iteration>(r, where), fn_(std::forward<G>(fn)) {}
    auto call() {
        assert(fn_);  // loop_node calls the body only before destroy_body()
        return (*fn_)();
    }
    bool next(stop_iteration s) { return s == stop_iteration::no; }
    void destroy_body() noexcept { fn_.reset(); }

private:
    std::optional<F> fn_;
};

template <class P, class F, class R>
class do_until_node final : public loop_node<do_until_node<P, F, R>, R> {
public:
    template <class Q, class G>
    do_until_node(reactor& r, std::source_location where, Q&& stop, G&& fn)
        : loop_node<do_until_node, R>(r, where), stop_(std::forward<Q>(stop)), fn_(std::forward<G>(fn)) {}
    bool finished() {
        assert(stop_);  // loop_node asks only before destroy_body()
        return static_cast<bool>((*stop_)());
    }
    auto call() {
        assert(fn_);
        return (*fn_)();
    }
    void destroy_body() noexcept {
        stop_.reset();
        fn_.reset();
    }

private:
    std::optional<P> stop_;
    std::optional<F> fn_;
};

// Holds the range (an owned copy for an rvalue, a reference for an lvalue)
// and the position. The iterators are taken once the range is in place.
template <class Range, class F, class R>
class for_each_node final : public loop_node<for_each_node<Range, F, R>, R> {
    using range_t = std::conditional_t<std::is_lvalue_reference_v<Range>, Range, std::remove_cvref_t<Range>>;
    using iter_t = decltype(std::ranges::begin(std::declval<range_t&>()));
    using sent_t = decltype(std::ranges::end(std::declval<range_t&>()));

public:
    template <class G>
    for_each_node(reactor& r, std::source_location where, Range&& range, G&& fn)
        : loop_node<for_each_node, R>(r, where),
          range_(std::forward<Range>(range)),
          it_(std::ranges::begin(range_)),
          end_(std::ranges::end(range_)),
          fn_(std::forward<G>(fn)) {}
    bool finished() { return it_ == end_; }
    auto call() {
        assert(fn_);
        auto i = it_++;
        return (*fn_)(*i);
    }
    void destroy_body() noexcept { fn_.reset(); }

private:
    range_t range_;
    iter_t it_;
    sent_t end_;
    std::optional<F> fn_;
};

template <class F, class R>
class keep_doing_node final : public loop_node<keep_doing_node<F, R>, R> {
public:
    template <class G>
    keep_doing_node(reactor& r, std::source_location where, G&& fn, std::stop_token token)
        : loop_node<keep_doing_node, R>(r, where), fn_(std::forward<G>(fn)), token_(std::move(token)) {}
    bool finished() { return token_.stop_requested(); }
    auto call() {
        assert(fn_);
        if constexpr (std::is_invocable_v<F&, std::stop_token>)
            return (*fn_)(token_);
        else
            return (*fn_)();
    }
    void destroy_body() noexcept { fn_.reset(); }
    // The body's own waits, cancelled by the same token, end the loop cleanly.
    bool ends_quietly(const std::exception_ptr& e) {
        return token_.stop_requested() && error_as<cancelled_error>(e) != nullptr;
    }

private:
    std::optional<F> fn_;
    std::stop_token token_;
};

// The value type a body result settles with: R for future<R>, else the result itself.
template <class S>
using body_value_t = unwrap_t<S>;

template <class Node>
future<void> start_loop(Node* n) {
    auto f = future_access::make<void>(n);
    n->run();
    return f;
}

template <class S>
inline constexpr bool void_body = std::is_void_v<body_value_t<S>>;

}  // namespace detail

/// Calls `body()` until it yields stop_iteration::yes. `body` returns a
/// `future<stop_iteration>` or a plain stop_iteration. Rejects with the first
/// error; the body is not called after it.
template <class F>
future<void> repeat(reactor& r, F&& body, std::source_location where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    if constexpr (!std::is_invocable_v<Fn&>) {
        static_assert(detail::dependent_false<F>, "vow::repeat: the body must take no arguments");
        return {};
    } else if constexpr (!std::is_same_v<detail::body_value_t<std::invoke_result_t<Fn&>>, stop_iteration>) {
        static_assert(detail::dependent_false<F>,
                      "vow::repeat: the body must return vow::stop_iteration or "
                      "vow::future<vow::stop_iteration> (stop_iteration::yes ends the loop)");
        return {};
    } else {
        detail::check_thread(r, "repeat");
        return detail::start_loop(new detail::repeat_node<Fn>(r, where, std::forward<F>(body)));
    }
}

/// Calls `body()` while `stop()` returns false; `stop()` is checked before
/// each call, so a true at the start runs the body zero times. `body`
/// returns `future<void>` (or nothing).
template <class P, class F>
future<void> do_until(reactor& r, P&& stop, F&& body, std::source_location where = std::source_location::current()) {
    using Pn = std::decay_t<P>;
    using Fn = std::decay_t<F>;
    if constexpr (!std::is_invocable_r_v<bool, Pn&>) {
        static_assert(detail::dependent_false<P>, "vow::do_until: the stop predicate must take no arguments and return bool");
        return {};
    } else if constexpr (!std::is_invocable_v<Fn&> || !detail::void_body<std::invoke_result_t<Fn&>>) {
        static_assert(detail::dependent_false<F>,
                      "vow::do_until: the body must take no arguments and return vow::future<void> (or void)");
        return {};
    } else {
        detail::check_thread(r, "do_until");
        return detail::start_loop(
            new detail::do_until_node<Pn, Fn, void>(r, where, std::forward<P>(stop), std::forward<F>(body)));
    }
}

/// Calls `fn(element)` for each element of `range`, in order, the next only
/// after the future of the previous one settled; stops at the first error.
/// `fn` takes the element as an lvalue and returns `future<void>` (or nothing).
/// An lvalue range is referenced: keep it alive, and unchanged, until the
/// future settles. An rvalue range is moved into the loop and kept there.
template <class Range, class F>
    requires std::ranges::input_range<Range>
future<void> do_for_each(reactor& r, Range&& range, F&& fn, std::source_location where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    using Elem = std::ranges::range_reference_t<Range>;
    if constexpr (!std::is_invocable_v<Fn&, Elem>) {
        static_assert(detail::dependent_false<F>, "vow::do_for_each: fn must be callable with an element of the range");
        return {};
    } else if constexpr (!detail::void_body<std::invoke_result_t<Fn&, Elem>>) {
        static_assert(detail::dependent_false<F>, "vow::do_for_each: fn must return vow::future<void> (or void)");
        return {};
    } else {
        detail::check_thread(r, "do_for_each");
        return detail::start_loop(
            new detail::for_each_node<Range, Fn, void>(r, where, std::forward<Range>(range), std::forward<F>(fn)));
    }
}

/// As do_for_each(reactor&, Range&&, F&&, std::source_location), over
/// [first, last). The caller keeps what the iterators refer to alive until
/// the future settles.
template <class It, class F>
    requires std::input_iterator<It>
future<void> do_for_each(reactor& r, It first, It last, F&& fn,
                         std::source_location where = std::source_location::current()) {
    return do_for_each(r, std::ranges::subrange<It>(std::move(first), std::move(last)), std::forward<F>(fn), where);
}

/// Calls `body()` (or `body(token)`) again and again until stop is requested
/// on `token`, then resolves; rejects if the body fails. The token is checked
/// before each call; a body future already waiting is not interrupted by the
/// loop, so pass the token to the body's own waits (sleep, queue::pop, reads):
/// a vow::cancelled_error they reject with once stop was requested ends the
/// loop successfully. `body` returns `future<void>` (or nothing).
template <class F>
future<void> keep_doing(reactor& r, F&& body, std::stop_token token,
                        std::source_location where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    if constexpr (std::is_invocable_v<Fn&, std::stop_token>) {
        if constexpr (!detail::void_body<std::invoke_result_t<Fn&, std::stop_token>>) {
            static_assert(detail::dependent_false<F>, "vow::keep_doing: the body must return vow::future<void> (or void)");
            return {};
        } else {
            detail::check_thread(r, "keep_doing");
            return detail::start_loop(
                new detail::keep_doing_node<Fn, void>(r, where, std::forward<F>(body), std::move(token)));
        }
    } else if constexpr (!std::is_invocable_v<Fn&> || !detail::void_body<std::invoke_result_t<Fn&>>) {
        static_assert(detail::dependent_false<F>,
                      "vow::keep_doing: the body must take no arguments (or a std::stop_token) and return "
                      "vow::future<void> (or void)");
        return {};
    } else {
        detail::check_thread(r, "keep_doing");
        return detail::start_loop(
            new detail::keep_doing_node<Fn, void>(r, where, std::forward<F>(body), std::move(token)));
    }
}

}  // namespace vow
