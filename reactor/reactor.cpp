// The reactor on libevent: one event drains vow's own ready queue, one
// receives cross-thread posts, one carries stop(), one stands for every armed
// timer (a heap of deadlines, reactor/timer_heap.hpp); every watcher is a
// libevent event embedded in a refcounted node shared with its handle.
#include <vow/reactor/reactor.hpp>
#include <vow/reactor/stop_link.hpp>

#include "timer_heap.hpp"
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/thread.h>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <sstream>
#include <sys/timerfd.h>
#include <unistd.h>
#include <vector>

namespace vow {
namespace detail {

// What a handle refers to: a timer (timer_node, periodic_node) or a watcher
// (watch_node). Owned by the handle while it lives, and by the reactor: a
// watcher while it is armed, a timer while its entry is in the timer heap
// (which, cancelled entries being left there until they surface, can be a
// while after the timer was disarmed).
struct handle_node {
    enum class kind : unsigned char { timer, periodic, watch };

    explicit handle_node(kind k) noexcept : type(k) {}

    reactor* owner = nullptr;  // null once disarmed for good
    unsigned refs = 1;         // the handle's; the reactor adds its own
    kind type;
    bool armed = false;
    bool running = false;  // inside its own callback (periodic timers, watchers)
    bool in_heap = false;  // timers: an entry of the timer heap holds a reference

    // Takes the node out of its reactor: no callback will run again. The
    // callable is destroyed now, or after the callback running it returns.
    // A watcher drops the reactor's reference now, a timer when its entry
    // leaves the heap; the caller always holds another one, so the node
    // outlives this call.
    void disarm() noexcept;

    // The thread check of a handle's members. Only an armed node knows its
    // reactor; a handle whose timer fired, was cancelled or whose reactor is
    // gone touches nothing shared, and stays a no-op on any thread.
    void check_thread(const char* function) const noexcept {
        if (armed)
            detail::check_thread(*owner, function);
    }

    void release() noexcept;

    // Puts a watcher on its reactor's list of armed watchers.
    void link_watch(reactor& r) noexcept;
};

// call_later and call_at. 56 bytes (a 64-byte malloc chunk): with the
// handle's 8 and the heap entry's 16, what a pending timer costs, which
// matters because a burst of timers mostly pays for fresh memory.
struct timer_node : handle_node {
    using handle_node::handle_node;
    timer_task fn;
    std::uint64_t seq = 0;  // scheduling order: breaks ties between equal deadlines
};
static_assert(sizeof(timer_node) == 56);

struct periodic_node : timer_node {
    periodic_node() noexcept : timer_node(kind::periodic) {}
    reactor::duration period{};
    // call_every's stop_token form: reset (and freed) when the node is
    // disarmed, so a stop request never reaches a timer that is gone. Its
    // callable holds the node by a raw pointer: no ownership cycle.
    std::unique_ptr<stop_link> stop;
};

// A reader, writer or signal handler: a libevent event, on the reactor's
// list of armed watchers.
struct watch_node : handle_node {
    watch_node() noexcept : handle_node(kind::watch) {}
    struct event ev;
    task fn;
    watch_node* prev = nullptr;
    watch_node* next = nullptr;
    const char* what = "";
};

// The reactor's armed timers (reactor.cpp, "timers").
class timer_heap {
public:
    timer_heap_of<timer_node> heap;
    std::size_t stale = 0;         // entries whose node was disarmed
    std::uint64_t next_seq = 0;    // the next timer's seq
    // The timers' clock: a timerfd on CLOCK_MONOTONIC (steady_clock's),
    // watched by timer_ev_ (reactor.cpp, "timers").
    int fd = -1;
    // Whether timer_ev_ is added (which is what keeps run() running while a
    // timer is armed). A flag, not a sentinel time: a timer at
    // time_point::max() is armed too.
    bool event_pending = false;
    // Whether the timerfd is set, and for which time: a deadline no later
    // than the earliest armed one (a cancelled timer's, until it passes), or
    // a day from setting for one further away.
    bool fd_armed = false;
    reactor::time_point armed_at{};
    bool idle_check = false;       // the heap emptied: drain() decides whether to remove timer_ev_
    bool firing = false;           // inside run_due_timers()

