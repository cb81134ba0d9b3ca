// The reactor on libevent: one event drains vow's own ready queue, one
// receives cross-thread posts, one carries stop(); every timer and watcher is
// a libevent event embedded in a refcounted node shared with its handle.
#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <mutex>
#include <sstream>

namespace vow {
namespace detail {

// One timer, fd watcher or signal handler. Owned by two references: the
// reactor's while armed, and the handle's while it lives.
struct handle_node {
    struct event ev;
    reactor* owner = nullptr;  // null once disarmed for good
    task fn;
    handle_node* prev = nullptr;
    handle_node* next = nullptr;
    unsigned refs = 1;  // the reactor's, while armed; the handle adds one
    bool once = false;
    bool armed = false;
    bool running = false;   // inside its own callback
    bool cancelled = false; // cancel() came while running
    const char* what = "";
    // call_every's stop_token form: reset (and freed) when the node is
    // disarmed, so a stop request never reaches a timer that is gone. Its
    // callable holds the node by a raw pointer: no ownership cycle.
    std::unique_ptr<stop_link> stop;

    void link(reactor& r) noexcept {
        owner = &r;
        next = r.nodes_;
        if (next)
            next->prev = this;
        r.nodes_ = this;
        armed = true;
        ++refs;
    }

    // Takes the node out of its reactor: no callback will run again. The
    // callable is destroyed now, or after the callback running it returns.
    // Drops the reactor's reference; the caller always holds another one, so
    // the node outlives this call.
    void disarm() noexcept {
        if (!armed)
            return;
        armed = false;
        event_del(&ev);
        if (prev)
            prev->next = next;
        else
            owner->nodes_ = next;
        if (next)
            next->prev = prev;
        prev = next = nullptr;
        stop.reset();
        if (!running)
            fn.reset();
        owner = nullptr;
        --refs;
    }

    // The thread check of a handle's members. Only an armed node knows its
    // reactor; a handle whose timer fired, was cancelled or whose reactor is
    // gone touches nothing shared, and stays a no-op on any thread.
    void check_thread(const char* function) const noexcept {
        if (armed)
            detail::check_thread(*owner, function);
    }

    void release() noexcept {
        if (--refs == 0)
            delete this;
    }
};

}  // namespace detail

// ---------------------------------------------------------------- handle

handle::handle(handle&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}

handle& handle::operator=(handle&& other) noexcept {
    if (this != &other) {
        if (node_) {
            node_->check_thread("handle::operator=");
            node_->release();
        }
        node_ = std::exchange(other.node_, nullptr);
    }
    return *this;
}

handle::~handle() {
    if (node_) {
        node_->check_thread("handle::~handle");
        node_->release();
    }
}

void handle::cancel() noexcept {
    if (node_) {
        node_->check_thread("handle::cancel");
        node_->disarm();
    }
}

bool handle::active() const noexcept {
    if (!node_)
        return false;
    node_->check_thread("handle::active");
    return node_->armed;
}

// --------------------------------------------------------- thread check

void detail::thread_check_failed(const reactor& r, const char* function) noexcept {
    // std::thread::id prints as the pthread_t; in hex it matches gdb's
    // "Thread 0x7f..." lines.
    auto hex = [](std::thread::id id) {
        std::ostringstream out;
        out << std::hex << std::showbase << id;
        return out.str();
    };
    std::string message;
    try {
        message = fmt::format(
            "vow: {} called on thread {} but the reactor belongs to thread {}; thread-bound functions "
            "must be called on the reactor's thread, the one that constructed it or last entered run() "
            "(docs/design.md, \"Threading\"); from other threads use call_soon_threadsafe\n",
            function, hex(std::this_thread::get_id()), hex(r.owner_.load(std::memory_order_relaxed)));
    } catch (...) {
        message = "vow: a thread-bound function was called off its reactor's thread (docs/design.md, "
                  "\"Threading\")\n";
    }
    std::fputs(message.c_str(), stderr);
    std::fflush(stderr);
    std::abort();
}

// --------------------------------------------------------------- reactor

namespace {

void init_process_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (evthread_use_pthreads() != 0)
            throw reactor_error("vow::reactor: evthread_use_pthreads() failed; "
                                "libevent was built without thread support");
        // A write to a closed socket must be an error (EPIPE), not a dead process.
        std::signal(SIGPIPE, SIG_IGN);
    });
}

