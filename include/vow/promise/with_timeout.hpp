/// @file
/// vow::with_timeout: give up on an operation after a while (asyncio's wait_for).
///
/// @code
/// // The operation gets a stop token and is cancelled when time runs out:
/// auto page = vow::with_timeout(r, 2s, [&](std::stop_token stop) {
///     return client.get(url, {.stop = stop});
/// });
///
/// // Only the wait is abandoned; the operation goes on:
/// auto late = vow::with_timeout(fetch(url), 2s);     // rejects with vow::timeout_error
/// @endcode
///
/// The first form is the one to reach for: it owns the stop source, calls
/// `fn(token)` at once, and when time runs out requests stop and rejects with
/// vow::timeout_error *once the operation has settled*, so no work of it
/// outlives the call (asyncio's wait_for). An operation that ignores its
/// token therefore delays the timeout_error until it ends. After the timeout
/// its value is discarded; its error too if it is vow::cancelled_error or
/// vow::timeout_error (the stop did its job), any other error is reported as
/// an unhandled rejection (nothing is lost silently).
///
/// The forms that take a future cannot cancel it unless given the
/// std::stop_source it listens to: they reject with timeout_error at once and
/// take the late result silently.
///
/// In every form, an operation that settled before the time ran out wins,
/// even when the timer fires in the same turn, before the operation's result
/// has reached the timeout (its fire is queued behind the timer).
///
/// Thread safety: thread-bound.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <source_location>
#include <stop_token>
#include <utility>

namespace vow {

namespace detail {

std::exception_ptr make_timeout_error(reactor::duration limit);

template <class T>
class timeout_node final : public state<T> {
public:
    // Three references: the returned future, the source's ownership, the timer.
    timeout_node(reactor& r, std::source_location where, state_base* src, std::optional<std::stop_source> stop)
        : state<T>(r, where, 3), stop_(std::move(stop)) {
        this->set_upstream(src);
    }

    void arm(reactor::duration limit) {
        struct on_timer {
            timeout_node* n;
            reactor::duration limit;
            on_timer(timeout_node* nn, reactor::duration l) noexcept : n(nn), limit(l) {}
            on_timer(on_timer&& o) noexcept : n(std::exchange(o.n, nullptr)), limit(o.limit) {}
            on_timer(const on_timer&) = delete;
            ~on_timer() {
                if (n)
                    n->release();
            }
            void operator()() { n->expire(limit); }
        };
        timer_ = this->get_reactor().call_later(limit, on_timer(this, limit));
    }

    void fire(state_base& src) override {
        this->set_upstream(nullptr);
        auto& s = static_cast<state<T>&>(src);
        if (!this->pending()) {  // timed out already: take the late result silently
            s.get_status() == status::value ? (void)s.take_value() : (void)s.take_error();
            return;
        }
        timer_.cancel();
        try {
            settle_from<T>(*this, s);
        } catch (...) {
            if (this->pending())
                this->set_error(std::current_exception());
        }
    }

    void drop() noexcept override { this->release(); }
    void moved_to(state_base& src) noexcept override { this->set_upstream(&src); }

private:
    void expire(reactor::duration limit) {
        // Settled already, or the source settled in time and its fire is
        // still queued: the source wins.
        if (!this->pending() || (this->upstream() && !this->upstream()->pending()))
            return;
        this->set_error(make_timeout_error(limit));
        if (stop_)
            stop_->request_stop();
    }

    handle timer_;
    std::optional<std::stop_source> stop_;
};

template <class T>
future<T> with_timeout(future<T>& f, reactor::duration limit, std::optional<std::stop_source> stop,
                       std::source_location where) {
    if (limit < reactor::duration::zero())
        throw invalid_argument("vow::with_timeout: the time limit must not be negative");
    state<T>* src = future_access::take(f, "with_timeout");
    check_thread(src->get_reactor(), "with_timeout");
    auto* n = new timeout_node<T>(src->get_reactor(), where, src, std::move(stop));
    try {
        n->arm(limit);
    } catch (...) {
        delete n;
        f = future_access::make<T>(src);
        throw;
    }
    src->attach(n);
    src->release();
    return future_access::make<T>(n);
}

// with_timeout(reactor&, limit, fn): waits for the operation to settle even
// after the time ran out (see the header comment).
template <class T>
class scoped_timeout_node final : public state<T> {
public:
    // Two references: the returned future, the operation's ownership (the
    // timer holds a third while armed).
    scoped_timeout_node(reactor& r, std::source_location where, reactor::duration limit)
        : state<T>(r, where, 2), limit_(limit) {}