    // Drops every entry whose timer was cancelled, or every entry.
    void drop_cancelled() noexcept {
        heap.filter([](const entry& e) { return e.node->armed; }, &drop);
        stale = 0;
    }
    void drop_all() noexcept {
        heap.filter([](const entry&) { return false; }, &drop);
        stale = 0;
    }

private:
    using entry = timer_heap_of<timer_node>::entry;
    static void drop(const entry& e) noexcept;
};

void handle_node::link_watch(reactor& r) noexcept {
    auto* w = static_cast<watch_node*>(this);
    owner = &r;
    w->next = static_cast<watch_node*>(r.nodes_);
    if (w->next)
        w->next->prev = w;
    r.nodes_ = w;
    armed = true;
    ++refs;
}

void handle_node::release() noexcept {
    if (--refs != 0)
        return;
    switch (type) {
    case kind::timer:
        delete static_cast<timer_node*>(this);
        break;
    case kind::periodic:
        delete static_cast<periodic_node*>(this);
        break;
    case kind::watch:
        delete static_cast<watch_node*>(this);
        break;
    }
}

void timer_heap::drop(const entry& e) noexcept {
    e.node->in_heap = false;
    e.node->release();
}

void handle_node::disarm() noexcept {
    if (!armed)
        return;
    armed = false;
    reactor* r = std::exchange(owner, nullptr);
    if (type == kind::watch) {
        auto* w = static_cast<watch_node*>(this);
        event_del(&w->ev);
        if (w->prev)
            w->prev->next = w->next;
        else
            r->nodes_ = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->prev = w->next = nullptr;
        if (!running)
            w->fn.reset();
        --refs;
        return;
    }
    auto* t = static_cast<timer_node*>(this);
    // The entry stays in the heap until it surfaces; once cancelled entries
    // are all there is, or outnumber the live ones, they go at once.
    if (in_heap) {
        // Dropping an entry never releases the last reference of `this`:
        // the caller holds one.
        timer_heap& q = *r->timers_;
        ++q.stale;
        if (q.stale == q.heap.size()) {
            q.drop_all();
            r->timers_idle();  // no armed timer left: run() may return, unless one comes
        } else if (q.stale >= 1024 && q.stale * 2 > q.heap.size()) {
            q.drop_cancelled();
        }
    }
    if (type == kind::periodic)
        static_cast<periodic_node*>(this)->stop.reset();
    // Last: the callable's destructor may call back into the reactor.
    if (!running)
        t->fn.reset();
}

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

// The latest the timerfd is set for: a deadline further away wakes the loop
// once a day to look again (a timespec cannot hold time_point::max()).
constexpr reactor::duration max_timer_wait = std::chrono::hours(24);

// `t + d`, or time_point::max() where that would overflow.
reactor::time_point saturating_add(reactor::time_point t, reactor::duration d) noexcept {
    return d > reactor::time_point::max() - t ? reactor::time_point::max() : t + d;
}

// How many queued callbacks run before the loop polls I/O and timers again.
constexpr std::size_t drain_budget = 4096;

}  // namespace

reactor::reactor() {
    init_process_once();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    // Not EVENT_BASE_FLAG_PRECISE_TIMER: on epoll that flag puts a timerfd
    // under every wait and sets it on every turn of the loop, one
    // timerfd_settime(2) per turn whether or not any timer changed (a
    // fifth of the system calls of a request/response loop). The reactor's
    // timers have a timerfd of their own instead, set only when the
    // earliest deadline moves earlier or passes ("timers" below); libevent's
    // own timeouts (the keepalive, evdns) live on its coarse clock.
    base_ = event_base_new();
    if (!base_)
        throw reactor_error("vow::reactor: event_base_new() failed");
    try {
        timers_ = std::make_unique<detail::timer_heap>();
        drain_ev_ = new_internal_event(base_, 0, &reactor::on_drain, this);
        remote_ev_ = new_internal_event(base_, 0, &reactor::on_remote, this);
        stop_ev_ = new_internal_event(base_, 0, &reactor::on_stop, this);
        timers_->fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (timers_->fd < 0)
            throw reactor_error(
                fmt::format("vow::reactor: timerfd_create() failed: {}", std::strerror(errno)));
        // Added while any timer is armed; the timerfd says when.
        timer_ev_ = event_new(base_, timers_->fd, EV_READ | EV_PERSIST, &reactor::on_timers, this);
        if (!timer_ev_)
            throw reactor_error("vow::reactor: event_new() failed (out of memory?)");
        // The one add that can fail (epoll's first registration of the fd),
        // made here: arm_timer_event() cannot report failure.
        if (event_add(timer_ev_, nullptr) != 0)
            throw reactor_error("vow::reactor: event_add() failed for the timer event (out of memory?)");
        event_del(timer_ev_);
        // Armed only while a work_guard lives: a far-future timer is what
        // keeps event_base_loop from returning for lack of events.
        keepalive_ev_ = new_internal_event(base_, EV_PERSIST, [](int, short, void*) {}, nullptr);
    } catch (...) {
        for (event* ev : {drain_ev_, remote_ev_, stop_ev_, timer_ev_})
            if (ev)
                event_free(ev);
        if (timers_ && timers_->fd >= 0)
            ::close(timers_->fd);
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
        remote_batch_.clear();
        {
            std::lock_guard lock(remote_mutex_);
            remote_batch_.take_all(remote_);
            remote_pending_ = false;
        }
        remote_batch_.clear();
        remote_taken_ = false;
        while (nodes_) {
            detail::handle_node* n = nodes_;
            ++n->refs;
            n->disarm();
            n->release();
        }
        // Order does not matter here; the heap's reference keeps each node
        // alive through its disarm().
        detail::timer_heap& q = *timers_;
        while (!q.heap.empty()) {
            detail::timer_node* n = q.heap.pop_any().node;
            n->in_heap = false;
            if (n->armed)
                n->disarm();
            else
                --q.stale;
            n->release();
        }
        std::lock_guard lock(remote_mutex_);
        if (ready_.empty() && remote_.empty() && !nodes_ && q.heap.empty())
            break;
    }
    for (event* ev : {drain_ev_, remote_ev_, stop_ev_, timer_ev_, keepalive_ev_})
        event_free(ev);
    ::close(timers_->fd);
    event_base_free(base_);
}

void reactor::schedule_drain() {
    drain_scheduled_ = true;
    event_active(drain_ev_, 0, 0);
}

// ------------------------------------------------- cross-thread posts
//
// Posters push into remote_, a task_queue of its own, under remote_mutex_.
// Only the post that finds remote_pending_ clear wakes the loop (event_active
// on remote_ev_: libevent's lock and its eventfd write). The loop takes
// everything posted so far in O(1) (the queue's blocks change hands, and it
// hands its spare blocks back for the posters to fill), and it clears the
// flag only when, having run what it took, it finds nothing more: while it
// keeps up with a stream of posts, a post costs the poster a lock and a push,
// and the loop one lock per batch.

// call_soon_threadsafe (reactor.hpp) pushes, and calls this if it set
// remote_pending_.
void reactor::wake_for_remote() noexcept { event_active(remote_ev_, 0, 0); }

void reactor::lock_remote() noexcept {
    for (int spins = 0; spins < 64; ++spins) {
        if (remote_mutex_.try_lock())
            return;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    remote_mutex_.lock();
}

void reactor::add_remote_block() {
    remote_mutex_.unlock();
    detail::task_queue::block* b;
    try {
        b = detail::task_queue::new_block();
    } catch (...) {
        lock_remote();  // the caller's lock_guard unlocks it
        throw;
    }
    lock_remote();
    remote_.add_spare(b);  // another poster may have added one meanwhile: then one is spare
}

// Moves the posts that arrived into the ready queue (cross-thread posts join
// the same FIFO as local ones, in arrival order) and returns true; or, if
// none did, clears remote_pending_ so that the next post wakes the loop, and
// returns false. Loop thread only. Throws std::bad_alloc if the ready queue
// cannot grow; what is not queued yet stays in remote_batch_ for next time.
bool reactor::take_remote() {
    if (remote_batch_.empty()) {
        std::lock_guard lock(remote_mutex_);
        if (remote_.empty()) {
            remote_pending_ = false;
            remote_taken_ = false;
            return false;
        }
        remote_batch_.take_all(remote_);
        ready_.give_spares(remote_);
    }
    remote_taken_ = true;
    if (ready_.empty()) {
        ready_.take_all(remote_batch_);
    } else {
        while (!remote_batch_.empty()) {
            ready_.push(std::move(remote_batch_.front()));
            remote_batch_.pop_front();
        }
    }
    if (!drain_scheduled_)
        schedule_drain();
    return true;
}

void reactor::on_remote(int, short, void* self) {
    auto* r = static_cast<reactor*>(self);
    try {
        r->take_remote();
    } catch (...) {
        r->report_exception(std::current_exception(), "call_soon_threadsafe");
        event_active(r->remote_ev_, 0, 0);  // try again on the next turn
    }
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
            if (remote_taken_) {
                // Posts that came in meanwhile run in this drain, with no wakeup.
                bool more = false;
                try {
                    more = take_remote();
                } catch (...) {
                    report_exception(std::current_exception(), "call_soon_threadsafe");
                    event_active(remote_ev_, 0, 0);
                }
                if (more)
                    continue;
            }
            break;
        } catch (...) {
            ready_.pop_front();  // the throwing task already destroyed its callable
            report_exception(std::current_exception(), "call_soon callback");
        }
    }
    drain_scheduled_ = false;
    if (timers_->idle_check)
        finish_timers_idle();
}

