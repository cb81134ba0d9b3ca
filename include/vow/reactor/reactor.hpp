/// @file
/// vow::reactor: the event loop: callbacks, timers, fd and signal watchers on
/// one libevent `event_base`.
///
/// The reactor is vow's bottom layer. It knows nothing of futures: it runs
/// callbacks, in order, on the thread that calls `run()`.
///
/// Example:
/// @code
/// vow::reactor r;
/// r.call_soon([] { fmt::print("Hello\n"); });
/// r.call_later(1s, [] { fmt::print("World\n"); });
/// r.run();  // returns once nothing is left that could run a callback
/// @endcode
///
/// Thread safety: thread-bound, except where a function says "any thread".
/// The reactor's thread is the one that constructed it, or the last one that
/// entered `run()`. The rules are written once in docs/design.md
/// ("Threading"). Where thread checks are on (the default without NDEBUG,
/// and the `thread_checks` build option), a thread-bound function called on
/// another thread aborts with a message naming the function and the rule.
/// A reactor belongs to the process that made it: a child of `fork()` must
/// not run, use or destroy one it inherited (design.md, "Threading").
///
/// Ownership: every callable is moved (or copied, if passed as an lvalue) into
/// the reactor. It is destroyed on the reactor's thread right after it runs
/// (one-shot callbacks), when its handle is cancelled, or when the reactor is
/// destroyed; never on another thread, never twice.
#pragma once

#include <vow/config.hpp>
#include <vow/error.hpp>
#include <vow/reactor/detail/task.hpp>
#include <vow/reactor/detail/task_queue.hpp>
#include <vow/reactor/handle.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

struct event_base;
struct event;

namespace vow {

class reactor;
class fd_watcher;

namespace detail {
class timer_heap;  // reactor/reactor.cpp
struct timer_node;

// The thread check of every thread-bound function (docs/design.md,
// "Threading"): returns if the calling thread is `r`'s thread, otherwise
// prints "vow: <function> called on thread ... but the reactor belongs to
// thread ...", with the rule, and aborts. `function` names the caller as the
// user wrote it ("reactor::call_later", "net::tcp_stream::write").
// Compiled to nothing where VOW_THREAD_CHECKS is 0 (<vow/config.hpp>).
// The fast path is inline: one relaxed atomic load and a compare with the
// calling thread's id.
inline void check_thread(const reactor& r, const char* function) noexcept;

// The failing path, out of line. Always in the library, whatever the build
// option, so code built with checks links against a library built without.
[[noreturn, gnu::cold]] void thread_check_failed(const reactor& r, const char* function) noexcept;
}  // namespace detail

/// The event loop: runs callbacks, timers, fd and signal watchers, in order,
/// on the thread that calls run() (see the file description for the thread
/// and ownership rules).
class reactor {
public:
    /// The clock of every time the reactor takes or gives: monotonic.
    using clock = std::chrono::steady_clock;
    /// A span of time on clock.
    using duration = clock::duration;
    /// A point in time on clock.
    using time_point = clock::time_point;

    /// Receives an exception that escaped a callback, and a short description
    /// of that callback ("call_soon callback", "timer callback", ...).
    using exception_handler = std::function<void(std::exception_ptr, std::string_view where)>;
    /// Receives how long a slow callback held the loop, and its description.
    using slow_callback_handler = std::function<void(duration took, std::string_view where)>;

    /// Creates the event_base. The first reactor of a process also enables
    /// libevent's pthread locking and ignores SIGPIPE.
    /// Throws vow::reactor_error if libevent cannot create a base.
    reactor();

    /// Destroys every pending callable without running it (queued callbacks,
    /// timers, watchers, cross-thread posts), then frees the event_base.
    /// Handles that outlive the reactor become inactive. Must be called on the
    /// reactor's thread, outside of `run()`: a reactor run by another thread
    /// is that thread's until another `run()`, so construct it on the thread
    /// that runs and destroys it.
    ~reactor();

    reactor(const reactor&) = delete;
    reactor& operator=(const reactor&) = delete;
    reactor(reactor&&) = delete;
    reactor& operator=(reactor&&) = delete;

    /// Runs callbacks until `stop()` is called, or until nothing is left that
    /// could run one: no queued callbacks, no armed timers, watchers or signal
    /// handlers, no pending cross-thread posts, no live `work_guard`.
    /// Any thread: the calling thread becomes the reactor's thread, and stays
    /// so after `run()` returns, until another thread calls `run()`. Hand the
    /// reactor over with the usual synchronisation (e.g. starting the thread).
    /// Throws vow::usage_error if the reactor is already running.
    void run();

    /// Runs one iteration: waits for at least one event (unless `block` is
    /// false), runs what became ready, and returns. Returns false if nothing
    /// was left to wait for. Throws vow::usage_error if already running.
    bool run_once(bool block = true);

