/// @file
/// vow::to_thread and vow::thread_pool: run blocking or CPU-heavy work off the
/// loop (asyncio's to_thread / run_in_executor).
///
/// @code
/// auto digest = vow::to_thread(r, [data] { return sha256(data); });  // future<std::string>
/// @endcode
///
/// `fn` runs on a worker thread; its result or exception comes back to the
/// reactor's thread as the future's value or error. Completions go through
/// call_soon_threadsafe, so many results finishing together cost the loop one
/// wakeup.
///
/// Thread safety: thread_pool::submit is any-thread; to_thread is reactor
/// thread (it creates a future; checked where thread checks are on). The pool
/// must outlive the work submitted to it; the default pool lives until the
/// process exits, so finish (or drop) your reactors' work before returning
/// from main.
#pragma once

#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/reactor/detail/task.hpp>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <source_location>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace vow {

/// A fixed set of worker threads that take queued jobs in the order they were
/// submitted; the executor behind to_thread().
///
/// Thread safety: submit() is any-thread. The pool must outlive the work
/// submitted to it.
class thread_pool {
public:
    /// Starts `threads` workers (at least one).
    explicit thread_pool(std::size_t threads);
    /// Runs every job already submitted, then joins the workers.
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    /// Queues `job` to run on a worker. Any thread. `job` is moved in and
    /// destroyed on the worker after it runs. An exception escaping `job` is
    /// printed to stderr (to_thread's jobs never let one escape).
    /// Throws vow::usage_error after the pool began shutting down.
    void submit(detail::task job);

    /// The number of worker threads.
    [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

    /// The process-wide pool to_thread uses by default. Created on first use
    /// with `default_size()` workers.
    static thread_pool& default_pool();
    /// Sets the default pool's size; only before its first use (returns false
    /// after). The default is the number of hardware threads, at least 2.
    static bool set_default_size(std::size_t threads);
    /// The number of workers the default pool has, or will have when first
    /// used.
    static std::size_t default_size() noexcept;

private:
    void work();

    std::mutex mutex_;
    std::condition_variable ready_;
    std::deque<detail::task> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

namespace detail {
// On a worker: settles `p` with fn()'s value, or with what it threw. The
// rejection comes after the catch block has ended, so that this thread has
// let go of the exception before the loop sees it: the loop thread is then
// the one that frees it, as it frees the future's value.
template <class R, class F>
void settle_with_result(promise<R>& p, F& fn) {
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<R>) {
            fn();
            p.resolve();
        } else {
            p.resolve(fn());
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error)
        p.reject(std::move(error));
}
}  // namespace detail

/// Runs `fn()` on `pool` and returns a future for its result, settled on
/// `r`'s thread. An exception thrown by `fn` rejects the future. `fn` takes no
/// arguments and returns a value (not a reference) or nothing. Reactor thread.
template <class F>
auto to_thread(reactor& r, thread_pool& pool, F&& fn, std::source_location where = std::source_location::current()) {
    static_assert(std::is_invocable_v<std::decay_t<F>&>, "vow::to_thread: the function must take no arguments");
    using R = std::invoke_result_t<std::decay_t<F>&>;
    static_assert(!std::is_reference_v<R>, "vow::to_thread: return a value, not a reference");
    detail::check_thread(r, "to_thread");
    promise<R> p(r, where);
    future<R> f = p.get_future();
    pool.submit([p = std::move(p), fn = std::forward<F>(fn)]() mutable { detail::settle_with_result(p, fn); });
    return f;
}

/// As to_thread(reactor&, thread_pool&, F&&, std::source_location), on
/// thread_pool::default_pool().
template <class F>
auto to_thread(reactor& r, F&& fn, std::source_location where = std::source_location::current()) {
    return to_thread(r, thread_pool::default_pool(), std::forward<F>(fn), where);
}

}  // namespace vow
