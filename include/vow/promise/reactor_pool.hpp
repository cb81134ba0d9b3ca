/// @file
/// vow::reactor_pool and vow::submit_to: every core, a reactor per thread, and
/// calls between reactors that return futures (seastar's smp::submit_to).
///
/// @code
/// vow::reactor_pool pool({.threads = 4, .stop_signals = {SIGINT, SIGTERM}});
/// // reactor 0 is this thread's (it runs in pool.run()); 1..3 run already.
/// pool.at(0).call_soon([] {
///     vow::submit_to(2, [] { return expensive(); })          // runs on reactor 2
///         .then([](int v) { fmt::print("{}\n", v); });       // back on reactor 0
/// });
/// pool.run();   // until pool.stop() (or one of the stop signals)
/// @endcode
///
/// The model (docs/design.md, "Every core: reactor pools"): nothing
/// thread-bound is shared. Each reactor has its own objects (servers,
/// connections, futures, caches) and runs them on its own thread; reactors
/// talk only through submit_to, whose future settles on the calling reactor.
/// Per-reactor values of one kind live in a vow::sharded<T> (sharded.hpp).
#pragma once

#include <vow/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/reactor.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {

class reactor_pool;

/// How a vow::reactor_pool is made: its size, CPU pinning, thread names and
/// stop signals.
struct reactor_pool_options {
    /// Reactors, threads with them; 0: one per hardware thread
    /// (std::thread::hardware_concurrency(), at least 1).
    std::size_t threads = 0;
    /// Pins reactor i to the i-th CPU the calling thread may run on (modulo
    /// their number), the calling thread (reactor 0) included, until the
    /// pool is destroyed. (A calling thread pinned to one CPU already puts
    /// every reactor on it.)
    bool pin_cpus = false;
    /// The pool's threads are named `"<thread_name>-<i>"` (cut to the 15
    /// characters Linux keeps); reactor 0's thread keeps its name.
    std::string thread_name = "vow";
    /// Signals that begin stop(stop_grace), handled by reactor 0 while run()
    /// runs. The pool's other threads block every asynchronous signal, so
    /// signals reach reactor 0's thread.
    std::vector<int> stop_signals = {};
    /// The grace period of the stop a stop signal begins.
    reactor::duration stop_grace = std::chrono::seconds(30);
};

namespace detail {

struct pool_member;   // the calling thread's place in its pool (reactor_pool.cpp)

// One submit_to call. Ownership passes along with it, never shared: the
// caller makes it, the task on the target owns it while it runs there (and
// while a future fn returned is pending), the task that carries the result
// back owns it on the way, and the caller frees it after settling its
// promise. A task destroyed unrun (a reactor destroyed) frees it too; by
// then the pool's stop has settled its promise. Fields are split by thread:
// the caller's (list links, promise) and the target's (the outcome); the
// one both read is `cancelled`.
struct pool_call_base {
    pool_call_base(pool_member* from, std::size_t to) noexcept : caller(from), target(to) {}
    pool_call_base(const pool_call_base&) = delete;
    pool_call_base& operator=(const pool_call_base&) = delete;
    // Forgets the call if the caller still knows it: that happens only on
    // the caller's thread (a call that leaves it is forgotten before it is
    // freed anywhere else).
    virtual ~pool_call_base();

    // Caller's thread: rejects the promise (if still unsettled) with
    // `error`, tells the target not to run fn, and forgets the call.
    void cancel(std::exception_ptr error) noexcept;
    // Caller's thread: the result is back; settles the promise with it.
    virtual void settle() noexcept = 0;
    virtual void reject(std::exception_ptr error) noexcept = 0;
    // Target's thread: runs fn (unless cancelled), destroys it, and sends
    // the call back. Takes ownership of the call.
    virtual void run() noexcept = 0;

    pool_member* caller;
    std::size_t target;
    std::atomic<bool> cancelled{false};   // caller -> target: do not run fn
    // The caller's list of calls in flight (its thread only).
    pool_call_base* prev = nullptr;
    pool_call_base* next = nullptr;
    bool linked = false;
    // The stop token's link, if a token was given (reactor_pool.cpp): its
    // callback posts to the caller, which finds the call through a box
    // cleared once the call is forgotten, on the caller's thread.
    struct token_link;
    struct token_link_deleter {
        void operator()(token_link* l) const noexcept;
    };
    std::unique_ptr<token_link, token_link_deleter> link;