    /// Makes `run()` return after the callback now running (if any) returns.
    /// Any thread, also from inside a callback. A stop() made while the
    /// reactor is not running is kept: the next `run()` returns at once.
    /// Callbacks still queued stay queued for the next `run()`.
    void stop() noexcept;

    /// True if the last `run()` or `run_once()` returned because of `stop()`
    /// (rather than for lack of work).
    [[nodiscard]] bool stopped() const noexcept { return stopped_; }

    /// True while `run()` or `run_once()` is executing.
    [[nodiscard]] bool running() const noexcept { return running_; }

    /// True while the destructor runs: callables destroyed now will never
    /// run. The promise layer uses it to break promises silently at teardown.
    [[nodiscard]] bool closing() const noexcept { return closing_; }

    /// True if the calling thread is the reactor's thread. Any thread.
    [[nodiscard]] bool in_reactor_thread() const noexcept {
        return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
    }

    /// Queues `fn` to run on a later turn of the loop, after every callback
    /// queued before it (FIFO). Never runs `fn` inside this call.
    /// Reactor thread only. This is the hot path: no allocation for callables
    /// of up to 48 bytes, no libevent call while the queue is being drained.
    template <class F>
    void call_soon(F&& fn) {
        detail::check_thread(*this, "reactor::call_soon");
        ready_.push(std::forward<F>(fn));
        if (!drain_scheduled_) [[unlikely]]
            schedule_drain();
    }

    /// Queues `fn` from any thread and wakes the loop. Posts from many threads
    /// keep their per-thread order; a burst of posts costs one wakeup, and so
    /// do posts that keep arriving while the loop is still running earlier
    /// ones. `fn` is built right in the cross-thread queue (blocks of 256
    /// tasks, recycled between the loop and the posters), under a mutex held
    /// for that alone: no allocation for callables of up to 48 bytes once the
    /// queue has its blocks. Throws std::bad_alloc if a block cannot be had.
    template <class F>
    void call_soon_threadsafe(F&& fn) {
        bool wake;
        {
            lock_remote();
            std::lock_guard lock(remote_mutex_, std::adopt_lock);
            if (remote_.next_push_allocates()) [[unlikely]]
                add_remote_block();  // allocates with the mutex released
            remote_.push(std::forward<F>(fn));
            wake = !std::exchange(remote_pending_, true);
        }
        if (wake)
            wake_for_remote();
    }

    /// Runs `fn` once, `delay` from now (from clock::now(), not from the
    /// cached now()). Timers run in order of their deadlines; timers with the
    /// same deadline run in the order they were scheduled. Reactor thread
    /// only. Throws vow::invalid_argument if `delay` is negative.
    /// No allocation beyond the timer itself for callables of up to 24 bytes.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    call_later(duration delay, F&& fn) {
        return add_timer(delay, false, detail::timer_task(std::forward<F>(fn)), "reactor::call_later");
    }

