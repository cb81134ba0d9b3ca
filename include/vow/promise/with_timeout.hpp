// vow/promise/with_timeout.hpp - give up on a future after a while
// (asyncio's wait_for).
//
//   auto page = vow::with_timeout(fetch(url), 2s);   // rejects with vow::timeout_error
//
//   std::stop_source stop;                             // cancel the source too:
//   auto nap = vow::with_timeout(vow::sleep(r, 1h, stop.get_token()), 1s, stop);
//
// If the time runs out first, the result rejects with vow::timeout_error and,
// when a std::stop_source is given, stop is requested on it so the source
// operation is cancelled. A late result is taken silently: it is not reported
// as an unhandled rejection. Thread safety: thread-bound.
#pragma once

#include <vow/error.hpp>
#include <vow/promise/detail/node.hpp>
#include <vow/promise/detail/state.hpp>
#include <vow/promise/future.hpp>

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
class timeout_node final : public state<T>, public continuation {
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
            if (s.get_status() != status::value)
                this->set_error(s.take_error());
            else if constexpr (std::is_void_v<T>)
                s.take_value(), this->set_value();
            else
                this->set_value(s.take_value());
        } catch (...) {
            if (this->pending())
                this->set_error(std::current_exception());
        }
    }

    void drop() noexcept override { this->release(); }

private:
    void expire(reactor::duration limit) {
        if (!this->pending())
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

}  // namespace detail

// Settles like `f`, or rejects with vow::timeout_error after `limit`.
template <class T>
future<T> with_timeout(future<T> f, reactor::duration limit,
                       std::source_location where = std::source_location::current()) {
    return detail::with_timeout(f, limit, std::nullopt, where);
}

// As above, and requests stop on `stop` when the time runs out.
template <class T>
future<T> with_timeout(future<T> f, reactor::duration limit, std::stop_source stop,
                       std::source_location where = std::source_location::current()) {
    return detail::with_timeout(f, limit, std::move(stop), where);
}

}  // namespace vow