    // Calls are made and freed at the rate of the calls: from a per-thread
    // cache of blocks, not malloc (a block freed on another thread joins
    // that thread's cache).
    static void* operator new(std::size_t size);
    static void operator delete(void* p, std::size_t size) noexcept;
};

// Deletes the call unless released: what the tasks carry.
class pool_call_owner {
public:
    explicit pool_call_owner(pool_call_base* c) noexcept : c_(c) {}
    pool_call_owner(pool_call_owner&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
    pool_call_owner& operator=(pool_call_owner&&) = delete;
    ~pool_call_owner() { delete c_; }
    pool_call_base* get() const noexcept { return c_; }
    pool_call_base* release() noexcept { return std::exchange(c_, nullptr); }

private:
    pool_call_base* c_;
};

[[nodiscard]] pool_member* current_pool_member() noexcept;
[[nodiscard]] reactor_pool* member_pool(const pool_member& m) noexcept;
[[nodiscard]] std::size_t member_index(const pool_member& m) noexcept;
[[nodiscard]] reactor& member_reactor(const pool_member& m) noexcept;
// Reactor `shard` of m's pool; vow::invalid_argument if there is none.
[[nodiscard]] reactor& member_target(const pool_member& m, std::size_t shard);
// Caller's thread: counts the call in flight and remembers it for the
// pool's stop. Returns false (and does nothing) once the pool is closed.
[[nodiscard]] bool begin_call(pool_member& m, pool_call_base* call) noexcept;
// Caller's thread: forgets the call (once; later calls do nothing).
void end_call(pool_call_base* call) noexcept;
// Target's thread: posts the call back to its caller, to be settled there.
void return_call(pool_call_owner call) noexcept;
// Caller's thread: links the call to `stop`: a stop request (any thread)
// cancels it on the caller's thread.
void link_stop_token(pool_call_base* call, const std::stop_token& stop);
[[nodiscard]] std::exception_ptr make_pool_stopped_error(std::size_t target);
[[nodiscard]] std::exception_ptr make_call_cancelled_error(std::size_t target);
[[noreturn]] void throw_not_in_pool(const char* function);

template <class F>
struct pool_fn_traits {
    static constexpr bool takes_token = std::is_invocable_v<F&, std::stop_token>;
    using raw = std::conditional_t<takes_token, std::invoke_result<F&, std::stop_token>, std::invoke_result<F&>>;
    using result = typename raw::type;
    using value = detail::unwrap_t<result>;
};

template <class R>
struct pool_call : pool_call_base {
    pool_call(pool_member* from, std::size_t to, promise<R> p)
        : pool_call_base(from, to), promise_(std::move(p)) {}

    void settle() noexcept override {
        if (!promise_)
            return;   // cancelled meanwhile: the result goes unused
        try {
            if (error)
                promise_->reject(error);
            else if constexpr (std::is_void_v<R>)
                promise_->resolve();
            else
                promise_->resolve(std::move(*value));
        } catch (...) {   // out of memory: the future stays pending
        }
        promise_.reset();
    }
    void reject(std::exception_ptr e) noexcept override {
        if (!promise_)
            return;
        try {
            promise_->reject(std::move(e));
        } catch (...) {
        }
        promise_.reset();
    }

    std::optional<promise<R>> promise_;   // the caller's
    std::stop_token token;                // handed to fn: the caller's, or the pool's
    // The target's outcome.
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value{};
    std::exception_ptr error;
};

// A call and its function: fn lives in the call until it has run on the
// target, and is destroyed there (or, never run, with the call).
template <class R, class Fn>
struct pool_call_with final : pool_call<R> {
    pool_call_with(pool_member* from, std::size_t to, promise<R> p, Fn f)
        : pool_call<R>(from, to, std::move(p)), fn(std::move(f)) {}