event* new_internal_event(event_base* base, short what, event_callback_fn cb, void* arg) {
    event* ev = event_new(base, -1, what, cb, arg);
    if (!ev)
        throw reactor_error("vow::reactor: event_new() failed (out of memory?)");
    return ev;
}

timeval to_timeval(reactor::duration d) {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

// How many queued callbacks run before the loop polls I/O and timers again.
constexpr std::size_t drain_budget = 4096;

}  // namespace

reactor::reactor() {
    init_process_once();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    // A precise clock: by default libevent reads CLOCK_MONOTONIC_COARSE (a
    // few ms behind steady_clock), and timers would fire before their time.
    event_config* cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        base_ = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!base_)
        throw reactor_error("vow::reactor: event_base_new() failed");
    try {
        drain_ev_ = new_internal_event(base_, 0, &reactor::on_drain, this);
        remote_ev_ = new_internal_event(base_, 0, &reactor::on_remote, this);
        stop_ev_ = new_internal_event(base_, 0, &reactor::on_stop, this);
        // Armed only while a work_guard lives: a far-future timer is what
        // keeps event_base_loop from returning for lack of events.
        keepalive_ev_ = new_internal_event(base_, EV_PERSIST, [](int, short, void*) {}, nullptr);
    } catch (...) {
        for (event* ev : {drain_ev_, remote_ev_, stop_ev_})
            if (ev)
                event_free(ev);
        event_base_free(base_);
        throw;
    }
    refresh_time();
}

reactor::~reactor() {
    detail::check_thread(*this, "reactor::~reactor");
    closing_ = true;
    while (!services_.empty()) {
        auto svc = std::move(services_.back().second);
        services_.pop_back();
        svc.reset();
    }
    // Destroying a callable may queue more work (a promise destroyed
    // unsettled rejects its future): repeat until nothing is left.
    for (;;) {
        ready_.clear();
        std::vector<detail::task> remote;
        {
            std::lock_guard lock(remote_mutex_);
            remote.swap(remote_);
            remote_pending_ = false;
        }
        remote.clear();
        while (nodes_) {
            detail::handle_node* n = nodes_;
            ++n->refs;
            n->disarm();
            n->release();
        }
        std::lock_guard lock(remote_mutex_);
        if (ready_.empty() && remote_.empty() && !nodes_)
            break;
    }
    for (event* ev : {drain_ev_, remote_ev_, stop_ev_, keepalive_ev_})
        event_free(ev);
    event_base_free(base_);
}

void reactor::schedule_drain() {
    drain_scheduled_ = true;
    event_active(drain_ev_, 0, 0);
}

void reactor::post_remote(detail::task fn) {
    bool wake = false;
    {
        std::lock_guard lock(remote_mutex_);
        remote_.push_back(std::move(fn));
        wake = !std::exchange(remote_pending_, true);
    }
    if (wake)
        event_active(remote_ev_, 0, 0);
}

void reactor::on_remote(int, short, void* self) {
    auto* r = static_cast<reactor*>(self);
    {
        std::lock_guard lock(r->remote_mutex_);
        r->remote_spare_.swap(r->remote_);
        r->remote_pending_ = false;
    }
    // Cross-thread posts join the same FIFO as local ones, in arrival order.
    for (auto& t : r->remote_spare_)
        r->call_soon(std::move(t));
    r->remote_spare_.clear();
}

void reactor::on_drain(int, short, void* self) { static_cast<reactor*>(self)->drain(); }

void reactor::drain() {
    refresh_time();
    std::size_t budget = drain_budget;
    for (;;) {
        try {
            while (!ready_.empty()) {
                if (budget == 0 || stop_requested_.load(std::memory_order_relaxed)) [[unlikely]] {
                    // Let I/O, timers and stop() in before the rest.
                    event_active(drain_ev_, 0, 0);
                    event_base_loopcontinue(base_);
                    return;
                }
                --budget;
                detail::task& t = ready_.front();
                if (slow_threshold_ == duration::zero()) [[likely]]
                    t.run_and_reset();
                else
                    run_timed(t, true, "call_soon callback");
                ready_.pop_front();
            }
            break;
        } catch (...) {
            ready_.pop_front();  // the throwing task already destroyed its callable
            report_exception(std::current_exception(), "call_soon callback");
        }
    }
    drain_scheduled_ = false;
}

void reactor::run_timed(detail::task& fn, bool once, std::string_view where) {
    struct timer {
        reactor& r;
        std::string_view where;
        clock::time_point start = clock::now();
        ~timer() { r.check_slow(start, where); }
    } t{*this, where};
    if (once)
        fn.run_and_reset();
    else
        fn();
}