    /// Runs `fn` at `when` (or at once, on a later turn, if `when` has passed),
    /// in deadline order like call_later. Reactor thread only.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    call_at(time_point when, F&& fn) {
        return add_timer_at(when, detail::timer_task(std::forward<F>(fn)));
    }

    /// Runs `fn` every `period`, first after one period, until the handle is
    /// cancelled. Ticks keep to the original schedule (no drift); ticks missed
    /// because the loop was busy are skipped, not bunched up. Reactor thread
    /// only. Throws vow::invalid_argument if `period` is not positive.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    call_every(duration period, F&& fn) {
        return add_timer(period, true, detail::timer_task(std::forward<F>(fn)), "reactor::call_every");
    }

    /// As call_every(duration, F&&), and the timer is also cancelled once stop
    /// is requested on `token`, from any thread: on a later turn of the loop,
    /// `fn` stops ticking and is destroyed on the reactor's thread, as if the
    /// handle had been cancelled (the handle becomes inactive). A token whose
    /// stop was requested already schedules nothing: `fn` is destroyed here
    /// and the handle is inactive. The link to the token (a vow::stop_link)
    /// lives as long as the timer is armed. Reactor thread only. Throws
    /// vow::invalid_argument if `period` is not positive, stopped token or not.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    call_every(duration period, F&& fn, const std::stop_token& token) {
        return add_timer(period, true, detail::timer_task(std::forward<F>(fn)), "reactor::call_every",
                         &token);
    }

    /// Runs `fn` each time `fd` is readable (level-triggered) until cancelled.
    /// The reactor does not own `fd`: cancel the handle before closing it.
    /// Reactor thread only. Throws vow::invalid_argument for a negative fd.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    add_reader(int fd, F&& fn) {
        return add_watch(fd, watch_kind::reader, detail::task(std::forward<F>(fn)));
    }

    /// Runs `fn` each time `fd` is writable (level-triggered) until cancelled.
    /// Reactor thread only.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    add_writer(int fd, F&& fn) {
        return add_watch(fd, watch_kind::writer, detail::task(std::forward<F>(fn)));
    }

    /// Runs `fn` on the reactor's thread each time signal `signo` arrives,
    /// until cancelled. As in libevent, only one reactor at a time should
    /// handle signals. Reactor thread only. Throws vow::invalid_argument for a
    /// bad signal number.
    template <class F>
    [[nodiscard("dropping the handle does not cancel; use (void) to ignore it")]] handle
    add_signal_handler(int signo, F&& fn) {
        return add_watch(signo, watch_kind::signal, detail::task(std::forward<F>(fn)));
    }

    /// The loop's cached monotonic time: taken when the loop starts running a
    /// batch of queued callbacks, the timers due in a turn, or a watcher (a
    /// due timer's deadline is never after it). Cheap; use `update_time()`
    /// to refresh it inside a long callback. Reactor thread only (another
    /// thread would read it while the loop writes it; use clock::now()).
    [[nodiscard]] time_point now() const noexcept {
        detail::check_thread(*this, "reactor::now");
        return now_;
    }
    /// Refreshes the cached now() from clock::now(). Reactor thread only.
    void update_time() noexcept {
        detail::check_thread(*this, "reactor::update_time");
        refresh_time();
    }

    /// The underlying libevent base, for interop. Events added to it directly
    /// also keep `run()` running while they are pending.
    [[nodiscard]] event_base* native_handle() const noexcept { return base_; }

    /// Replaces the handler for exceptions that escape callbacks. The default
    /// prints one line to stderr; the loop goes on either way. An empty
    /// function restores the default. Reactor thread only.
    void set_exception_handler(exception_handler handler);

    /// Reports every callback that runs for longer than `threshold` (asyncio's
    /// slow_callback_duration). Zero, the default, turns the check off.
    /// Reports go to `set_slow_callback_handler`'s handler, by default one
    /// line to stderr. Reactor thread only.
    void set_slow_callback_duration(duration threshold) noexcept {
        detail::check_thread(*this, "reactor::set_slow_callback_duration");
        slow_threshold_ = threshold;
    }
    /// The threshold set by set_slow_callback_duration(); zero while the check
    /// is off.
    [[nodiscard]] duration slow_callback_duration() const noexcept { return slow_threshold_; }
    /// Replaces the handler that receives slow-callback reports. The default
    /// prints one line to stderr; an empty function restores it. Reactor
    /// thread only.
    void set_slow_callback_handler(slow_callback_handler handler);

    /// Passes an exception to the exception handler, as if a callback had
    /// thrown it. For layers built on the reactor. Reactor thread only.
    void report_exception(const std::exception_ptr& error, std::string_view where) noexcept;

    /// Keeps `run()` from returning for lack of work while it lives, for example
    /// while another thread will `call_soon_threadsafe` later. Copyable and
    /// movable; create and destroy on any thread.
    class work_guard {
    public:
        /// A guard that keeps nothing running.
        work_guard() noexcept = default;
        /// Keeps `r`'s `run()` from returning for lack of work.
        explicit work_guard(reactor& r);
        /// Keeps the same reactor running as `other` does (one more guard).
        work_guard(const work_guard& other);
        /// Takes over `other`'s hold on its reactor; `other` then holds nothing.
        work_guard(work_guard&& other) noexcept : r_(std::exchange(other.r_, nullptr)) {}
        /// Holds what `other` held; the hold this guard had is released.
        work_guard& operator=(work_guard other) noexcept {
            std::swap(r_, other.r_);
            return *this;
        }
        /// Releases the hold, as reset() does.
        ~work_guard() { reset(); }
        /// Releases the hold on the reactor, if any; the guard then holds
        /// nothing. Safe to call any number of times.
        void reset() noexcept;
        /// True while the guard keeps a reactor running (not reset, moved from
        /// or default-constructed).
        [[nodiscard]] bool owns_work() const noexcept { return r_ != nullptr; }

    private:
        reactor* r_ = nullptr;
    };

    /// Per-reactor state of a layer built on the reactor (the DNS resolver of
    /// vow::net, ...). `use_service<S>()` creates an `S(reactor&)` on first
    /// use and returns the same one afterwards. Services are destroyed first
    /// thing in ~reactor, newest first, while the event_base still exists;
    /// what their destructors queue is then destroyed with the rest.
    /// Reactor thread only.
    class service {
    public:
        service() = default;
        service(const service&) = delete;
        service& operator=(const service&) = delete;
        virtual ~service() = default;
    };
    /// The reactor's `S` (a class derived from service), created as
    /// `S(reactor&)` on first use. Reactor thread only.
    template <class S>
    S& use_service() {
        static_assert(std::is_base_of_v<service, S>, "S must derive from vow::reactor::service");
        detail::check_thread(*this, "reactor::use_service");
        static const char key = 0;
        for (auto& [k, svc] : services_)
            if (k == &key)
                return static_cast<S&>(*svc);
        auto svc = std::make_unique<S>(*this);
        S& ref = *svc;
        services_.emplace_back(&key, std::move(svc));
        return ref;
    }

    /// Number of callbacks queued by call_soon and not yet run.
    [[nodiscard]] std::size_t queued() const noexcept { return ready_.size(); }

