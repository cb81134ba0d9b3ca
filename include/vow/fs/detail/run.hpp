// vow/fs/detail/run.hpp - one file system call on a thread pool, with a
// stop token: what every vow::fs operation is built on.
//
// A call waits in the pool's queue until a worker takes it. A stop request
// that comes first cancels it: the call never runs (a worker that reaches
// it skips it) and the future rejects with vow::cancelled_error on a later
// turn. A stop request that comes after a worker took it lets the call
// finish; the future rejects with vow::cancelled_error at once, and the
// result, when it comes, is destroyed on the reactor's thread (a file
// opened meanwhile is closed, off the loop, by its destructor).
#pragma once

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/operation.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <source_location>
#include <stop_token>
#include <type_traits>
#include <utility>

namespace vow::fs::detail {

enum class phase : int { queued, running, cancelled };

// `fn()` on `pool`; its value or exception settles the future on r's thread.
// `name` names the operation in a cancelled_error ("fs::open"). Reactor thread.
template <class F>
auto run(reactor& r, thread_pool& pool, const std::stop_token& stop, const char* name, F fn,
         std::source_location where) -> future<std::invoke_result_t<F&>> {
    using T = std::invoke_result_t<F&>;
    if (stop.stop_requested())
        return make_exception_future<T>(r, expired_error(expiry::cancelled, name), where);
    auto state = std::make_shared<std::atomic<phase>>(phase::queued);
    promise<T> p(r, where);
    future<T> done = p.get_future();
    pool.submit([p = std::move(p), state, name, fn = std::move(fn)]() mutable {
        auto queued = phase::queued;
        if (!state->compare_exchange_strong(queued, phase::running)) {
            // Cancelled while it waited: nobody waits for this promise any more.
            p.reject(expired_error(expiry::cancelled, name));
            return;
        }
        vow::detail::settle_with_result(p, fn);
    });
    if (!stop.stop_possible())
        return done;

    auto op = std::make_shared<pending_operation<T>>(r, where);
    future<T> out = op->get_future();
    op->arm({}, {}, stop, [state, name](expiry why) {
        auto queued = phase::queued;
        state->compare_exchange_strong(queued, phase::cancelled);
        return expired_error(why, name);
    });
    auto settled = [&]() {
        if constexpr (std::is_void_v<T>)
            return std::move(done).then([op] {
                if (op->pending())
                    op->resolve();
            });
        else
            return std::move(done).then([op](T value) {
                if (op->pending())
                    op->resolve(std::move(value));
                // else: cancelled while it ran; `value` is dropped here.
            });
    }();
    std::move(settled)
        .catch_([op](std::exception_ptr e) {
            if (op->pending())
                op->reject(std::move(e));
        })
        .discard();
    return out;
}

}  // namespace vow::fs::detail