template <class Task>
void reactor::run_timed(Task& fn, bool once, std::string_view where) {
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

void reactor::report_exception(const std::exception_ptr& error, std::string_view where) noexcept {
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

// ---------------------------------------------------------------- timers
//
// Every armed timer is an entry of one heap (reactor/timer_heap.hpp), and
// timer_ev_ is pending for the earliest deadline while any is armed, which is
// also what keeps run() running. When it fires, run_due_timers() runs the
// timers due by then, one at a time in deadline order, each popped before it
// runs: a timer cancelled by an earlier callback of the same turn is already
// marked disarmed and is dropped, never run. Timers armed meanwhile (their seq
// is past the turn's limit) wait for the next turn, after I/O is polled.

handle reactor::add_timer(duration d, bool periodic, detail::timer_task fn, const char* function,
                          const std::stop_token* token) {
    detail::check_thread(*this, function);
    if (periodic ? d <= duration::zero() : d < duration::zero())
        throw invalid_argument(fmt::format("vow::{}: the {} must be {}, got {}", function,
                                           periodic ? "period" : "delay", periodic ? "positive" : "zero or more",
                                           std::chrono::duration_cast<std::chrono::microseconds>(d)));
    if (token && token->stop_requested())
        return handle();  // `fn` is destroyed on the way out, here on the reactor's thread
    // From the present, not from now(), which is older: no early firing.
    const time_point deadline = saturating_add(clock::now(), d);
    if (!periodic) {
        auto* n = new detail::timer_node(detail::handle_node::kind::timer);
        n->fn = std::move(fn);
        schedule_timer(n, deadline);
        return handle(n);
    }
    std::unique_ptr<detail::periodic_node> n(new detail::periodic_node);
    n->fn = std::move(fn);
    n->period = d;
    if (token && token->stop_possible()) {
        // Runs on this thread, on a later turn, unless disarm() reset the
        // link first: then the node is armed, and the heap's reference keeps
        // it alive; the extra one covers the handle going meanwhile.
        n->stop = std::make_unique<stop_link>(*this, *token, [node = n.get()] {
            ++node->refs;
            node->disarm();
            node->release();
        });
    }
    detail::periodic_node* p = n.release();  // schedule_timer() deletes it if it throws
    schedule_timer(p, deadline);
    return handle(p);
}

handle reactor::add_timer_at(time_point when, detail::timer_task fn) {
    detail::check_thread(*this, "reactor::call_at");
    auto* n = new detail::timer_node(detail::handle_node::kind::timer);
    n->fn = std::move(fn);
    schedule_timer(n, when);
    return handle(n);
}

// Arms `n` (which holds the handle's reference) for `deadline`. If the heap
// cannot grow, `n` is deleted (with its callable) and std::bad_alloc thrown.
void reactor::schedule_timer(detail::timer_node* n, time_point deadline) {
    detail::timer_heap& q = *timers_;
    n->seq = q.next_seq++;
    try {
        q.heap.push({deadline, n});
    } catch (...) {
        n->release();
        throw;
    }
    n->owner = this;
    n->armed = true;
    n->in_heap = true;
    ++n->refs;
    if (!q.firing && (!q.event_pending || !q.fd_armed || deadline < q.armed_at))
        arm_timer_event();
}

// Reports that the timers could not be armed (`why`), to the exception
// handler; they wait for the next arming. Out of memory even for the report:
// nothing more can be said.
void reactor::report_timers_late(const char* why) noexcept {
    try {
        report_exception(
            std::make_exception_ptr(reactor_error(
                fmt::format("vow::reactor: {}; timers are late until the next one is armed", why))),
            "reactor timers");
    } catch (...) {
    }
}

// Keeps timer_ev_ added while any timer is armed, and the timerfd set for a
// deadline no later than the earliest armed one. The timerfd is set only
// when that deadline moves earlier (or the timerfd has fired): a timer
// cancelled at the top leaves it set for its old deadline, which then wakes
// the loop once to find nothing due and set it again. That is what keeps
// the common pattern of a timeout per read, re-armed further ahead every
// time and cancelled when the data comes, free of system calls. Drops
// cancelled entries that reached the top on the way.
void reactor::arm_timer_event() noexcept {
    detail::timer_heap& q = *timers_;
    while (!q.heap.empty() && !q.heap.top().node->armed) {
        detail::timer_node* n = q.heap.top().node;
        q.heap.pop();
        n->in_heap = false;
        --q.stale;
        n->release();
    }
    if (q.heap.empty()) {
        timers_idle();
        return;
    }
    const time_point deadline = q.heap.top().deadline;
    // Fails only if epoll cannot take the fd (out of kernel memory): the
    // constructor added it once already. Then the timers wait for the next
    // arming; say so rather than stall silently.
    if (!q.event_pending) {
        if (event_add(timer_ev_, nullptr) != 0) [[unlikely]] {
            report_timers_late("event_add() failed for the timer event (out of memory?)");
            return;
        }
        q.event_pending = true;
    }
    if (q.fd_armed && q.armed_at <= deadline)
        return;
    // Absolute CLOCK_MONOTONIC time, steady_clock's own. A day at most
    // (time_point::max() has no timespec); zero would disarm the timerfd.
    const time_point now = clock::now();
    const time_point at = deadline - now > max_timer_wait ? now + max_timer_wait : deadline;
    auto ns = std::max<std::int64_t>(at.time_since_epoch().count(), 1);
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    if (::timerfd_settime(q.fd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) [[unlikely]] {
        report_timers_late(
            fmt::format("timerfd_settime() failed: {}", std::strerror(errno)).c_str());
        return;
    }
    q.fd_armed = true;
    q.armed_at = at;
}

// The heap emptied. Inside the loop, timer_ev_ stays added until the ready
// queue has run dry (drain() then calls finish_timers_idle()): a read whose
// timeout was just cancelled usually arms the next read's in a continuation
// of the same turn, and removing and adding the timerfd's event in between
// would cost two epoll_ctl(2) per read. Outside it, it goes at once, so that
// run_once(false) finds nothing left to wait for.
void reactor::timers_idle() noexcept {
    detail::timer_heap& q = *timers_;
    if (!q.event_pending || q.idle_check)
        return;
    if (!running_) {
        finish_timers_idle();
        return;
    }
    q.idle_check = true;
    if (!drain_scheduled_)
        schedule_drain();
}

void reactor::finish_timers_idle() noexcept {
    detail::timer_heap& q = *timers_;
    q.idle_check = false;
    if (q.stale == q.heap.size())
        q.drop_all();
    if (q.heap.empty() && q.event_pending) {
        event_del(timer_ev_);  // no armed timer left: run() may return
        q.event_pending = false;
    }
}

void reactor::on_timers(int, short, void* self) { static_cast<reactor*>(self)->run_due_timers(); }

void reactor::run_due_timers() {
    detail::timer_heap& q = *timers_;
    // The timerfd fired (or a stale expiry was still readable): drain its
    // count, and set it again below for what is left.
    std::uint64_t expirations = 0;
    (void)!::read(q.fd, &expirations, sizeof expirations);
    q.fd_armed = false;
    q.firing = true;
    refresh_time();
    const time_point now = now_;
    const std::uint64_t limit = q.next_seq;  // timers armed from here on wait
    // Popping a cancelled entry costs a sift-down whose every level waits
    // for the one before, and a cache miss on its node; one pass over the
    // array drops them all with loads the CPU overlaps. Worth it once they
    // are a quarter of the heap.
    if (q.stale >= 1024 && q.stale * 4 >= q.heap.size())
        q.drop_cancelled();
    // Due timers armed by this turn's callbacks (call_at a past time): set
    // aside, so that they run on the next turn without holding back the
    // timers already due in this one.
    std::vector<detail::timer_heap_of<detail::timer_node>::entry> later;
    while (!q.heap.empty()) {
        const auto e = q.heap.top();
        detail::timer_node* n = e.node;
        if (!n->armed) {
            q.heap.pop();
            n->in_heap = false;
            --q.stale;
            n->release();
            continue;
        }
        if (e.deadline > now || stop_requested_.load(std::memory_order_relaxed))
            break;
        if (n->seq >= limit) {
            try {
                later.push_back(e);
            } catch (...) {
                break;  // no memory to set it aside: the rest waits for the next turn
            }
            q.heap.pop();
            n->in_heap = false;  // `later` holds the heap's reference
            continue;
        }
        q.heap.pop();
        n->in_heap = false;  // the heap's reference is this function's now
        fire_timer(n, e.deadline, now);
    }
    for (const auto& e : later) {
        detail::timer_node* n = e.node;
        if (n->armed) {
            try {
                q.heap.push(e);
                n->in_heap = true;
                continue;
            } catch (...) {
                ++n->refs;
                n->disarm();
                n->release();
                report_exception(std::current_exception(), "call_later callback");
            }
        }
        n->release();
    }
    q.firing = false;
    arm_timer_event();
}

// Runs one due timer, popped from the heap with its reference. A one-shot
// timer is disarmed first (its handle is inactive inside the callback); a
// periodic one goes back into the heap for its next tick, if its callback did
// not cancel it.
void reactor::fire_timer(detail::timer_node* n, time_point deadline, time_point now) {
    const bool periodic = n->type == detail::handle_node::kind::periodic;
    const char* what = periodic ? "call_every callback" : "call_later callback";
    try {
        if (!periodic) {
            n->armed = false;
            n->owner = nullptr;
            if (slow_threshold_ == duration::zero()) [[likely]]
                n->fn.run_and_reset();
            else
                run_timed(n->fn, true, what);
        } else {
            n->running = true;
            struct done {
                detail::timer_node* n;
                ~done() {
                    n->running = false;
                    if (!n->armed)
                        n->fn.reset();  // cancelled from inside: destroy now
                }
            } d{n};
            if (slow_threshold_ == duration::zero())
                n->fn();
            else
                run_timed(n->fn, false, what);
        }
    } catch (...) {
        report_exception(std::current_exception(), what);
    }
    if (periodic && n->armed) {
        // The next tick on the original grid, skipping ticks already missed.
        const duration period = static_cast<detail::periodic_node*>(n)->period;
        time_point next = saturating_add(deadline, period);
        if (next <= now)
            next = deadline + period * ((now - deadline) / period + 1);
        n->seq = timers_->next_seq++;
        try {
            timers_->heap.push({next, n});
            n->in_heap = true;
            return;  // the heap has the reference again
        } catch (...) {
            // No memory for the entry: the timer cannot go on ticking.
            ++n->refs;
            n->disarm();
            n->release();
            report_exception(std::current_exception(), what);
        }
    }
    n->release();
}

// --------------------------------------------------------------- watchers

void reactor::on_node(int, short, void* arg) {
    auto* n = static_cast<detail::watch_node*>(arg);
    reactor* r = n->owner;
    if (!n->armed)
        return;  // cancelled by an earlier callback of this turn
    r->refresh_time();
    ++n->refs;  // keep the node alive through its own callback
    try {
        n->running = true;
        struct done {
            detail::watch_node* n;
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
    } catch (...) {
        r->report_exception(std::current_exception(), n->what);
    }
    n->release();
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
    auto* n = new detail::watch_node;
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
    n->link_watch(*this);
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
        timeval far{time_t{86400} * 365, 0};
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