private:
    friend struct detail::handle_node;
    friend class fd_watcher;
    friend void detail::thread_check_failed(const reactor& r, const char* function) noexcept;
    enum class watch_kind : unsigned char { reader, writer, signal };

    void schedule_drain();
    void wake_for_remote() noexcept;
    // Locks remote_mutex_, spinning a little before sleeping on it: it is
    // held for a push or a hand-over of blocks, shorter than a futex round
    // trip. Any thread.
    void lock_remote() noexcept;
    // With remote_mutex_ held (and held again on return): gives remote_ a
    // new block, allocated with the mutex released so that neither the loop
    // nor other posters wait for malloc and the first touch of its pages.
    // Throws std::bad_alloc.
    void add_remote_block();
    bool take_remote();
    void refresh_time() noexcept { now_ = clock::now(); }
    // `function` names the public caller for errors and the thread check.
    // With a token (call_every's stop_token form) the timer is linked to it.
    handle add_timer(duration d, bool periodic, detail::timer_task fn, const char* function,
                     const std::stop_token* token = nullptr);
    handle add_timer_at(time_point when, detail::timer_task fn);
    handle add_watch(int fd_or_signo, watch_kind kind, detail::task fn);
    void enter_run(const char* what);
    void leave_run() noexcept;
    template <class Task>
    void run_timed(Task& fn, bool once, std::string_view where);
    // The slow-callback check of a callback that started at `start`.
    void check_slow(time_point start, std::string_view where) noexcept;
    void add_work() noexcept;
    void remove_work() noexcept;

    static void on_drain(int, short, void* self);
    static void on_remote(int, short, void* self);
    static void on_stop(int, short, void* self);
    static void on_node(int, short, void* node);
    static void on_timers(int, short, void* self);
    void drain();
    void schedule_timer(detail::timer_node* n, time_point deadline);
    void arm_timer_event() noexcept;
    void report_timers_late(const char* why) noexcept;
    void timers_idle() noexcept;
    void finish_timers_idle() noexcept;
    void run_due_timers();
    void fire_timer(detail::timer_node* n, time_point deadline, time_point now);

    // Hot members first: they are touched by every call_soon.
    detail::task_queue ready_;
    bool drain_scheduled_ = false;
    bool running_ = false;
    bool closing_ = false;
    bool stopped_ = false;
    duration slow_threshold_{};
    time_point now_{};

    event_base* base_ = nullptr;
    ::event* drain_ev_ = nullptr;
    ::event* remote_ev_ = nullptr;
    ::event* stop_ev_ = nullptr;
    ::event* keepalive_ev_ = nullptr;
    std::atomic<std::thread::id> owner_;
    std::atomic<bool> stop_requested_{false};

    // Cross-thread posts. remote_pending_ is set by the post that finds it
    // clear, which then activates remote_ev_; the loop clears it only once
    // it finds remote_ empty after running what it took (remote_taken_), so
    // posts that arrive while it works cost no wakeup.
    // The loop takes all of remote_ at once, by handing over its blocks.
    std::mutex remote_mutex_;
    detail::task_queue remote_;     // guarded by remote_mutex_
    bool remote_pending_ = false;   // guarded by remote_mutex_
    detail::task_queue remote_batch_;  // loop thread only: taken, not yet queued
    bool remote_taken_ = false;        // loop thread only

    std::mutex work_mutex_;
    std::size_t work_count_ = 0;        // guarded by work_mutex_

    detail::handle_node* nodes_ = nullptr;  // armed watchers
    // Armed timers: a heap of deadlines driven by one libevent timer event.
    std::unique_ptr<detail::timer_heap> timers_;
    ::event* timer_ev_ = nullptr;
    std::vector<std::pair<const void*, std::unique_ptr<service>>> services_;
    exception_handler on_exception_;
    slow_callback_handler on_slow_;
};

inline void detail::check_thread([[maybe_unused]] const reactor& r, [[maybe_unused]] const char* function) noexcept {
#if VOW_THREAD_CHECKS
    if (!r.in_reactor_thread()) [[unlikely]]
        thread_check_failed(r, function);
#endif
}

}  // namespace vow