void reactor::check_slow(time_point start, std::string_view where) noexcept {
    auto took = clock::now() - start;
    // Zero means off, also when the callback itself turned it off.
    if (slow_threshold_ == duration::zero() || took <= slow_threshold_)
        return;
    if (on_slow_) {
        try {
            on_slow_(took, where);
        } catch (...) {
            // A reporting hook must not take the loop down.
        }
    } else {
        try {
            fmt::print(stderr, "vow: slow {} took {:.3f} ms (threshold {:.3f} ms)\n", where,
                       std::chrono::duration<double, std::milli>(took).count(),
                       std::chrono::duration<double, std::milli>(slow_threshold_).count());
        } catch (...) {
        }
    }
}

void reactor::on_stop(int, short, void* self) {
    auto* r = static_cast<reactor*>(self);
    if (r->stop_requested_.exchange(false)) {
        r->stopped_ = true;
        event_base_loopbreak(r->base_);
    }
}

void reactor::stop() noexcept {
    stop_requested_.store(true);
    // On the loop thread, break at once: stop_ev_ would queue behind timers
    // and watchers already made active in this turn, and they would run.
    if (in_reactor_thread() && running_)
        event_base_loopbreak(base_);
    else
        event_active(stop_ev_, 0, 0);
}

void reactor::enter_run(const char* what) {
    if (running_)
        throw usage_error(fmt::format("vow::reactor::{}: the reactor is already running "
                                      "(a nested run from inside a callback is not allowed)",
                                      what));
    if (closing_)
        throw usage_error(fmt::format("vow::reactor::{}: the reactor is being destroyed", what));
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    running_ = true;
    stopped_ = false;
    refresh_time();
}

void reactor::leave_run() noexcept { running_ = false; }

void reactor::run() {
    enter_run("run");
    struct guard {
        reactor* r;
        ~guard() { r->leave_run(); }
    } g{this};
    if (stop_requested_.exchange(false)) {
        stopped_ = true;
        return;
    }
    if (event_base_loop(base_, 0) < 0)
        throw reactor_error("vow::reactor::run: event_base_loop() failed");
    if (event_base_got_break(base_)) {
        stop_requested_.store(false);  // used up by this run
        stopped_ = true;
    }
}

bool reactor::run_once(bool block) {
    enter_run("run_once");
    struct guard {
        reactor* r;
        ~guard() { r->leave_run(); }
    } g{this};
    if (stop_requested_.exchange(false)) {
        stopped_ = true;
        return true;
    }
    int rc = event_base_loop(base_, EVLOOP_ONCE | (block ? 0 : EVLOOP_NONBLOCK));
    if (rc < 0)
        throw reactor_error("vow::reactor::run_once: event_base_loop() failed");
    if (event_base_got_break(base_)) {
        stop_requested_.store(false);
        stopped_ = true;
    }
    return rc == 0;
}

void reactor::set_exception_handler(exception_handler handler) {
    detail::check_thread(*this, "reactor::set_exception_handler");
    on_exception_ = std::move(handler);
}

void reactor::set_slow_callback_handler(slow_callback_handler handler) {
    detail::check_thread(*this, "reactor::set_slow_callback_handler");
    on_slow_ = std::move(handler);
}

void reactor::report_exception(std::exception_ptr error, std::string_view where) noexcept {
    detail::check_thread(*this, "reactor::report_exception");
    if (on_exception_) {
        try {
            on_exception_(error, where);
            return;
        } catch (...) {
            // Fall through to the default report: nothing is lost silently.
        }
    }
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        fmt::print(stderr, "vow: {} threw {}\n", where, e.what());
    } catch (...) {
        fmt::print(stderr, "vow: {} threw a non-std exception\n", where);
    }
}

// ------------------------------------------------------ timers, watchers

void reactor::on_node(int, short, void* arg) {
    auto* n = static_cast<detail::handle_node*>(arg);
    reactor* r = n->owner;
    if (!n->armed)
        return;  // cancelled by an earlier callback of this turn
    r->refresh_time();
    ++n->refs;  // keep the node alive through its own callback
    try {
        if (n->once) {
            detail::task fn = std::move(n->fn);
            n->disarm();
            if (r->slow_threshold_ == duration::zero())
                fn.run_and_reset();
            else
                r->run_timed(fn, true, n->what);
        } else {
            n->running = true;
            struct done {
                detail::handle_node* n;
                ~done() {
                    n->running = false;
                    if (!n->armed)
                        n->fn.reset();  // cancelled from inside: destroy now
                }
            } d{n};
            if (r->slow_threshold_ == duration::zero())
                n->fn();
            else
                r->run_timed(n->fn, false, n->what);
        }
    } catch (...) {
        r->report_exception(std::current_exception(), n->what);
    }
    n->release();
}

