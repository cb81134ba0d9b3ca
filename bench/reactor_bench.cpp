// bench/reactor_bench.cpp - vow's reactor against raw libevent, side by side.
//
// Every workload has a vow version and the nearest raw libevent program, and
// both run in this one process, alternating (vow first on even repetitions,
// libevent first on odd ones), so that a noisy shared machine slows both
// alike and the ratio of their medians stays meaningful even when the
// absolute numbers wander. See bench/README.md for what each figure means.
//
//   reactor_bench            # full sizes, 7 repetitions
//   reactor_bench --quick    # a tenth of the sizes, 3 repetitions
//   reactor_bench --reps=11  # more repetitions
//
// Allocations are counted, not guessed: this program replaces the global
// operator new/delete, and gives libevent counting malloc/realloc/free with
// event_set_mem_functions() before anything else touches libevent.
#include "stats.hpp"

#include <vow/reactor/reactor.hpp>

#include <event2/event.h>
#include <event2/thread.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

// ------------------------------------------------------ allocation counting

namespace {

// Relaxed counters: they only need to be exact once the threads are joined.
std::atomic<std::uint64_t> cxx_allocs{0};
std::atomic<std::uint64_t> libevent_allocs{0};

void* counted_malloc(std::size_t n) {
    cxx_allocs.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}

void* counted_aligned(std::size_t n, std::align_val_t al) {
    cxx_allocs.fetch_add(1, std::memory_order_relaxed);
    void* p = nullptr;
    auto a = std::max(static_cast<std::size_t>(al), sizeof(void*));
    if (posix_memalign(&p, a, n ? n : 1) != 0)
        throw std::bad_alloc();
    return p;
}

void* libevent_malloc(std::size_t n) {
    libevent_allocs.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n);
}

// A realloc may move the block: count every one as an allocation.
void* libevent_realloc(void* p, std::size_t n) {
    libevent_allocs.fetch_add(1, std::memory_order_relaxed);
    return std::realloc(p, n);
}

void libevent_free(void* p) { std::free(p); }

}  // namespace

// The array and nothrow forms of libstdc++ forward to these.
void* operator new(std::size_t n) { return counted_malloc(n); }
void* operator new(std::size_t n, std::align_val_t al) { return counted_aligned(n, al); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

struct alloc_snapshot {
    std::uint64_t cxx = 0;
    std::uint64_t libevent = 0;

    static alloc_snapshot now() noexcept {
        return {cxx_allocs.load(std::memory_order_relaxed),
                libevent_allocs.load(std::memory_order_relaxed)};
    }
    std::uint64_t since(const alloc_snapshot& before) const noexcept {
        return (cxx - before.cxx) + (libevent - before.libevent);
    }
};

using bench_clock = std::chrono::steady_clock;

// One timed run of one workload.
struct sample {
    double seconds = 0;
    std::uint64_t ops = 0;
    std::uint64_t allocs = 0;   // operator new + libevent malloc/realloc, timed region only
    std::uint64_t wakeups = 0;  // cross-thread only: remote batches the loop received

    double ns_per_op() const { return seconds * 1e9 / static_cast<double>(ops); }
};

// Throws if a workload did not run every callback: a fast wrong answer is
// worse than none.
void expect_count(std::string_view what, std::uint64_t got, std::uint64_t want) {
    if (got != want)
        throw std::runtime_error(fmt::format("{}: ran {} callbacks, expected {}", what, got, want));
}

void check_loop(int rc, std::string_view what) {
    if (rc < 0)
        throw std::runtime_error(fmt::format("{}: event_base_loop() failed", what));
}

event_base* new_base() {
    event_base* base = event_base_new();
    if (!base)
        throw std::runtime_error("event_base_new() failed");
    return base;
}

// A base that opts out of the process-wide locking. The "about 10 ns per
// callback" quoted for libevent is measured without locks; this is the
// fastest raw libevent chain, and the one vow's call_soon should still beat.
event_base* new_nolock_base() {
    event_base* base = nullptr;
    if (event_config* cfg = event_config_new()) {
        if (event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) == 0)
            base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!base)
        throw std::runtime_error("event_base_new_with_config(EVENT_BASE_FLAG_NOLOCK) failed");
    return base;
}