    std::stop_token token() const noexcept { return stop_.get_token(); }

    void start(future<T> op) {
        struct on_timer {
            scoped_timeout_node* n;
            explicit on_timer(scoped_timeout_node* nn) noexcept : n(nn) { n->add_ref(); }
            on_timer(on_timer&& o) noexcept : n(std::exchange(o.n, nullptr)) {}
            on_timer(const on_timer&) = delete;
            ~on_timer() {
                if (n)
                    n->release();
            }
            void operator()() {
                // An operation that settled before the time ran out has won,
                // even if its fire has not reached us yet.
                if (const state_base* up = n->upstream(); up && !up->pending())
                    return;
                n->timed_out_ = true;
                n->stop_.request_stop();
            }
        };
        timer_ = this->get_reactor().call_later(limit_, on_timer(this));
        state<T>* src = future_access::take(op, "with_timeout (the future fn returned)");
        this->set_upstream(src);
        src->attach(this);
        src->release();
    }

    void fire(state_base& src) override {
        this->set_upstream(nullptr);
        timer_.cancel();
        auto& s = static_cast<state<T>&>(src);
        if (timed_out_) {
            if (s.get_status() == status::value) {
                s.take_value();
            } else {
                std::exception_ptr e = s.take_error();
                if (!error_as<cancelled_error>(e) && !error_as<timeout_error>(e))
                    report_unhandled(e, this->where());
            }
            return this->set_error(make_timeout_error(limit_));
        }
        try {
            settle_from<T>(*this, s);
        } catch (...) {
            if (this->pending())
                this->set_error(std::current_exception());
        }
    }
    void drop() noexcept override { this->release(); }
    void moved_to(state_base& src) noexcept override { this->set_upstream(&src); }

private:
    reactor::duration limit_;
    std::stop_source stop_;
    handle timer_;
    bool timed_out_ = false;
};

}  // namespace detail

/// Calls `fn(token)` now and settles like the future it returns, unless
/// `limit` passes first: then stop is requested on `token`, and once the
/// operation has settled the result rejects with vow::timeout_error. An
/// operation that settled before the time ran out wins, even in the turn the
/// timer fires. `fn` is moved into a local, called once, inside this call,
/// and destroyed before it returns; a throw from `fn` (or an empty future)
/// rejects the result. Throws vow::invalid_argument for a negative limit,
/// without calling `fn`.
template <class F>
auto with_timeout(reactor& r, reactor::duration limit, F&& fn,
                  std::source_location where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    if constexpr (!std::is_invocable_v<Fn&, std::stop_token>) {
        static_assert(detail::dependent_false<F>,
                      "vow::with_timeout(reactor, limit, fn): fn must take a std::stop_token and return a vow::future");
        return future<void>();
    } else if constexpr (!detail::is_future_v<std::invoke_result_t<Fn&, std::stop_token>>) {
        static_assert(detail::dependent_false<F>, "vow::with_timeout(reactor, limit, fn): fn must return a vow::future");
        return future<void>();
    } else {
        using T = detail::unwrap_t<std::invoke_result_t<Fn&, std::stop_token>>;
        detail::check_thread(r, "with_timeout");
        if (limit < reactor::duration::zero())
            throw invalid_argument("vow::with_timeout: the time limit must not be negative");
        auto* n = new detail::scoped_timeout_node<T>(r, where, limit);
        future<T> result = detail::future_access::make<T>(n);
        future<T> op;
        try {
            Fn f(std::forward<F>(fn));
            op = f(n->token());
            if (!op.valid())
                detail::throw_future_consumed("with_timeout (fn returned an empty future)");
        } catch (...) {
            op = make_exception_future<T>(r, std::current_exception(), where);
        }
        try {
            n->start(std::move(op));
        } catch (...) {
            n->release();  // the operation's reference, never given
            throw;
        }
        return result;
    }
}

/// Settles like `f`, or rejects with vow::timeout_error after `limit`. `f`
/// itself goes on; its late result is taken silently. Throws
/// vow::invalid_argument for a negative limit.
template <class T>
future<T> with_timeout(future<T> f, reactor::duration limit,
                       std::source_location where = std::source_location::current()) {
    return detail::with_timeout(f, limit, std::nullopt, where);
}

/// As with_timeout(future<T>, reactor::duration, std::source_location), and
/// requests stop on `stop` when the time runs out.
template <class T>
future<T> with_timeout(future<T> f, reactor::duration limit, std::stop_source stop,
                       std::source_location where = std::source_location::current()) {
    return detail::with_timeout(f, limit, std::move(stop), where);
}

}  // namespace vow
