// bench/peers/micro_asio.cpp - Boost.Asio's side of the micro-benchmarks
// (workloads in micro.hpp): post chains, steady_timer and posts from other
// threads on one io_context. Asio has no continuation futures (use_future
// gives a std::future), so no then, all or future_bytes.
#include <utility>  // Boost 1.74's Asio uses std::exchange without including it (g++ 12, C++20)

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "micro.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;

struct chainer {
    asio::io_context* io;
    std::uint64_t* count;
    std::uint64_t n;
    void operator()() const {
        if (++*count < n)
            asio::post(*io, *this);
    }
};

double chain(std::uint64_t n) {
    asio::io_context io(1);  // concurrency hint 1: one thread runs it
    std::uint64_t count = 0;
    auto t0 = micro::clock_type::now();
    asio::post(io, chainer{&io, &count, n});
    io.run();
    const double s = micro::seconds_since(t0);
    micro::check(count == n, "chain count");
    return s * 1e9 / static_cast<double>(n);
}

// A cancelled asio timer still calls its handler, with operation_aborted;
// only the successful ones are counted as fired.
template <class Delay>
double timers_with(std::uint64_t n, Delay delay_ms) {
    asio::io_context io(1);
    std::uint64_t fired = 0;
    std::vector<std::optional<asio::steady_timer>> ts(n);
    auto t0 = micro::clock_type::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        ts[i].emplace(io, std::chrono::milliseconds(delay_ms(i)));
        ts[i]->async_wait([&fired](const boost::system::error_code& ec) {
            if (!ec)
                ++fired;
        });
    }
    for (std::uint64_t i = 1; i < n; i += 2)
        ts[i]->cancel();
    io.run();
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
    asio::io_context io(1);
    std::uint64_t count = 0;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard(
        asio::make_work_guard(io));
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
        ts.emplace_back([&] {
            if (pair)
                pair->pin_poster();
            while (!go.load(std::memory_order_acquire))
                std::this_thread::yield();
            for (std::uint64_t i = 0; i < per; ++i)
                asio::post(io, [&] {
                    if (++count == total)
                        guard.reset();
                });
        });
    auto t0 = micro::clock_type::now();
    go.store(true, std::memory_order_release);
    io.run();
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