// ------------------------------------------- 1. raw libevent self-activation

struct raw_chain {
    event* ev = nullptr;
    std::uint64_t n = 0;
    std::uint64_t count = 0;
};

void raw_chain_cb(evutil_socket_t, short, void* arg) {
    auto* c = static_cast<raw_chain*>(arg);
    if (++c->count < c->n)
        event_active(c->ev, 0, 0);
}

sample raw_chain_on(event_base* base, std::uint64_t n) {
    raw_chain c;
    c.ev = event_new(base, -1, 0, &raw_chain_cb, &c);
    if (!c.ev)
        throw std::runtime_error("event_new() failed");

    // A short untimed chain first, so both sides are measured warm.
    c.n = 1000;
    event_active(c.ev, 0, 0);
    check_loop(event_base_loop(base, 0), "raw chain warm-up");

    c.n = n;
    c.count = 0;
    auto a0 = alloc_snapshot::now();
    auto t0 = bench_clock::now();
    event_active(c.ev, 0, 0);
    check_loop(event_base_loop(base, 0), "raw chain");
    auto t1 = bench_clock::now();
    auto a1 = alloc_snapshot::now();

    expect_count("raw chain", c.count, n);
    event_free(c.ev);
    event_base_free(base);
    return {std::chrono::duration<double>(t1 - t0).count(), n, a1.since(a0), 0};
}

sample raw_chain_run(std::uint64_t n) { return raw_chain_on(new_base(), n); }
sample raw_nolock_chain_run(std::uint64_t n) { return raw_chain_on(new_nolock_base(), n); }

// ------------------------------------------------------ 2. vow call_soon chain

struct vow_chain {
    vow::reactor* r = nullptr;
    std::uint64_t n = 0;
    std::uint64_t count = 0;
};

// Eight bytes: well inside the task's inline buffer.
struct vow_chain_step {
    vow_chain* c;
    void operator()() const {
        if (++c->count < c->n)
            c->r->call_soon(vow_chain_step{c});
    }
};

sample vow_chain_run(std::uint64_t n) {
    vow::reactor r;
    vow_chain c{&r, 1000, 0};
    r.call_soon(vow_chain_step{&c});
    r.run();  // warm-up: leaves the queue's spare block in place

    c.n = n;
    c.count = 0;
    auto a0 = alloc_snapshot::now();
    auto t0 = bench_clock::now();
    r.call_soon(vow_chain_step{&c});
    r.run();
    auto t1 = bench_clock::now();
    auto a1 = alloc_snapshot::now();

    expect_count("vow chain", c.count, n);
    return {std::chrono::duration<double>(t1 - t0).count(), n, a1.since(a0), 0};
}

// --------------------------------------------------------------- 3. fan-out

// Queues n callbacks before the loop runs. vow: n call_soon; libevent: n
// events created untimed, then n event_active. Timed: queueing plus running.

void raw_fan_cb(evutil_socket_t, short, void* arg) { ++*static_cast<std::uint64_t*>(arg); }

sample raw_fan_run(std::uint64_t n) {
    event_base* base = new_base();
    std::uint64_t count = 0;
    std::vector<event*> evs(n);
    for (auto& ev : evs)
        if (!(ev = event_new(base, -1, 0, &raw_fan_cb, &count)))
            throw std::runtime_error("event_new() failed");

    auto a0 = alloc_snapshot::now();
    auto t0 = bench_clock::now();
    for (event* ev : evs)
        event_active(ev, 0, 0);
    check_loop(event_base_loop(base, 0), "raw fan-out");
    auto t1 = bench_clock::now();
    auto a1 = alloc_snapshot::now();

    expect_count("raw fan-out", count, n);
    for (event* ev : evs)
        event_free(ev);
    event_base_free(base);
    return {std::chrono::duration<double>(t1 - t0).count(), n, a1.since(a0), 0};
}

