// bench/peers/micro_libevent.cpp - raw libevent's side of the
// micro-benchmarks (workloads in micro.hpp): what a C program written
// directly on libevent does. No futures in libevent, so no then, all or
// future_bytes. chain and timers run on a base without locks
// (EVENT_BASE_FLAG_NOLOCK, libevent's best case); xthread needs the locks
// (evthread_use_pthreads) and posts with event_base_once.
#include <event2/event.h>
#include <event2/thread.h>

#include "micro.hpp"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace {

event_base* new_base(bool nolock) {
    event_config* cfg = event_config_new();
    if (nolock)
        event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    event_base* base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    micro::check(base != nullptr, "event_base_new");
    return base;
}

struct chain_state {
    event* ev;
    std::uint64_t n;
    std::uint64_t count;
};

void chain_cb(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<chain_state*>(arg);
    if (++c->count < c->n)
        event_active(c->ev, 0, 0);
}

double chain(std::uint64_t n) {
    event_base* base = new_base(true);
    chain_state c{nullptr, n, 0};
    c.ev = event_new(base, -1, 0, chain_cb, &c);
    auto t0 = micro::clock_type::now();
    event_active(c.ev, 0, 0);
    event_base_loop(base, 0);
    const double s = micro::seconds_since(t0);
    event_free(c.ev);
    event_base_free(base);
    micro::check(c.count == n, "chain count");
    return s * 1e9 / static_cast<double>(n);
}

void timer_cb(evutil_socket_t, short, void* arg) { ++*static_cast<std::uint64_t*>(arg); }

// The caller owns each struct event: one block of N, filled with
// event_assign (libevent's no-allocation way), made inside the timed region.
template <class Delay>
double timers_with(std::uint64_t n, Delay delay_ms) {
    event_base* base = new_base(true);
    const std::size_t size = event_get_struct_event_size();
    std::uint64_t fired = 0;
    auto t0 = micro::clock_type::now();
    std::unique_ptr<unsigned char[]> block(new unsigned char[size * n]);
    auto at = [&](std::uint64_t i) { return reinterpret_cast<event*>(block.get() + i * size); };
    for (std::uint64_t i = 0; i < n; ++i) {
        event_assign(at(i), base, -1, 0, timer_cb, &fired);
        const std::uint64_t ms = delay_ms(i);
        timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
        event_add(at(i), &tv);
    }
    for (std::uint64_t i = 1; i < n; i += 2)
        event_del(at(i));
    event_base_loop(base, 0);
    const double s = micro::seconds_since(t0);
    event_base_free(base);
    micro::check(fired == (n + 1) / 2, "timers fired");
    return s * 1e9 / static_cast<double>(n);
}

double timers(std::uint64_t n) {
    return timers_with(n, [](std::uint64_t i) { return i % 10; });
}

double timers_spread(std::uint64_t n) { return timers_with(n, micro::spread_delay_ms); }

struct xstate {
    event_base* base;
    std::uint64_t total;
    std::uint64_t count;
};

void post_cb(evutil_socket_t, short, void* arg) {
    auto* x = static_cast<xstate*>(arg);
    if (++x->count == x->total)
        event_base_loopbreak(x->base);
}

// `threads` posters, N/threads posts each; `pair` pins one poster and the loop.
double posts(std::uint64_t n, int threads, const micro::cpu_pair* pair) {
    static const int locks = evthread_use_pthreads();
    micro::check(locks == 0, "evthread_use_pthreads");
    const std::uint64_t per = n / static_cast<std::uint64_t>(threads);
    xstate x{new_base(false), per * static_cast<std::uint64_t>(threads), 0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            if (pair)
                pair->pin_poster();
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            const timeval zero{0, 0};
            for (std::uint64_t i = 0; i < per; ++i)
                event_base_once(x.base, -1, EV_TIMEOUT, post_cb, &x, &zero);
        });
    auto t0 = micro::clock_type::now();
    go.store(true, std::memory_order_release);
    event_base_loop(x.base, EVLOOP_NO_EXIT_ON_EMPTY);
    const double s = micro::seconds_since(t0);
    for (auto& t : ts)
        t.join();
    event_base_free(x.base);
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
