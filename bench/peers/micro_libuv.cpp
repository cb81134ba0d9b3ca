// bench/peers/micro_libuv.cpp - libuv's side of the micro-benchmarks
// (workloads in micro.hpp). libuv has no "run this soon" queue: the chain
// uses a uv_idle_t, whose callback runs once per loop iteration (the loop
// polls without blocking while it is active), which is how a libuv program
// yields to the loop. Timers are caller-owned uv_timer_t (one block of N);
// cross-thread posts go through a mutex-protected queue and uv_async_send,
// libuv's one thread-safe call (wakeups coalesce). No futures: no then, all
// or future_bytes.
#include <uv.h>

#include "micro.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace {

struct chain_state {
    std::uint64_t n;
    std::uint64_t count;
};

double chain(std::uint64_t n) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    chain_state c{n, 0};
    uv_idle_t idle;
    uv_idle_init(&loop, &idle);
    idle.data = &c;
    auto t0 = micro::clock_type::now();
    uv_idle_start(&idle, [](uv_idle_t* h) {
        auto* s = static_cast<chain_state*>(h->data);
        if (++s->count >= s->n)
            uv_idle_stop(h);
    });
    uv_run(&loop, UV_RUN_DEFAULT);
    const double s = micro::seconds_since(t0);
    uv_close(reinterpret_cast<uv_handle_t*>(&idle), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    micro::check(c.count == n, "chain count");
    return s * 1e9 / static_cast<double>(n);
}

template <class Delay>
double timers_with(std::uint64_t n, Delay delay_ms) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    std::uint64_t fired = 0;
    std::vector<uv_timer_t> ts(n);
    auto t0 = micro::clock_type::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        uv_timer_init(&loop, &ts[i]);
        ts[i].data = &fired;
        uv_timer_start(&ts[i], [](uv_timer_t* t) { ++*static_cast<std::uint64_t*>(t->data); },
                       delay_ms(i), 0);
    }
    for (std::uint64_t i = 1; i < n; i += 2)
        uv_timer_stop(&ts[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    const double s = micro::seconds_since(t0);
    // A stopped timer is an inactive handle, but still a handle: close all.
    for (auto& t : ts)
        uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    micro::check(fired == (n + 1) / 2, "timers fired");
    return s * 1e9 / static_cast<double>(n);
}

double timers(std::uint64_t n) {
    return timers_with(n, [](std::uint64_t i) { return i % 10; });
}

double timers_spread(std::uint64_t n) { return timers_with(n, micro::spread_delay_ms); }

// A posted callback, the C way: a function and its argument.
struct posted {
    void (*fn)(void*);
    void* arg;
};

struct xstate {
    std::mutex mu;
    std::vector<posted> queue;
    std::vector<posted> batch;
    std::uint64_t total = 0;
    std::uint64_t count = 0;
};

// `threads` posters, N/threads posts each; `pair` pins one poster and the loop.
double posts(std::uint64_t n, int threads, const micro::cpu_pair* pair) {
    const std::uint64_t per = n / static_cast<std::uint64_t>(threads);
    uv_loop_t loop;
    uv_loop_init(&loop);
    xstate x;
    x.total = per * static_cast<std::uint64_t>(threads);
    uv_async_t async;
    async.data = &x;
    uv_async_init(&loop, &async, [](uv_async_t* h) {
        auto* s = static_cast<xstate*>(h->data);
        {
            std::lock_guard lock(s->mu);
            s->batch.swap(s->queue);
        }
        for (const posted& p : s->batch)
            p.fn(p.arg);
        s->batch.clear();
        if (s->count == s->total)
            uv_stop(h->loop);  // closed once the posters are joined
    });
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            if (pair)
                pair->pin_poster();
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            for (std::uint64_t i = 0; i < per; ++i) {
                {
                    std::lock_guard lock(x.mu);
                    x.queue.push_back({[](void* c) { ++*static_cast<std::uint64_t*>(c); },
                                       &x.count});
                }
                uv_async_send(&async);
            }
        });
    auto t0 = micro::clock_type::now();
    go.store(true, std::memory_order_release);
    uv_run(&loop, UV_RUN_DEFAULT);
    const double s = micro::seconds_since(t0);
    for (auto& t : ts)
        t.join();
    uv_close(reinterpret_cast<uv_handle_t*>(&async), nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    micro::check(x.count == x.total, "xthread count");
    return s * 1e9 / static_cast<double>(x.total);
}

double xthread(std::uint64_t n) { return posts(n, 4, nullptr); }

double xthread_one(std::uint64_t n) {
    micro::cpu_pair pair;
    return posts(n, 1, &pair);
}

}  // namespace

int main(int argc, char** argv) {
    return micro::main(argc, argv,
                       {
                           {"chain", 1'000'000, chain},
                           {"timers", 1'000'000, timers},
                           {"timers_spread", 1'000'000, timers_spread},
                           {"xthread", 1'000'000, xthread},
                           {"xthread_one", 1'000'000, xthread_one},
                       });
}