    // On the target: runs fn, keeps what it returned (or the outcome of the
    // future it returned) in the call, and sends the call back to its
    // caller. A call cancelled meanwhile goes back without running.
    void run() noexcept override {
        using traits = pool_fn_traits<Fn>;
        pool_call_owner owner(this);
        if (this->cancelled.load(std::memory_order_acquire)) {
            fn.reset();
            return_call(std::move(owner));
            return;
        }
        std::exception_ptr error;
        try {
            auto invoke = [&]() -> decltype(auto) {
                if constexpr (traits::takes_token)
                    return (*fn)(this->token);
                else
                    return (*fn)();
            };
            if constexpr (is_future_v<typename traits::result>) {
                auto f = invoke();
                fn.reset();
                auto keep = std::make_shared<pool_call_owner>(std::move(owner));
                std::move(f)
                    .then([keep](auto&&... v) {
                        auto* c = static_cast<pool_call<R>*>(keep->get());
                        if constexpr (!std::is_void_v<R>)
                            c->value.emplace(std::forward<decltype(v)>(v)...);
                        return_call(std::move(*keep));
                    })
                    .catch_([keep](const std::exception_ptr& e) {
                        if (!keep->get())
                            return;   // sent back already
                        static_cast<pool_call<R>*>(keep->get())->error = e;
                        return_call(std::move(*keep));
                    })
                    .discard();
                return;
            } else if constexpr (std::is_void_v<R>) {
                invoke();
            } else {
                this->value.emplace(invoke());
            }
        } catch (...) {
            error = std::current_exception();
        }
        if (!owner.get())
            return;   // handed to the future's continuation already
        fn.reset();
        // Outside the catch block: this thread lets go of the exception
        // before the caller's thread sees it (see settle_with_result).
        this->error = std::move(error);
        return_call(std::move(owner));
    }

    std::optional<Fn> fn;
};

}  // namespace detail

/// Every core: a reactor per thread, and calls between reactors that return
/// futures (seastar's smp::submit_to, here vow::submit_to).
///
/// Stopping (pool.stop(grace), any thread; or a stop signal) is driven by
/// reactor 0, in four steps, each finished on every reactor before the next:
///  1. The stop token (stop_token()) is requested, and every reactor runs its
///     stop hooks: on_stop() functions and the shutdown(grace) of every
///     sharded instance that has one (http_server's closes its listener,
///     taking on what waits in its backlog, and answers what it received).
///  2. The pool waits for those hooks and for every submit_to call in flight,
///     until the grace period ends.
///  3. submit_to refuses new calls (their futures reject with
///     vow::cancelled_error); calls still in flight reject with
///     vow::cancelled_error on their callers' reactors ("... the reactor pool
///     stopped before the call ... completed"): none is lost silently. The
///     sharded instances are destroyed, each on its reactor's thread.
///  4. Each loop runs what is queued (the continuations of those
///     rejections), then stops; run() returns.
///
/// The threads and their reactors live on, idle, until the pool is
/// destroyed: a reactor is destroyed on its own thread, and only then.
///
/// Thread safety: stop(), size(), stopping() and stop_token() are any-thread;
/// run() and the destructor belong to the thread that made the pool; at(i)
/// hands out reactor i, which is thread-bound to its own thread like any
/// reactor (post to it from elsewhere with call_soon_threadsafe, or better,
/// with submit_to).
class reactor_pool {
public:
    /// Makes reactor 0 on the calling thread (run() runs it) and starts the
    /// other threads, each making its reactor and running it at once; returns
    /// once all are up. Throws vow::invalid_argument for a bad option (a bad
    /// signal number), vow::usage_error if this thread already has a pool,
    /// and what making a reactor or a thread throws.
    explicit reactor_pool(reactor_pool_options opts = {});
    /// Stops (grace zero) if run() did not, joins the threads, destroys each
    /// reactor on its own thread. On the thread that made the pool, outside
    /// run(). Destroy every sharded<T> of the pool before it.
    ~reactor_pool();
    reactor_pool(const reactor_pool&) = delete;
    reactor_pool& operator=(const reactor_pool&) = delete;

    /// The number of reactors, reactor 0 included. Any thread.
    [[nodiscard]] std::size_t size() const noexcept;
    /// Reactor `shard` (0 .. size()-1). Throws vow::invalid_argument otherwise.
    [[nodiscard]] reactor& at(std::size_t shard) const;

    /// Runs reactor 0 on this thread until the pool has stopped (steps 1-4 of
    /// the class description); the other reactors run meanwhile. Returns at
    /// once if it already stopped. Throws vow::usage_error on another thread,
    /// or inside run().
    void run();

    /// Begins stopping (see the class description), with `grace` for the stop
    /// hooks and the calls in flight. Any thread, any time, more than once
    /// (the first counts); before run(), the stop happens when run() runs.
    void stop(reactor::duration grace = std::chrono::seconds(30)) noexcept;
    /// True once stop() was called.
    [[nodiscard]] bool stopping() const noexcept;
    /// Requested when stopping begins (step 1): give it to loops and tasks
    /// that should end then. Any thread.
    [[nodiscard]] std::stop_token stop_token() const noexcept;

    /// Runs `fn(grace)` on the calling reactor in step 1; the stop waits for
    /// the future it returns (until the grace period ends). An error it
    /// throws or rejects with goes to that reactor's exception handler.
    /// On a pool reactor's thread; throws vow::usage_error elsewhere.
    void on_stop(std::function<future<void>(reactor::duration grace)> fn);

