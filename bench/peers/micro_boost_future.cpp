// bench/peers/micro_boost_future.cpp - boost::future (Boost.Thread, with
// .then) on the promise workloads of the micro-benchmarks (micro.hpp):
// then, all (boost::when_all) and future_bytes. No event loop, so no chain,
// timers or xthread.
//
// Continuations use boost::launch::sync: each runs in the thread that makes
// its antecedent ready, which is the closest Boost.Thread gets to a loop's
// "run the continuation next". The default policy (launch::async) starts a
// thread per continuation, and launch::deferred runs the chain on get().
// With launch::sync a resolve runs the whole chain recursively, one stack
// frame set per step, so the chain is kept at 10,000 steps (deeper ones
// overflow an 8 MB stack); the figure is per step.
#define BOOST_THREAD_VERSION 4
#define BOOST_THREAD_PROVIDES_FUTURE_CONTINUATION
#define BOOST_THREAD_PROVIDES_FUTURE_WHEN_ALL_WHEN_ANY

#include <boost/thread/future.hpp>

#include "micro.hpp"

namespace {

double then_chain(std::uint64_t n) {
    auto t0 = micro::clock_type::now();
    boost::promise<long> p;
    boost::future<long> f = p.get_future();
    for (std::uint64_t i = 0; i < n; ++i)
        f = f.then(boost::launch::sync, [](boost::future<long> x) { return x.get() + 1; });
    p.set_value(0);
    const long v = f.get();
    const double s = micro::seconds_since(t0);
    micro::check(static_cast<std::uint64_t>(v) == n, "then result");
    return s * 1e9 / static_cast<double>(n);
}

// boost::when_all over a range waits for its inputs on a thread of its own
// (Boost.Thread's implementation), and gives back the futures themselves.
double all(std::uint64_t n) {
    auto t0 = micro::clock_type::now();
    std::vector<boost::promise<int>> ps(n);
    std::vector<boost::future<int>> fs;
    fs.reserve(n);
    for (auto& p : ps)
        fs.push_back(p.get_future());
    auto a = boost::when_all(fs.begin(), fs.end());
    for (std::uint64_t i = 0; i < n; ++i)
        ps[i].set_value(static_cast<int>(i));
    std::vector<boost::future<int>> done = a.get();
    const double s = micro::seconds_since(t0);
    micro::check(done.size() == n && (n == 0 || done.back().get() == static_cast<int>(n - 1)),
                 "all result");
    return s * 1e9 / static_cast<double>(n);
}

double future_bytes(std::uint64_t n) {
    std::vector<boost::promise<long>> ps;
    std::vector<boost::future<long>> fs;
    ps.reserve(n);
    fs.reserve(n);
    const std::size_t before = micro::heap_in_use();
    for (std::uint64_t i = 0; i < n; ++i) {
        ps.emplace_back();
        fs.push_back(ps.back().get_future());
    }
    const std::size_t after = micro::heap_in_use();
    return static_cast<double>(after - before) / static_cast<double>(n);
}

}  // namespace

int main(int argc, char** argv) {
    return micro::main(argc, argv,
                       {
                           {"then", 10'000, then_chain},
                           {"all", 100'000, all},
                           {"future_bytes", 100'000, future_bytes},
                       });
}
