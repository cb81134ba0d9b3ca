// bench/peers/loop_vow.cpp - vow's side of bench/run's loop part: what one
// iteration of a future loop costs, in time and in memory, set beside the
// same loops in Node.js (loop_node.js). Same command line and output as the
// micro programs (micro.hpp):
//
//   loop_vow [--div=K] [WORKLOAD...]      # default: every workload
//
// The workloads (N = 1M; the same N in loop_node.js):
//
//   then             N thens chained on a pending promise, resolved, run:
//                    the plain `then` step, as micro_vow's `then`
//   repeat_plain     vow::repeat, the body returns a stop_iteration
//   repeat_ready     vow::repeat, the body returns make_ready_future(r, no)
//   repeat_pending   vow::repeat, the body returns the future of a promise
//                    that a call_soon resolves: every iteration waits
//   recurse_ready    f(n) = make_ready_future(r).then([] { return f(n - 1); }):
//                    each level's handler returns the next level's pending
//                    future (Node's `Promise.resolve().then(() => loop(n - 1))`)
//   recurse_pending  the same, each level waiting on a promise resolved by a
//                    call_soon instead of a ready future
//   recurse_bytes, recurse_pending_bytes, repeat_bytes
//                    RSS growth per level (iteration) over N: the peak RSS
//                    (VmHWM, reset through /proc/self/clear_refs first)
//                    while the loop runs, less VmRSS before it, over N.
//                    Run each in a process of its own (bench/run does):
//                    memory freed by an earlier workload would hide growth.
//
// Every workload checks that the body ran N times (or the recursion went N
// levels deep) and exits 1 if not.
#include <vow/vow.hpp>

#include "micro.hpp"

#include <fstream>
#include <string>

namespace {

using vow::stop_iteration;

// One field of /proc/self/status, in bytes (the file says kB).
std::uint64_t status_bytes(const char* field) {
    std::ifstream in("/proc/self/status");
    const std::string key = std::string(field) + ":";
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(key))
            return std::stoull(line.substr(key.size())) * 1024;
    micro::fail("no such field in /proc/self/status");
}

// Resets VmHWM to the current VmRSS (Linux 4.0 and later), so the peak read
// after a workload is that workload's.
void reset_peak_rss() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    micro::check(static_cast<bool>(out), "write 5 to /proc/self/clear_refs (resets VmHWM)");
}

// Runs `work` (which returns the count it reached) and returns the peak RSS
// growth per item.
template <class F>
double rss_growth_per_item(std::uint64_t n, F work) {
    reset_peak_rss();
    const std::uint64_t before = status_bytes("VmRSS");
    const std::uint64_t reached = work(n);
    const std::uint64_t peak = status_bytes("VmHWM");
    micro::check(reached == n, "loop count");
    return (static_cast<double>(peak) - static_cast<double>(before)) / static_cast<double>(n);
}

template <class F>
double ns_per_item(std::uint64_t n, F work) {
    auto t0 = micro::clock_type::now();
    const std::uint64_t reached = work(n);
    const double s = micro::seconds_since(t0);
    micro::check(reached == n, "loop count");
    return s * 1e9 / static_cast<double>(n);
}

std::uint64_t then_chain(std::uint64_t n) {
    vow::reactor r;
    vow::promise<long> p(r);
    vow::future<long> f = p.get_future();
    for (std::uint64_t i = 0; i < n; ++i)
        f = std::move(f).then([](long x) { return x + 1; });
    p.resolve(0);
    return static_cast<std::uint64_t>(vow::run_until_complete(r, std::move(f)));
}

std::uint64_t repeat_plain(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t count = 0;
    vow::run_until_complete(r, vow::repeat(r, [&count, n] {
                                return ++count < n ? stop_iteration::no : stop_iteration::yes;
                            }));
    return count;
}

std::uint64_t repeat_ready(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t count = 0;
    vow::run_until_complete(r, vow::repeat(r, [&r, &count, n] {
                                return vow::make_ready_future(r, ++count < n ? stop_iteration::no
                                                                             : stop_iteration::yes);
                            }));
    return count;
}

// A future that a call_soon settles with `v`: ready on the next turn.
template <class T>
vow::future<T> soon(vow::reactor& r, T v) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    r.call_soon([p = std::move(p), v]() mutable { p.resolve(v); });
    return f;
}

vow::future<void> soon(vow::reactor& r) {
    vow::promise<void> p(r);
    auto f = p.get_future();
    r.call_soon([p = std::move(p)]() mutable { p.resolve(); });
    return f;
}

std::uint64_t repeat_pending(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t count = 0;
    vow::run_until_complete(r, vow::repeat(r, [&r, &count, n] {
                                return soon(r, ++count < n ? stop_iteration::no : stop_iteration::yes);
                            }));
    return count;
}

// f(n): each level's handler returns f(n - 1), pending when returned; the
// outermost future settles when the bottom does. Adoption moves the
// outermost consumer down at each level, so nothing is kept per level.
vow::future<void> recurse(vow::reactor& r, std::uint64_t n, std::uint64_t& levels) {
    if (n == 0)
        return vow::make_ready_future(r);
    return vow::make_ready_future(r).then([&r, n, &levels] {
        ++levels;
        return recurse(r, n - 1, levels);
    });
}

vow::future<void> recurse_on_promise(vow::reactor& r, std::uint64_t n, std::uint64_t& levels) {
    if (n == 0)
        return vow::make_ready_future(r);
    return soon(r).then([&r, n, &levels] {
        ++levels;
        return recurse_on_promise(r, n - 1, levels);
    });
}

std::uint64_t recurse_ready(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t levels = 0;
    vow::run_until_complete(r, recurse(r, n, levels));
    return levels;
}

std::uint64_t recurse_pending(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t levels = 0;
    vow::run_until_complete(r, recurse_on_promise(r, n, levels));
    return levels;
}

}  // namespace

int main(int argc, char** argv) {
    constexpr std::uint64_t n = 1'000'000;
    auto timed = [](std::uint64_t (*work)(std::uint64_t)) {
        return [work](std::uint64_t k) { return ns_per_item(k, work); };
    };
    auto rss = [](std::uint64_t (*work)(std::uint64_t)) {
        return [work](std::uint64_t k) { return rss_growth_per_item(k, work); };
    };
    return micro::main(argc, argv,
                       {
                           {"then", n, timed(then_chain)},
                           {"repeat_plain", n, timed(repeat_plain)},
                           {"repeat_ready", n, timed(repeat_ready)},
                           {"repeat_pending", n, timed(repeat_pending)},
                           {"recurse_ready", n, timed(recurse_ready)},
                           {"recurse_pending", n, timed(recurse_pending)},
                           {"recurse_bytes", n, rss(recurse_ready)},
                           {"recurse_pending_bytes", n, rss(recurse_pending)},
                           {"repeat_bytes", n, rss(repeat_pending)},
                       });
}