sample vow_fan_run(std::uint64_t n) {
    vow::reactor r;
    std::uint64_t count = 0;
    r.call_soon([] {});
    r.run();  // warm-up, as for the chain

    auto a0 = alloc_snapshot::now();
    auto t0 = bench_clock::now();
    for (std::uint64_t i = 0; i < n; ++i)
        r.call_soon([&count] { ++count; });
    r.run();
    auto t1 = bench_clock::now();
    auto a1 = alloc_snapshot::now();

    expect_count("vow fan-out", count, n);
    return {std::chrono::duration<double>(t1 - t0).count(), n, a1.since(a0), 0};
}

// ------------------------------------------------------ 4. cross-thread posts

constexpr unsigned poster_threads = 4;

// Starts `poster_threads` threads that each call post() `per_thread` times
// once the start latch opens; returns them still running.
template <class Post>
std::vector<std::thread> start_posters(std::latch& start, std::uint64_t per_thread, Post post) {
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < poster_threads; ++t)
        threads.emplace_back([&start, per_thread, post] {
            start.arrive_and_wait();
            for (std::uint64_t i = 0; i < per_thread; ++i)
                post();
        });
    return threads;
}

struct vow_posts {
    vow::reactor* r = nullptr;
    std::uint64_t total = 0;
    std::uint64_t received = 0;
    // The reactor does not expose its wakeups, so they are inferred: a post
    // runs while still counted by queued(), so the next one sees one less
    // unless a new batch arrived in between. Each batch is one
    // event_active(remote_ev_) by a poster, the only wakeup the loop gets.
    std::uint64_t batches = 0;
    std::size_t last_queued = 0;
    std::optional<vow::reactor::work_guard> guard;
};

sample vow_posts_run(std::uint64_t per_thread) {
    vow::reactor r;
    vow_posts p;
    p.r = &r;
    p.total = per_thread * poster_threads;
    p.guard.emplace(r);

    std::latch start(poster_threads + 1);
    auto threads = start_posters(start, per_thread, [&p] {
        p.r->call_soon_threadsafe([s = &p] {
            std::size_t q = s->r->queued();
            if (s->received == 0 || q >= s->last_queued)
                ++s->batches;
            s->last_queued = q;
            if (++s->received == s->total)
                s->guard.reset();
        });
    });

    auto a0 = alloc_snapshot::now();
    auto t0 = bench_clock::now();
    start.arrive_and_wait();
    r.run();
    auto t1 = bench_clock::now();
    for (auto& t : threads)
        t.join();
    auto a1 = alloc_snapshot::now();

    expect_count("vow cross-thread", p.received, p.total);
    return {std::chrono::duration<double>(t1 - t0).count(), p.total, a1.since(a0), p.batches};
}

struct raw_posts {
    event_base* base = nullptr;
    std::uint64_t total = 0;
    std::uint64_t received = 0;
};

void raw_post_cb(evutil_socket_t, short, void* arg) {
    auto* p = static_cast<raw_posts*>(arg);
    if (++p->received == p->total)
        event_base_loopbreak(p->base);
}

// libevent's own idiom for "run this callback soon, from any thread":
// event_base_once() with a zero timeout activates at once, and allocates
// one small block per post.
sample raw_posts_run(std::uint64_t per_thread) {
    raw_posts p;
    p.base = new_base();
    p.total = per_thread * poster_threads;

    std::latch start(poster_threads + 1);
    auto threads = start_posters(start, per_thread, [&p] {
        timeval zero{0, 0};
        if (event_base_once(p.base, -1, EV_TIMEOUT, &raw_post_cb, &p, &zero) != 0)
            std::abort();
    });

    auto a0 = alloc_snapshot::now();
    auto t0 = bench_clock::now();
    start.arrive_and_wait();
    check_loop(event_base_loop(p.base, EVLOOP_NO_EXIT_ON_EMPTY), "raw cross-thread");
    auto t1 = bench_clock::now();
    for (auto& t : threads)
        t.join();
    auto a1 = alloc_snapshot::now();

    expect_count("raw cross-thread", p.received, p.total);
    event_base_free(p.base);
    return {std::chrono::duration<double>(t1 - t0).count(), p.total, a1.since(a0), 0};
}