handle reactor::add_timer(duration d, bool periodic, detail::task fn, const char* function,
                          const std::stop_token* token) {
    detail::check_thread(*this, function);
    if (periodic ? d <= duration::zero() : d < duration::zero())
        throw invalid_argument(fmt::format("vow::{}: the {} must be {}, got {}", function,
                                           periodic ? "period" : "delay", periodic ? "positive" : "zero or more",
                                           std::chrono::duration_cast<std::chrono::microseconds>(d)));
    if (token && token->stop_requested())
        return handle();  // `fn` is destroyed on the way out, here on the reactor's thread
    auto n = std::make_unique<detail::handle_node>();
    n->fn = std::move(fn);
    n->once = !periodic;
    n->what = periodic ? "call_every callback" : "call_later callback";
    if (token && token->stop_possible()) {
        // Runs on this thread, on a later turn, unless disarm() reset the
        // link first: then the node is armed, and the reactor's reference
        // keeps it alive; the extra one covers disarm() dropping that.
        n->stop = std::make_unique<stop_link>(*this, *token, [node = n.get()] {
            ++node->refs;
            node->disarm();
            node->release();
        });
    }
    event_assign(&n->ev, base_, -1, periodic ? EV_PERSIST : 0, &reactor::on_node, n.get());
    // Count the delay from the present, not from libevent's cached time of
    // this turn, which is older than now(): the timer must not fire early.
    event_base_update_cache_time(base_);
    timeval tv = to_timeval(d);
    if (event_add(&n->ev, &tv) != 0)
        throw reactor_error("vow::reactor: event_add() failed for a timer");
    n->link(*this);
    return handle(n.release());
}

handle reactor::add_watch(int fd, watch_kind kind, detail::task fn) {
    const char* name = kind == watch_kind::reader   ? "reactor::add_reader"
                       : kind == watch_kind::writer ? "reactor::add_writer"
                                                    : "reactor::add_signal_handler";
    detail::check_thread(*this, name);
    if (kind == watch_kind::signal ? (fd <= 0 || fd >= NSIG) : fd < 0)
        throw invalid_argument(fmt::format("vow::{}: {} {} is not valid", name,
                                           kind == watch_kind::signal ? "signal number" : "fd", fd));
    short what = EV_PERSIST | (kind == watch_kind::reader   ? EV_READ
                               : kind == watch_kind::writer ? EV_WRITE
                                                            : EV_SIGNAL);
    auto* n = new detail::handle_node;
    n->fn = std::move(fn);
    n->what = kind == watch_kind::reader   ? "reader callback"
              : kind == watch_kind::writer ? "writer callback"
                                           : "signal handler";
    event_assign(&n->ev, base_, fd, what, &reactor::on_node, n);
    if (event_add(&n->ev, nullptr) != 0) {
        delete n;
        throw reactor_error(fmt::format("vow::{}: libevent refused {} {}", name,
                                        kind == watch_kind::signal ? "signal" : "fd", fd));
    }
    n->link(*this);
    return handle(n);
}

// ------------------------------------------------------------ work_guard

reactor::work_guard::work_guard(reactor& r) : r_(&r) { r.add_work(); }

reactor::work_guard::work_guard(const work_guard& other) : r_(other.r_) {
    if (r_)
        r_->add_work();
}

void reactor::work_guard::reset() noexcept {
    if (reactor* r = std::exchange(r_, nullptr))
        r->remove_work();
}

void reactor::add_work() noexcept {
    std::lock_guard lock(work_mutex_);
    if (work_count_++ == 0) {
        timeval far{86400 * 365, 0};
        event_add(keepalive_ev_, &far);
    }
}

void reactor::remove_work() noexcept {
    bool idle;
    {
        std::lock_guard lock(work_mutex_);
        idle = --work_count_ == 0;
        if (idle)
            event_del(keepalive_ev_);
    }
    // Wake the loop so that run() notices it may have nothing left to do.
    if (idle)
        event_active(stop_ev_, 0, 0);
}

}  // namespace vow
