// The worker pool behind to_thread: one mutex-protected FIFO of jobs and a
// condition variable. Jobs are short hand-offs; the loop never waits here.
#include <vow/error.hpp>
#include <vow/promise/thread_pool.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

namespace vow {

namespace {
std::atomic<std::size_t> configured_size{0};
std::atomic<bool> default_created{false};
}  // namespace

thread_pool::thread_pool(std::size_t threads) {
    threads = std::max<std::size_t>(threads, 1);
    workers_.reserve(threads);
    try {
        for (std::size_t i = 0; i < threads; ++i)
            workers_.emplace_back([this] { work(); });
    } catch (...) {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        ready_.notify_all();
        for (auto& t : workers_)
            t.join();
        throw;
    }
}

thread_pool::~thread_pool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    for (auto& t : workers_)
        t.join();
}

void thread_pool::submit(detail::task job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            throw usage_error("vow::thread_pool::submit: the pool is shutting down");
        jobs_.push_back(std::move(job));
    }
    ready_.notify_one();
}

void thread_pool::work() {
    for (;;) {
        detail::task job;
        {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty())
                return;  // stopping, and every job has run
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        try {
            job.run_and_reset();
        } catch (const std::exception& e) {
            fmt::print(stderr, "vow: a thread_pool job threw {}\n", e.what());
        } catch (...) {
            fmt::print(stderr, "vow: a thread_pool job threw a non-std exception\n");
        }
    }
}

std::size_t thread_pool::default_size() noexcept {
    std::size_t n = configured_size.load();
    return n ? n : std::max<std::size_t>(2, std::thread::hardware_concurrency());
}

bool thread_pool::set_default_size(std::size_t threads) {
    if (default_created.load())
        return false;
    configured_size.store(std::max<std::size_t>(threads, 1));
    return true;
}

thread_pool& thread_pool::default_pool() {
    static thread_pool pool([] {
        default_created.store(true);
        return default_size();
    }());
    return pool;
}

}  // namespace vow