// ------------------------------------------------------------------ report

using bench::stats;   // bench/stats.hpp

struct workload {
    std::string key;  // for --only
    std::string name;
    std::string vow_name;
    std::string raw_name;
    std::uint64_t size;  // argument to the run functions
    sample (*vow_run)(std::uint64_t);
    sample (*raw_run)(std::uint64_t);
    std::vector<sample> vow{};
    std::vector<sample> raw{};
    // The chain only: the same raw program on a NOLOCK base, as a third row.
    std::string nolock_name{};
    sample (*nolock_run)(std::uint64_t) = nullptr;
    std::vector<sample> nolock{};
};

stats ns_stats(const std::vector<sample>& s) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(x.ns_per_op());
    return stats::of(v);
}

stats field_stats(const std::vector<sample>& s, std::uint64_t sample::*field) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(static_cast<double>(x.*field));
    return stats::of(v);
}

void print_row(std::string_view impl, const std::vector<sample>& s) {
    stats ns = ns_stats(s);
    stats allocs = field_stats(s, &sample::allocs);
    double per_op = allocs.max / static_cast<double>(s.front().ops);
    fmt::print("  {:<30} {:>9} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>8.0f} {:>10.5f}\n", impl,
               s.front().ops, ns.median, ns.min, ns.max, 1e3 / ns.median, allocs.max, per_op);
}

struct options {
    bool quick = false;
    int reps = 7;
    std::string only;  // a workload's short name, or empty for all
};

options parse(int argc, char** argv) {
    options o;
    bool reps_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--quick") {
            o.quick = true;
        } else if (a.starts_with("--reps=")) {
            o.reps = std::atoi(argv[i] + 7);
            reps_given = true;
            if (o.reps < 1)
                throw std::invalid_argument("--reps needs a positive number");
        } else if (a.starts_with("--only=")) {
            o.only = a.substr(7);
        } else {
            throw std::invalid_argument(
                fmt::format("unknown argument '{}'\nusage: {} [--quick] [--reps=N] "
                            "[--only=chain|fan-out|cross-thread]",
                            a, argv[0]));
        }
    }
    if (o.quick && !reps_given)
        o.reps = 3;
    return o;
}