    /// The pool of the calling thread (a reactor's thread of a pool), or null.
    [[nodiscard]] static reactor_pool* current() noexcept;

    /// For sharded<T>: runs `fn` on reactor `shard`'s thread and waits for it
    /// there, returning or rethrowing what it did. On reactor 0's thread (run
    /// there inline for shard 0); throws vow::usage_error elsewhere, and once
    /// the loops have stopped.
    void run_blocking(std::size_t shard, const std::function<void()>& fn);
    /// For sharded<T>: while the instance lives, `shutdown` (if not empty)
    /// runs in step 1 and `destroy` in step 3, on reactor `shard` (call it
    /// there). remove_instance (same thread) forgets them.
    void add_instance(std::size_t shard, const void* key, std::function<future<void>(reactor::duration)> shutdown,
                      std::function<void()> destroy);
    /// For sharded<T>: forgets the hooks add_instance() registered for `key`
    /// on reactor `shard`. On that reactor's thread.
    void remove_instance(std::size_t shard, const void* key) noexcept;
    /// True once step 3 has begun: no new calls.
    [[nodiscard]] bool closed() const noexcept;
    /// True once step 4 has begun: every instance is gone, loops are stopping.
    [[nodiscard]] bool stopped() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// The index of the calling thread's reactor in its pool. Throws
/// vow::usage_error on a thread that is not a pool reactor's.
[[nodiscard]] std::size_t this_shard();

/// Runs `fn` on reactor `shard` of the calling thread's pool and returns a
/// future, settled on the calling reactor, for what `fn` returns (a value,
/// or a future whose result is then awaited on the target) or throws.
/// `fn` may take a std::stop_token: it is `stop` (the pool's stop_token()
/// if none is given), so that the target's work ends when the caller's
/// does. Once `stop` is requested, the caller's future rejects at once with
/// vow::cancelled_error, whatever the target still does. `fn` is moved to the
/// target and destroyed there. Calls to one target from one reactor run in
/// the order made; a burst of them costs the target one wakeup. A call to the
/// calling reactor itself runs on a later turn, like call_soon.
///
/// On a pool reactor's thread only: elsewhere it throws vow::usage_error
/// (from a plain thread, post with reactor::call_soon_threadsafe or settle
/// a vow::promise, which is any-thread). Throws vow::invalid_argument for a
/// shard out of range. Once the pool is closing (step 3) the future rejects
/// with vow::cancelled_error.
template <class F>
auto submit_to(std::size_t shard, F&& fn, const std::stop_token& stop = {},
               std::source_location where = std::source_location::current()) {
    using Fn = std::decay_t<F>;
    using traits = detail::pool_fn_traits<Fn>;
    static_assert(std::is_invocable_v<Fn&> || std::is_invocable_v<Fn&, std::stop_token>,
                  "vow::submit_to: the function must take no arguments, or a std::stop_token");
    using R = typename traits::value;
    static_assert(!std::is_reference_v<typename traits::result>, "vow::submit_to: return a value, not a reference");

    detail::pool_member* m = detail::current_pool_member();
    if (!m)
        detail::throw_not_in_pool("submit_to");
    reactor_pool* pool = detail::member_pool(*m);
    reactor& target = detail::member_target(*m, shard);
    reactor& here = detail::member_reactor(*m);
    if (stop.stop_requested())
        return make_exception_future<R>(here, detail::make_call_cancelled_error(shard), where);

    promise<R> p(here, where);
    future<R> f = p.get_future();
    detail::pool_call_owner owner(
        new detail::pool_call_with<R, Fn>(m, shard, std::move(p), Fn(std::forward<F>(fn))));
    auto* call = static_cast<detail::pool_call<R>*>(owner.get());
    if (!detail::begin_call(*m, call)) {
        call->reject(detail::make_pool_stopped_error(shard));
        return f;
    }
    // A throw from here on (out of memory) frees the call, which forgets it.
    if (stop.stop_possible()) {
        detail::link_stop_token(call, stop);
        if constexpr (traits::takes_token)
            call->token = stop;
    } else if constexpr (traits::takes_token) {
        call->token = pool->stop_token();
    }
    // Posted one by one, not batched per turn: the target starts on the
    // first while the caller makes the next (batches measured slower).
    auto task = [o = std::move(owner)]() mutable { o.release()->run(); };
    if (&target == &here)
        here.call_soon(std::move(task));
    else
        target.call_soon_threadsafe(std::move(task));
    return f;
}

}  // namespace vow
