// The promise layer's out-of-line pieces: error construction (so that fmt
// stays out of the hot headers), unhandled-rejection reports, and the loop
// driver behind run_until_complete.
#include <vow/promise/any.hpp>
#include <vow/promise/detail/gather.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/retry.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/task_group.hpp>
#include <vow/promise/with_timeout.hpp>
#include <vow/promise/unhandled_rejection.hpp>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cstdio>
#include <mutex>

namespace vow::detail {

namespace {

std::string describe(const std::source_location& where) {
    return fmt::format("{}:{} in {}", where.file_name(), where.line(), where.function_name());
}

std::mutex hook_mutex;
unhandled_rejection_handler& hook() {
    static unhandled_rejection_handler h;
    return h;
}

std::string what_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "a non-std exception";
    }
}

}  // namespace

void throw_future_consumed(const char* operation) {
    throw future_consumed(fmt::format(
        "vow::future::{}: the future is empty: it was already consumed by then/catch_/finally/share, "
        "moved from, or default-constructed",
        operation));
}

void throw_promise_error(const char* operation, promise_misuse what) {
    switch (what) {
    case promise_misuse::already_settled:
        throw promise_already_satisfied(
            fmt::format("vow::promise::{}: the promise was already resolved or rejected", operation));
    case promise_misuse::future_retrieved:
        throw future_already_retrieved(
            "vow::promise::get_future: the future was already retrieved (get_future may be called once)");
    case promise_misuse::null_exception:
        throw invalid_argument(fmt::format("vow::promise::{}: the exception_ptr is null", operation));
    case promise_misuse::moved_from:
        break;
    }
    throw usage_error(fmt::format("vow::promise::{}: the promise is empty (moved from)", operation));
}

void throw_null_exception(const char* operation) {
    throw invalid_argument(fmt::format("vow::{}: the exception_ptr is null", operation));
}

std::exception_ptr make_broken_promise(const std::source_location& where) {
    return std::make_exception_ptr(broken_promise(fmt::format(
        "vow::broken_promise: the promise created at {} was destroyed without being resolved or rejected",
        describe(where))));
}

void throw_combinator_error(const char* name, combinator_misuse what) {
    switch (what) {
    case combinator_misuse::empty_range:
        throw invalid_argument(fmt::format(
            "vow::{0}: the range is empty, so there is no future to take the reactor from; "
            "call vow::{0}(reactor, futures) instead",
            name));
    case combinator_misuse::mixed_reactors:
        break;
    }
    throw invalid_argument(fmt::format("vow::{}: the futures belong to different reactors", name));
}

std::exception_ptr make_aggregate_error(std::vector<std::exception_ptr> errors) {
    std::string msg = errors.empty()
                          ? std::string("vow::any: no futures to wait for, so none could fulfil")
                          : fmt::format("vow::any: all {} futures rejected; the first error: {}", errors.size(),
                                        what_of(errors.front()));
    return std::make_exception_ptr(aggregate_error(msg, std::move(errors)));
}

std::exception_ptr make_cancelled_error(const char* operation) {
    return std::make_exception_ptr(
        cancelled_error(fmt::format("vow::{}: cancelled: stop was requested on its stop_token", operation)));
}

std::exception_ptr make_timeout_error(reactor::duration limit) {
    return std::make_exception_ptr(timeout_error(fmt::format(
        "vow::with_timeout: the operation did not complete within {}",
        std::chrono::duration_cast<std::chrono::duration<double, std::milli>>(limit))));
}

void check_retry_policy(const retry_policy& p) {
    if (p.max_attempts == 0)
        throw invalid_argument("vow::retry: max_attempts must be at least 1");
    if (!(p.multiplier >= 1.0))
        throw invalid_argument(fmt::format("vow::retry: multiplier must be at least 1, got {}", p.multiplier));
    if (!(p.jitter >= 0.0 && p.jitter <= 1.0))
        throw invalid_argument(fmt::format("vow::retry: jitter must be between 0 and 1, got {}", p.jitter));
    if (p.initial_delay < reactor::duration::zero() || p.max_delay < reactor::duration::zero())
        throw invalid_argument("vow::retry: delays must not be negative");
}

reactor::duration retry_delay(const retry_policy& p, std::size_t attempt, std::mt19937_64& rng) {
    double base = std::chrono::duration<double>(p.initial_delay).count();
    double cap = std::chrono::duration<double>(p.max_delay).count();
    for (std::size_t i = 1; i < attempt && base < cap; ++i)
        base *= p.multiplier;
    base = std::min(base, cap);
    if (p.jitter > 0) {
        std::uniform_real_distribution<double> d(1.0 - p.jitter, 1.0 + p.jitter);
        base *= d(rng);
    }
    return std::chrono::duration_cast<reactor::duration>(std::chrono::duration<double>(base));
}