int run_benchmarks(const options& opt) {
    const std::uint64_t scale = opt.quick ? 10 : 1;
    std::vector<workload> work{
        {"chain", "chain: one callback re-queues itself", "vow call_soon", "libevent event_active",
         2'000'000 / scale, &vow_chain_run, &raw_chain_run, {}, {}, "libevent event_active (NOLOCK)",
         &raw_nolock_chain_run},
        {"fan-out", "fan-out: N queued, then run", "vow call_soon", "libevent event_active x N",
         1'000'000 / scale, &vow_fan_run, &raw_fan_run},
        {"cross-thread", "cross-thread: 4 threads post, loop runs", "vow call_soon_threadsafe",
         "libevent event_base_once(0s)", 250'000 / scale, &vow_posts_run, &raw_posts_run},
    };
    if (!opt.only.empty()) {
        std::erase_if(work, [&](const workload& w) { return w.key != opt.only; });
        if (work.empty())
            throw std::invalid_argument(fmt::format("--only: no workload named '{}'", opt.only));
    }

    // One small untimed round first: page faults, lazy binding, thread stacks.
    for (auto& w : work) {
        (void)w.vow_run(std::max<std::uint64_t>(w.size / 20, 1));
        (void)w.raw_run(std::max<std::uint64_t>(w.size / 20, 1));
        if (w.nolock_run)
            (void)w.nolock_run(std::max<std::uint64_t>(w.size / 20, 1));
    }

    // Progress only on a terminal: in a log it would interleave with the table.
    const bool progress = isatty(STDERR_FILENO) != 0;
    for (int rep = 0; rep < opt.reps; ++rep) {
        if (progress)
            fmt::print(stderr, "\rrepetition {}/{}", rep + 1, opt.reps);
        for (auto& w : work) {
            if (rep % 2 == 0) {
                w.vow.push_back(w.vow_run(w.size));
                w.raw.push_back(w.raw_run(w.size));
                if (w.nolock_run)
                    w.nolock.push_back(w.nolock_run(w.size));
            } else {
                if (w.nolock_run)
                    w.nolock.push_back(w.nolock_run(w.size));
                w.raw.push_back(w.raw_run(w.size));
                w.vow.push_back(w.vow_run(w.size));
            }
        }
    }
    if (progress)
        fmt::print(stderr, "\r{:30}\r", "");

    fmt::print("vow reactor benchmark: {} repetitions, vow and raw libevent alternating{}\n",
               opt.reps, opt.quick ? " (--quick)" : "");
    fmt::print("ns/op: median, min, max over repetitions; Mop/s from the median; allocs: "
               "operator new + libevent malloc in the timed region, worst repetition\n\n");
    fmt::print("  {:<30} {:>9} {:>9} {:>9} {:>9} {:>9} {:>8} {:>10}\n", "", "ops", "median",
               "min", "max", "Mop/s", "allocs", "allocs/op");

    std::optional<double> chain_ratio;
    std::optional<double> chain_nolock_ratio;
    for (auto& w : work) {
        fmt::print("{}\n", w.name);
        print_row(w.vow_name, w.vow);
        print_row(w.raw_name, w.raw);
        if (w.nolock_run)
            print_row(w.nolock_name, w.nolock);
        double ratio = ns_stats(w.vow).median / ns_stats(w.raw).median;
        fmt::print("  {:<30} {:>9.2f}  (ratio of median ns/op; below 1 means vow is faster)\n",
                   "vow / libevent", ratio);
        if (w.nolock_run) {
            chain_nolock_ratio = ns_stats(w.vow).median / ns_stats(w.nolock).median;
            fmt::print("  {:<30} {:>9.2f}  (the same, against the NOLOCK base)\n", "vow / libevent NOLOCK",
                       *chain_nolock_ratio);
        }
        if (w.vow.front().wakeups != 0) {
            stats wk = field_stats(w.vow, &sample::wakeups);
            fmt::print("  {:<30} {:>9.0f}  (median; min {:.0f}, max {:.0f}; {:.0f} posts per wakeup)\n",
                       "vow wakeups (remote batches)", wk.median, wk.min, wk.max,
                       static_cast<double>(w.vow.front().ops) / wk.median);
        }
        if (w.key == "chain")
            chain_ratio = ratio;
        fmt::print("\n");
    }

    if (chain_ratio) {
        const auto& chain = work.front().vow;
        stats chain_allocs = field_stats(chain, &sample::allocs);
        fmt::print("call_soon chain allocations: {:.0f} in {} callbacks ({:.6f} per callback, goal 0)\n",
                   chain_allocs.max, chain.front().ops,
                   chain_allocs.max / static_cast<double>(chain.front().ops));
        fmt::print("call_soon/raw libevent ratio: {:.2f} (goal <= 1.0)\n", *chain_ratio);
    }
    if (chain_nolock_ratio)
        fmt::print("call_soon/raw libevent NOLOCK ratio: {:.2f} (goal <= 1.0)\n", *chain_nolock_ratio);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Before any other libevent call, or libevent's allocations go uncounted.
    event_set_mem_functions(&libevent_malloc, &libevent_realloc, &libevent_free);
    try {
        options opt = parse(argc, argv);
        // The first vow::reactor turns on libevent's pthread locking for the
        // whole process; creating one now puts the raw bases in the same
        // locking mode as vow's, so both sides pay for the same locks.
        { vow::reactor enable_threads; }
        return run_benchmarks(opt);
    } catch (const std::exception& e) {
        fmt::print(stderr, "reactor_bench: {}\n", e.what());
        return 1;
    }
}
