// bench/peers/micro_vow.cpp - vow's side of the micro-benchmarks that
// bench/run sets beside libevent, Boost.Asio, boost::future, libuv, Node.js
// and asyncio/uvloop: every workload of the programs in
// bench/peers/ (see micro.hpp), on one vow::reactor.
#include <vow/promise/detail/node_pool.hpp>
#include <vow/vow.hpp>

#include "micro.hpp"

#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct chainer {
    vow::reactor* r;
    std::uint64_t* count;
    std::uint64_t n;
    void operator()() const {
        if (++*count < n)
            r->call_soon(*this);
    }
};

double chain(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t count = 0;
    auto t0 = micro::clock_type::now();
    r.call_soon(chainer{&r, &count, n});
    r.run();
    const double s = micro::seconds_since(t0);
    micro::check(count == n, "chain count");
    return s * 1e9 / static_cast<double>(n);
}

double then_chain(std::uint64_t n) {
    vow::reactor r;
    auto t0 = micro::clock_type::now();
    vow::promise<long> p(r);
    vow::future<long> f = p.get_future();
    for (std::uint64_t i = 0; i < n; ++i)
        f = std::move(f).then([](long x) { return x + 1; });
    p.resolve(0);
    const long v = vow::run_until_complete(r, std::move(f));
    const double s = micro::seconds_since(t0);
    micro::check(static_cast<std::uint64_t>(v) == n, "then result");
    return s * 1e9 / static_cast<double>(n);
}

double all(std::uint64_t n) {
    vow::reactor r;
    auto t0 = micro::clock_type::now();
    std::vector<vow::promise<int>> ps;
    std::vector<vow::future<int>> fs;
    ps.reserve(n);
    fs.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        ps.emplace_back(r);
        fs.push_back(ps.back().get_future());
    }
    auto a = vow::all(std::move(fs));
    for (std::uint64_t i = 0; i < n; ++i)
        ps[i].resolve(static_cast<int>(i));
    std::vector<int> v = vow::run_until_complete(r, std::move(a));
    const double s = micro::seconds_since(t0);
    micro::check(v.size() == n && (n == 0 || v.back() == static_cast<int>(n - 1)), "all result");
    return s * 1e9 / static_cast<double>(n);
}

template <class Delay>
double timers_with(std::uint64_t n, Delay delay_ms) {
    vow::reactor r;
    std::vector<vow::handle> hs;
    hs.reserve(n);
    std::uint64_t fired = 0;
    auto t0 = micro::clock_type::now();
    for (std::uint64_t i = 0; i < n; ++i)
        hs.push_back(r.call_later(std::chrono::milliseconds(delay_ms(i)), [&fired] { ++fired; }));
    for (std::uint64_t i = 1; i < n; i += 2)
        hs[i].cancel();
    r.run();
    const double s = micro::seconds_since(t0);
    micro::check(fired == (n + 1) / 2, "timers fired");
    return s * 1e9 / static_cast<double>(n);
}

double timers(std::uint64_t n) {
    return timers_with(n, [](std::uint64_t i) { return i % 10; });
}

double timers_spread(std::uint64_t n) { return timers_with(n, micro::spread_delay_ms); }

// `threads` posters, N/threads posts each; `pair` pins one poster and the loop.
double posts(std::uint64_t n, int threads, const micro::cpu_pair* pair) {
    const std::uint64_t per = n / static_cast<std::uint64_t>(threads);
    const std::uint64_t total = per * static_cast<std::uint64_t>(threads);
    vow::reactor r;
    std::uint64_t count = 0;
    std::atomic<bool> go{false};
    std::optional<vow::reactor::work_guard> guard(std::in_place, r);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            if (pair)
                pair->pin_poster();
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            for (std::uint64_t i = 0; i < per; ++i)
                r.call_soon_threadsafe([&] {
                    if (++count == total)
                        guard.reset();
                });
        });
    auto t0 = micro::clock_type::now();
    go.store(true, std::memory_order_release);
    r.run();
    const double s = micro::seconds_since(t0);
    for (auto& t : ts)
        t.join();
    micro::check(count == total, "xthread count");
    return s * 1e9 / static_cast<double>(total);
}

double xthread(std::uint64_t n) { return posts(n, 4, nullptr); }

double xthread_one(std::uint64_t n) {
    micro::cpu_pair pair;
    return posts(n, 1, &pair);
}

double future_bytes(std::uint64_t n) {
    vow::reactor r;
    std::vector<vow::promise<long>> ps;
    std::vector<vow::future<long>> fs;
    ps.reserve(n);
    fs.reserve(n);
    // States live in vow's pool (node_pool.hpp), which malloc does not see:
    // its blocks are counted at their size (no header; 8-byte classes).
    constexpr std::size_t state_block = (sizeof(vow::detail::state<long>) + 7) / 8 * 8;
    const std::size_t before = micro::heap_in_use();
    const std::size_t pool_before = vow::detail::node_pool::get_stats().blocks_out;
    for (std::uint64_t i = 0; i < n; ++i) {
        ps.emplace_back(r);
        fs.push_back(ps.back().get_future());
    }
    const std::size_t after = micro::heap_in_use();
    const std::size_t pool_after = vow::detail::node_pool::get_stats().blocks_out;
    for (auto& p : ps)  // a promise dropped unresolved would be reported as broken
        p.resolve(0);
    const std::size_t pool_bytes = (pool_after - pool_before) * state_block;
    return static_cast<double>(after - before + pool_bytes) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
    return micro::main(argc, argv,
                       {
                           {"chain", 1'000'000, chain},
                           {"then", 1'000'000, then_chain},
                           {"all", 100'000, all},
                           {"timers", 1'000'000, timers},
                           {"timers_spread", 1'000'000, timers_spread},
                           {"xthread", 1'000'000, xthread},
                           {"xthread_one", 1'000'000, xthread_one},
                           {"future_bytes", 100'000, future_bytes},
                       });
}