void report_unhandled(const std::exception_ptr& error, const std::source_location& where) noexcept {
    unhandled_rejection_handler h;
    {
        std::lock_guard lock(hook_mutex);
        h = hook();
    }
    if (h) {
        try {
            h(error, where);
            return;
        } catch (...) {
            // fall back to the default report: nothing is lost silently
        }
    }
    try {
        fmt::print(stderr, "vow: unhandled rejection: {} (future created at {})\n", what_of(error), describe(where));
    } catch (...) {
    }
}

namespace {

// run_until_complete's continuation: stops the loop when the future settles.
// It holds a reference to the state it is attached to, which changes when
// adoption moves it (state.hpp, rule 6).
struct waker final : continuation {
    reactor* r;
    state_base* at;
    bool fired = false;
    waker(reactor& rr, state_base& s) noexcept : r(&rr), at(&s) { s.add_ref(); }
    void fire(state_base&) override {
        fired = true;
        r->stop();
    }
    void drop() noexcept override {}
    void moved_to(state_base& s) noexcept override {
        s.add_ref();
        std::exchange(at, &s)->release();
    }
};

}  // namespace

// Can anything alive still settle `s`? Follows single upstream links (node
// sources, adopted futures, shared sources) to a producer.
bool can_settle(const state_base& s) noexcept {
    for (const state_base* p = &s; p; p = p->upstream()) {
        if (!p->pending())
            return true;  // its fire is queued: work is left
        if (p->has_live_producer())
            return true;
    }
    return false;
}


state_base* drive_until_settled(reactor& r, state_base& s) {
    if (&r != &s.get_reactor())
        throw invalid_argument("vow::run_until_complete: the future belongs to another reactor");
    if (r.running())
        throw usage_error(
            "vow::run_until_complete: the reactor is already running (called from inside a callback?); "
            "chain with then() instead");
    waker w(r, s);
    if (!s.pending())
        return w.at;
    s.attach(&w);
    // On the way out by an exception: take the waker off and drop its reference.
    struct detach_guard {
        waker& w;
        bool armed = true;
        ~detach_guard() {
            if (armed) {
                w.at->detach();
                w.at->release();
            }
        }
    } g{w};
    auto done = [&g, &w] {
        g.armed = false;
        return w.at;  // the waker's reference goes to the caller
    };

    r.run();
    for (;;) {
        if (w.fired)
            return done();
        if (r.stopped())
            throw stalled_error(fmt::format(
                "vow::run_until_complete: the reactor was stopped before the future (created at {}) settled",
                describe(s.where())));
        if (!can_settle(*w.at))
            throw stalled_error(fmt::format(
                "vow::run_until_complete: the reactor has no work left and nothing alive can settle the "
                "future created at {}",
                describe(s.where())));
        // A live promise may still be settled by another thread: wait for
        // its post (or any other event) without returning for lack of work.
        {
            reactor::work_guard keep(r);
            r.run_once(true);
        }
        // A stop() that arrived during run_once is used up by it and shows
        // only in stopped(), which the next run() would reset: look first.
        if (!w.fired && !r.stopped())
            r.run();
    }
}

// ------------------------------------------------------------ task_group

void group_core::check_spawn() const {
    const char* why = joined_      ? "join() has settled: the group is finished"
                      : cancelled_ ? "cancel() was called: the group is stopping"
                      : error_     ? "a task failed: the group is stopping"
                      : orphaned_  ? "the group was destroyed"
                                   : nullptr;
    if (why)
        throw usage_error(fmt::format("vow::task_group::spawn: {} (group created at {})", why, describe(where_)));
}

void group_core::finished(std::exception_ptr error, const std::source_location& task_where) noexcept {
    if (error && !error_as<cancelled_error>(error)) {
        if (!error_) {
            error_ = std::move(error);
            stop_.request_stop();
        } else {
            report_unhandled(error, task_where);  // a second failure: reported, not lost
        }
    }
    if (--running_ == 0 && !joiners_.empty())
        settle_joiners();
}

future<void> group_core::join(std::source_location where) {
    promise<void> p(*r_, where);
    future<void> f = p.get_future();
    joiners_.push_back(std::move(p));
    if (running_ == 0)
        settle_joiners();
    return f;
}

void group_core::settle_joiners() noexcept {
    joined_ = true;
    for (auto& p : joiners_) {
        try {
            if (error_)
                p.reject(error_);
            else
                p.resolve();
            error_delivered_ = error_delivered_ || error_;
        } catch (...) {
            // Out of memory queueing the settle: the promise breaks instead
            // when it is destroyed below, so the join future still settles.
        }
    }
    joiners_.clear();
}

group_core::~group_core() {
    if (error_ && !error_delivered_)
        report_unhandled(error_, where_);
}

}  // namespace vow::detail

namespace vow {

unhandled_rejection_handler set_unhandled_rejection_handler(unhandled_rejection_handler handler) {
    std::lock_guard lock(detail::hook_mutex);
    return std::exchange(detail::hook(), std::move(handler));
}

}  // namespace vow
