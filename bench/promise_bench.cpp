// bench/promise_bench.cpp - what one `then` costs, against the raw libevent
// callback it is built on, side by side.
//
// The main workload is a chain of N (2M) `then`s built on a pending promise,
// then resolved and run to completion: the shape of a Node.js `.then` chain.
// Beside it, in this same process and alternating with it, run the chains a
// `then` step is measured against: libevent's self-activating event (on a
// base with locking, as vow's, and on one without), and vow's own
// `call_soon` chain. If `node` is on PATH, bench/then_chain.js runs the same
// chain in Node.js once per repetition. See bench/README.md for what each
// figure means.
//
//   promise_bench              # N = 2M, 7 repetitions
//   promise_bench --quick      # N / 10, 3 repetitions
//   promise_bench --reps=11    # more repetitions
//   promise_bench --steps=N    # another chain length (e.g. small, under callgrind)
//   promise_bench --no-node    # skip the Node.js column
//
// Allocations are counted, not guessed: this program replaces the global
// operator new/delete (calls and bytes), and gives libevent counting
// malloc/realloc/free with event_set_mem_functions() before anything else
// touches libevent.
#include "stats.hpp"

#include <vow/promise/detail/node_pool.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/run_until_complete.hpp>
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
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VOW_BENCH_THEN_CHAIN_JS
#define VOW_BENCH_THEN_CHAIN_JS "bench/then_chain.js"
#endif

// ------------------------------------------------------ allocation counting

namespace {

// Relaxed counters: this program runs everything on one thread.
std::atomic<std::uint64_t> new_calls{0};
std::atomic<std::uint64_t> new_bytes{0};
std::atomic<std::uint64_t> delete_calls{0};
std::atomic<std::uint64_t> libevent_allocs{0};
std::atomic<std::uint64_t> libevent_bytes{0};

void count_new(std::size_t n) noexcept {
    new_calls.fetch_add(1, std::memory_order_relaxed);
    new_bytes.fetch_add(n, std::memory_order_relaxed);
}

void* counted_malloc(std::size_t n) {
    count_new(n);
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}

void* counted_aligned(std::size_t n, std::align_val_t al) {
    count_new(n);
    void* p = nullptr;
    auto a = std::max(static_cast<std::size_t>(al), sizeof(void*));
    if (posix_memalign(&p, a, n ? n : 1) != 0)
        throw std::bad_alloc();
    return p;
}

void counted_free(void* p) noexcept {
    if (p)
        delete_calls.fetch_add(1, std::memory_order_relaxed);
    std::free(p);
}

void* libevent_malloc(std::size_t n) {
    libevent_allocs.fetch_add(1, std::memory_order_relaxed);
    libevent_bytes.fetch_add(n, std::memory_order_relaxed);
    return std::malloc(n);
}

// A realloc may move the block: count every one as an allocation.
void* libevent_realloc(void* p, std::size_t n) {
    libevent_allocs.fetch_add(1, std::memory_order_relaxed);
    libevent_bytes.fetch_add(n, std::memory_order_relaxed);
    return std::realloc(p, n);
}

void libevent_free(void* p) { std::free(p); }

}  // namespace

// The array and nothrow forms of libstdc++ forward to these.
void* operator new(std::size_t n) { return counted_malloc(n); }
void* operator new(std::size_t n, std::align_val_t al) { return counted_aligned(n, al); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, std::align_val_t) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { counted_free(p); }

namespace {

using bench_clock = std::chrono::steady_clock;

// The size of the promise layer's pool block that holds one then node (set
// in main): states and nodes come from vow's pool (node_pool.hpp), not from
// operator new, so they are counted as the pool's blocks of that size.
std::uint64_t pool_block_bytes = 0;

// Counters at one moment: allocations, bytes, frees, minor page faults.
struct snapshot {
    std::uint64_t allocs = 0;  // operator new + libevent malloc/realloc
    std::uint64_t bytes = 0;   // bytes asked for by those calls
    std::uint64_t frees = 0;   // operator delete (libevent's frees are not counted)
    std::uint64_t faults = 0;  // minor page faults of the process
    std::uint64_t pool_out = 0;  // vow's pool: blocks handed out (to callers or thread caches)
    std::uint64_t segments = 0;  // vow's pool: 2 MiB segments mapped
    double cpu = 0;              // CPU seconds of the process (user + system)
    bench_clock::time_point t;

    static double cpu_now() noexcept {
        timespec ts{};
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
    }

    static snapshot now() noexcept {
        rusage ru{};
        getrusage(RUSAGE_SELF, &ru);
        auto pool = vow::detail::node_pool::get_stats();
        snapshot s;
        s.allocs = new_calls.load(std::memory_order_relaxed) + libevent_allocs.load(std::memory_order_relaxed);
        s.bytes = new_bytes.load(std::memory_order_relaxed) + libevent_bytes.load(std::memory_order_relaxed);
        s.frees = delete_calls.load(std::memory_order_relaxed);
        s.faults = static_cast<std::uint64_t>(ru.ru_minflt);
        s.pool_out = pool.blocks_out;
        s.segments = pool.segments;
        s.cpu = cpu_now();
        s.t = bench_clock::now();  // last, so the syscall above is not timed
        return s;
    }
};

// One timed phase of one run: what happened between two snapshots. A pool
// block taken counts as an allocation of pool_block_bytes, one given back
// as a free (the pool moves them in batches: counts are exact to a batch).
struct phase {
    double seconds = 0;
    double cpu = 0;  // CPU seconds: wall time less the time others ran on this core
    std::uint64_t allocs = 0, bytes = 0, frees = 0, faults = 0, segments = 0;

    // `b` comes from snapshot_end(), so the clock stops before getrusage.
    static phase between(const snapshot& a, const snapshot& b) noexcept {
        std::uint64_t taken = b.pool_out > a.pool_out ? b.pool_out - a.pool_out : 0;
        std::uint64_t given = a.pool_out > b.pool_out ? a.pool_out - b.pool_out : 0;
        return {std::chrono::duration<double>(b.t - a.t).count(),
                b.cpu - a.cpu,
                b.allocs - a.allocs + taken,
                b.bytes - a.bytes + taken * pool_block_bytes,
                b.frees - a.frees + given,
                b.faults - a.faults,
                b.segments > a.segments ? b.segments - a.segments : 0};
    }
    phase& operator+=(const phase& o) noexcept {
        seconds += o.seconds;
        cpu += o.cpu;
        allocs += o.allocs;
        bytes += o.bytes;
        frees += o.frees;
        faults += o.faults;
        segments += o.segments;
        return *this;
    }
};

// Stops the clocks before reading the other counters.
snapshot snapshot_end() noexcept {
    auto t = bench_clock::now();
    double cpu = snapshot::cpu_now();
    snapshot s = snapshot::now();
    s.t = t;
    s.cpu = cpu;
    return s;
}

// One timed run of one workload. Single-phase workloads (the raw chains)
// leave `build` empty.
struct sample {
    std::uint64_t steps = 0;
    phase build;
    phase run;
    bool counted = true;  // false for Node.js: no allocation counts
    double heap_per_then = -1;  // Node.js only: live heap bytes per pending then

    phase total() const noexcept {
        phase t = build;
        t += run;
        return t;
    }
};

// Throws if a workload did not run every step: a fast wrong answer is worse
// than none.
void expect_count(std::string_view what, std::uint64_t got, std::uint64_t want) {
    if (got != want)
        throw std::runtime_error(fmt::format("{}: counted {} steps, expected {}", what, got, want));
}

void check_loop(int rc, std::string_view what) {
    if (rc < 0)
        throw std::runtime_error(fmt::format("{}: event_base_loop() failed", what));
}

// ------------------------------------------------------ 1. vow then chains

// One lambda variable, so that the node it lives in can be named below.
constexpr auto add_one = [](long x) { return x + 1; };
using add_one_node = vow::detail::then_node<long, std::decay_t<decltype(add_one)>, long>;

// Builds `f = std::move(f).then(add_one)` n times on a pending promise (or
// on a ready future), then resolves and runs the chain to completion.
sample then_chain_once(vow::reactor& r, std::uint64_t n, bool ready) {
    // The source is made before the clock starts, so the build phase holds
    // exactly the n thens.
    std::optional<vow::promise<long>> p;
    vow::future<long> f;
    if (ready) {
        f = vow::make_ready_future(r, 0L);
    } else {
        p.emplace(r);
        f = p->get_future();
    }

    sample s;
    s.steps = n;
    snapshot a = snapshot::now();
    for (std::uint64_t i = 0; i < n; ++i)
        f = std::move(f).then(add_one);
    snapshot b = snapshot_end();

    snapshot c = snapshot::now();
    if (p)
        p->resolve(0);
    long v = vow::run_until_complete(r, std::move(f));
    snapshot d = snapshot_end();

    expect_count(ready ? "then chain (ready)" : "then chain", static_cast<std::uint64_t>(v), n);
    s.build = phase::between(a, b);
    s.run = phase::between(c, d);
    return s;
}

sample then_pending_run(std::uint64_t n) {
    vow::reactor r;
    (void)then_chain_once(r, 1000, false);  // warm-up: leaves the queue's spare block in place
    return then_chain_once(r, n, false);
}

sample then_ready_run(std::uint64_t n) {
    vow::reactor r;
    (void)then_chain_once(r, 1000, true);
    return then_chain_once(r, n, true);
}

// ------------------------------------------- 2. raw libevent self-activation

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

// A base in the process's locking mode (pthread locks, since the first
// vow::reactor turned them on), or one that opts out with NOLOCK.
event_base* new_base(bool nolock) {
    event_base* base = nullptr;
    if (!nolock) {
        base = event_base_new();
    } else if (event_config* cfg = event_config_new()) {
        if (event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) == 0)
            base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!base)
        throw std::runtime_error(nolock ? "event_base_new_with_config(NOLOCK) failed" : "event_base_new() failed");
    return base;
}

sample raw_chain_run(std::uint64_t n, bool nolock) {
    event_base* base = new_base(nolock);
    raw_chain c;
    c.ev = event_new(base, -1, 0, &raw_chain_cb, &c);
    if (!c.ev)
        throw std::runtime_error("event_new() failed");

    // A short untimed chain first, so every side is measured warm.
    c.n = 1000;
    event_active(c.ev, 0, 0);
    check_loop(event_base_loop(base, 0), "raw chain warm-up");

    c.n = n;
    c.count = 0;
    snapshot a = snapshot::now();
    event_active(c.ev, 0, 0);
    check_loop(event_base_loop(base, 0), "raw chain");
    snapshot b = snapshot_end();

    expect_count("raw chain", c.count, n);
    event_free(c.ev);
    event_base_free(base);
    sample s;
    s.steps = n;
    s.run = phase::between(a, b);
    return s;
}

sample raw_locked_run(std::uint64_t n) { return raw_chain_run(n, false); }
sample raw_nolock_run(std::uint64_t n) { return raw_chain_run(n, true); }

// ------------------------------------------------------ 3. vow call_soon chain

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

sample call_soon_run(std::uint64_t n) {
    vow::reactor r;
    vow_chain c{&r, 1000, 0};
    r.call_soon(vow_chain_step{&c});
    r.run();  // warm-up

    c.n = n;
    c.count = 0;
    snapshot a = snapshot::now();
    r.call_soon(vow_chain_step{&c});
    r.run();
    snapshot b = snapshot_end();

    expect_count("vow chain", c.count, n);
    sample s;
    s.steps = n;
    s.run = phase::between(a, b);
    return s;
}

// ------------------------------------ 4. vow then chain on fresh memory

std::string shell_quote(std::string_view s);

// The path of this program, to run it again as a child.
std::string self_path;

// The child's side (--fresh-child=N): one pending then chain of N steps on a
// fresh reactor, after the same 1000-step warm-up as the in-process runs,
// in a process whose heap has never held a chain: every node lands on a
// page the kernel has to fault in, as every Node.js run does. Prints
//   seconds cpu allocs bytes frees faults segments, for build, then for run
int fresh_child(std::uint64_t n) {
    sample s = then_pending_run(n);
    for (const phase& p : {s.build, s.run})
        fmt::print("{:.9f} {:.9f} {} {} {} {} {} ", p.seconds, p.cpu, p.allocs, p.bytes, p.frees, p.faults, p.segments);
    fmt::print("\n");
    return 0;
}

// Runs this program as a child with --fresh-child=N and reads its line.
sample fresh_run(std::uint64_t n) {
    std::string cmd = fmt::format("{} --fresh-child={}", shell_quote(self_path), n);
    FILE* out = popen(cmd.c_str(), "r");
    if (!out)
        throw std::runtime_error("popen(fresh child) failed");
    char line[512] = {};
    bool got = std::fgets(line, sizeof line, out) != nullptr;
    int status = pclose(out);
    sample s;
    s.steps = n;
    unsigned long long v[10] = {};
    if (!got || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        std::sscanf(line, "%lf %lf %llu %llu %llu %llu %llu %lf %lf %llu %llu %llu %llu %llu", &s.build.seconds,
                    &s.build.cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &s.run.seconds, &s.run.cpu, &v[5], &v[6], &v[7],
                    &v[8], &v[9]) != 14)
        throw std::runtime_error(fmt::format("'{}' failed (status {}): {}", cmd, status, line));
    for (auto [p, at] : {std::pair{&s.build, 0}, std::pair{&s.run, 5}}) {
        p->allocs = v[at];
        p->bytes = v[at + 1];
        p->frees = v[at + 2];
        p->faults = v[at + 3];
        p->segments = v[at + 4];
    }
    return s;
}

// ---------------------------------------------------------- 5. Node.js chain

// The node binary on PATH, or empty.
std::string find_node() {
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/node";
        if (access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return {};
}

std::string shell_quote(std::string_view s) {
    std::string q = "'";
    for (char ch : s) {
        if (ch == '\'')
            q += "'\\''";
        else
            q += ch;
    }
    return q + "'";
}

std::string node_binary;  // set by main if Node.js runs
std::string node_script = VOW_BENCH_THEN_CHAIN_JS;

// Runs then_chain.js once; it times itself (build and run per step), so
// process start-up is not counted. --expose-gc lets it measure its heap.
sample node_run(std::uint64_t n) {
    std::string cmd = fmt::format("{} --expose-gc {} {}", shell_quote(node_binary), shell_quote(node_script), n);
    FILE* out = popen(cmd.c_str(), "r");
    if (!out)
        throw std::runtime_error("popen(node) failed");
    char line[256] = {};
    bool got = std::fgets(line, sizeof line, out) != nullptr;
    int status = pclose(out);
    double build_ns = 0, run_ns = 0, heap = -1, build_cpu = 0, run_cpu = 0;
    if (!got || status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        std::sscanf(line, "%lf %lf %lf %lf %lf", &build_ns, &run_ns, &heap, &build_cpu, &run_cpu) != 5)
        throw std::runtime_error(fmt::format("'{}' failed (status {}): {}", cmd, status, line));
    sample s;
    s.steps = n;
    s.counted = false;
    const double per_step = static_cast<double>(n) * 1e-9;
    s.build.seconds = build_ns * per_step;
    s.run.seconds = run_ns * per_step;
    s.build.cpu = build_cpu * per_step;
    s.run.cpu = run_cpu * per_step;
    s.heap_per_then = heap;
    return s;
}

// ------------------------------------------------------------------ report

using bench::stats;   // bench/stats.hpp

using phase_of = phase (*)(const sample&);
phase build_of(const sample& s) { return s.build; }
phase run_of(const sample& s) { return s.run; }
phase total_of(const sample& s) { return s.total(); }

stats ns_stats(const std::vector<sample>& s, phase_of which) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(which(x).seconds * 1e9 / static_cast<double>(x.steps));
    return stats::of(v);
}

// The same in CPU time: on a shared machine, wall time also counts the
// other processes that ran on this core; CPU time does not.
stats cpu_stats(const std::vector<sample>& s, phase_of which) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(which(x).cpu * 1e9 / static_cast<double>(x.steps));
    return stats::of(v);
}

// The worst repetition of one counter, as a count and per step.
std::uint64_t worst_count(const std::vector<sample>& s, phase_of which, std::uint64_t phase::*field) {
    std::uint64_t worst = 0;
    for (const auto& x : s)
        worst = std::max(worst, which(x).*field);
    return worst;
}
double worst_per_step(const std::vector<sample>& s, phase_of which, std::uint64_t phase::*field) {
    return static_cast<double>(worst_count(s, which, field)) / static_cast<double>(s.front().steps);
}

// The median repetition of one counter, per step.
double median_per_step(const std::vector<sample>& s, phase_of which, std::uint64_t phase::*field) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(static_cast<double>(which(x).*field) / static_cast<double>(x.steps));
    return stats::of(v).median;
}

struct workload {
    std::string key;
    std::string title;
    bool two_phase;  // build + run (then chains, Node.js) or one loop (raw chains)
    sample (*run)(std::uint64_t);
    std::vector<sample> samples{};
};

void print_row(std::string_view name, const std::vector<sample>& s, phase_of which) {
    stats ns = ns_stats(s, which);
    std::string allocs = "-", bytes = "-";
    if (s.front().counted) {
        allocs = fmt::format("{:.4f}", worst_per_step(s, which, &phase::allocs));
        bytes = fmt::format("{:.2f}", worst_per_step(s, which, &phase::bytes));
    }
    stats cpu = cpu_stats(s, which);
    fmt::print("  {:<34} {:>9} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>9.2f} {:>11} {:>10}\n", name,
               s.front().steps, ns.median, ns.min, ns.max, 1e3 / ns.median, cpu.median, allocs, bytes);
}

struct options {
    bool quick = false;
    bool node = true;
    int reps = 7;
    std::uint64_t steps = 0;  // 0: the default for the mode
    std::uint64_t fresh_child = 0;  // internal: run one fresh chain of this many steps
};

options parse(int argc, char** argv) {
    options o;
    bool reps_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--quick") {
            o.quick = true;
        } else if (a == "--no-node") {
            o.node = false;
        } else if (a.starts_with("--reps=")) {
            o.reps = std::atoi(argv[i] + 7);
            reps_given = true;
            if (o.reps < 1)
                throw std::invalid_argument("--reps needs a positive number");
        } else if (a.starts_with("--fresh-child=")) {
            o.fresh_child = std::strtoull(argv[i] + 14, nullptr, 10);
            if (o.fresh_child < 1)
                throw std::invalid_argument("--fresh-child needs a positive number");
        } else if (a.starts_with("--steps=")) {
            o.steps = std::strtoull(argv[i] + 8, nullptr, 10);
            if (o.steps < 1)
                throw std::invalid_argument("--steps needs a positive number");
        } else {
            throw std::invalid_argument(
                fmt::format("unknown argument '{}'\nusage: {} [--quick] [--reps=N] [--steps=N] [--no-node]", a, argv[0]));
        }
    }
    if (o.quick && !reps_given)
        o.reps = 3;
    return o;
}

// "met" or "NOT met", for a ratio against its goal.
std::string_view verdict(double ratio, double goal) { return ratio <= goal ? "met" : "NOT met"; }

int run_benchmarks(const options& opt) {
    const std::uint64_t n = opt.steps ? opt.steps : opt.quick ? 200'000 : 2'000'000;
    std::vector<workload> work{
        {"then", "then chain on a pending promise (then x N, resolve, run_until_complete)", true, &then_pending_run},
        {"ready", "then chain on a ready future (make_ready_future, then x N, run)", true, &then_ready_run},
        {"fresh", "then chain on fresh memory (as the first: a new process per repetition, as Node.js)", true,
         &fresh_run},
        {"raw-locked", "", false, &raw_locked_run},
        {"raw-nolock", "", false, &raw_nolock_run},
        {"call_soon", "", false, &call_soon_run},
    };
    std::string node_note;
    if (opt.node) {
        node_binary = find_node();
        if (node_binary.empty())
            node_note = "Node.js: skipped, no `node` on PATH";
        else if (access(node_script.c_str(), R_OK) != 0)
            node_note = fmt::format("Node.js: skipped, cannot read {}", node_script);
        else
            work.push_back({"node", "Node.js: the same chain (bench/then_chain.js, one process per repetition)", true,
                            &node_run});
    } else {
        node_note = "Node.js: skipped (--no-node)";
    }

    // One small untimed round first: page faults, lazy binding. Node.js
    // warms itself up in each run.
    for (auto& w : work)
        if (w.key != "node" && w.key != "fresh")
            (void)w.run(std::max<std::uint64_t>(n / 20, 1));

    // Progress only on a terminal: in a log it would interleave with the table.
    const bool progress = isatty(STDERR_FILENO) != 0;
    for (int rep = 0; rep < opt.reps; ++rep) {
        if (progress)
            fmt::print(stderr, "\rrepetition {}/{}", rep + 1, opt.reps);
        // Forward on even repetitions, backward on odd ones, so that no
        // workload always runs right after the same neighbour.
        for (std::size_t i = 0; i < work.size(); ++i) {
            auto& w = work[rep % 2 == 0 ? i : work.size() - 1 - i];
            w.samples.push_back(w.run(n));
        }
    }
    if (progress)
        fmt::print(stderr, "\r{:30}\r", "");

    auto find = [&](std::string_view key) -> const workload* {
        for (const auto& w : work)
            if (w.key == key)
                return &w;
        return nullptr;
    };
    const auto& then = find("then")->samples;
    const auto& ready = find("ready")->samples;
    const auto& locked = find("raw-locked")->samples;
    const auto& nolock = find("raw-nolock")->samples;
    const auto& soon = find("call_soon")->samples;
    const auto& fresh = find("fresh")->samples;
    const workload* node = find("node");

    fmt::print("vow promise benchmark: N = {} steps, {} repetitions, all workloads alternating{}\n", n, opt.reps,
               opt.quick ? " (--quick)" : "");
    fmt::print("ns/step: wall time, median, min, max over repetitions; Mstep/s from the median; cpu: median CPU "
               "ns/step (user + system, whole process); allocs/step and bytes/step: operator new + libevent malloc "
               "+ vow's pool blocks, worst repetition\n\n");
    fmt::print("  {:<34} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>10}\n", "", "steps", "median", "min", "max",
               "Mstep/s", "cpu", "allocs/step", "bytes/step");

    for (const auto* w : {find("then"), find("ready"), find("fresh"), node}) {
        if (!w)
            continue;
        fmt::print("{}\n", w->title);
        print_row("build", w->samples, &build_of);
        print_row("run", w->samples, &run_of);
        print_row("total", w->samples, &total_of);
        fmt::print("\n");
    }
    fmt::print("callback chains: one callback re-queues itself\n");
    print_row("libevent event_active (locked)", locked, &run_of);
    print_row("libevent event_active (NOLOCK)", nolock, &run_of);
    print_row("vow call_soon", soon, &run_of);
    fmt::print("\n");
    if (!node_note.empty())
        fmt::print("{}\n\n", node_note);

    const double then_total = ns_stats(then, &total_of).median;
    const double then_run = ns_stats(then, &run_of).median;
    const double raw_nolock = ns_stats(nolock, &run_of).median;
    const double raw_locked = ns_stats(locked, &run_of).median;
    constexpr double goal = 2.5;
    fmt::print("ratios of medians (goal: then step <= {}x raw libevent callback)\n", goal);
    auto ratio_row = [&](std::string_view name, double ratio, bool judged) {
        if (judged)
            fmt::print("  {:<34} {:>9.2f}  goal <= {}: {}\n", name, ratio, goal, verdict(ratio, goal));
        else
            fmt::print("  {:<34} {:>9.2f}\n", name, ratio);
    };
    ratio_row("then total / libevent NOLOCK", then_total / raw_nolock, true);
    ratio_row("then run / libevent NOLOCK", then_run / raw_nolock, true);
    ratio_row("then total / libevent locked", then_total / raw_locked, true);
    ratio_row("then run / libevent locked", then_run / raw_locked, true);
    ratio_row("then total / vow call_soon", then_total / ns_stats(soon, &run_of).median, false);
    ratio_row("then run / vow call_soon", then_run / ns_stats(soon, &run_of).median, false);
    ratio_row("ready total / then total", ns_stats(ready, &total_of).median / then_total, false);
    ratio_row("fresh total / then total", ns_stats(fresh, &total_of).median / then_total, false);
    if (node) {
        ratio_row("fresh total / Node.js total", ns_stats(fresh, &total_of).median / ns_stats(node->samples, &total_of).median,
                  false);
        ratio_row("fresh build / Node.js build", ns_stats(fresh, &build_of).median / ns_stats(node->samples, &build_of).median,
                  false);
        ratio_row("fresh run / Node.js run", ns_stats(fresh, &run_of).median / ns_stats(node->samples, &run_of).median,
                  false);
        ratio_row("then total / Node.js total", then_total / ns_stats(node->samples, &total_of).median, false);
        ratio_row("then build / Node.js build",
                  ns_stats(then, &build_of).median / ns_stats(node->samples, &build_of).median, false);
        ratio_row("then run / Node.js run", then_run / ns_stats(node->samples, &run_of).median, false);
    }
    ratio_row("libevent locked / NOLOCK", raw_locked / raw_nolock, false);
    fmt::print("\n");

    // Allocation figures: counted, the worst repetition of each. Page
    // faults vary (the heap grows once, in the first repetition): median too.
    fmt::print("allocations (worst repetition)\n");
    for (auto [name, s] : {std::pair{"pending", &then}, std::pair{"ready", &ready}, std::pair{"fresh", &fresh}}) {
        std::uint64_t b_allocs = worst_count(*s, &build_of, &phase::allocs);
        std::uint64_t b_bytes = worst_count(*s, &build_of, &phase::bytes);
        std::uint64_t r_allocs = worst_count(*s, &run_of, &phase::allocs);
        std::uint64_t r_frees = worst_count(*s, &run_of, &phase::frees);
        fmt::print("  {:<7} build: {} allocs / {} thens = {:.6f} per pending continuation (expected exactly 1); "
                   "{} bytes = {:.2f} per pending continuation\n",
                   name, b_allocs, n, static_cast<double>(b_allocs) / static_cast<double>(n), b_bytes,
                   static_cast<double>(b_bytes) / static_cast<double>(n));
        fmt::print("  {:<7} run:   {} allocs / {} steps = {:.6f} per step (goal 0); {} frees = {:.6f} per step\n",
                   name, r_allocs, n, static_cast<double>(r_allocs) / static_cast<double>(n), r_frees,
                   static_cast<double>(r_frees) / static_cast<double>(n));
        fmt::print("  {:<7} minor page faults per step: build {:.4f} (max {:.4f}), run {:.4f} (max {:.4f}); "
                   "pool segments mapped in build: {} (max {})\n",
                   name, median_per_step(*s, &build_of, &phase::faults), worst_per_step(*s, &build_of, &phase::faults),
                   median_per_step(*s, &run_of, &phase::faults), worst_per_step(*s, &run_of, &phase::faults),
                   median_per_step(*s, &build_of, &phase::segments) * static_cast<double>(n),
                   worst_count(*s, &build_of, &phase::segments));
    }
    {
        auto pool = vow::detail::node_pool::get_stats();
        fmt::print("  sizeof(vow::detail::then_node<long, decltype(add_one), long>) = {} bytes (alignof {}); "
                   "{}\n",
                   sizeof(add_one_node), alignof(add_one_node),
                   pool.enabled ? fmt::format("a pool block of {} bytes, no header; {} segments of 2 MiB mapped now "
                                              "({} with no block in use)",
                                              pool_block_bytes, pool.segments, pool.empty_segments)
                                : std::string("the pool is off (ASan or valgrind): operator new"));
    }
    fmt::print("  call_soon chain: {:.6f} allocs per step; libevent chains: locked {:.6f}, NOLOCK {:.6f}\n",
               worst_per_step(soon, &run_of, &phase::allocs), worst_per_step(locked, &run_of, &phase::allocs),
               worst_per_step(nolock, &run_of, &phase::allocs));
    if (node) {
        std::vector<double> heap;
        for (const auto& x : node->samples)
            heap.push_back(x.heap_per_then);
        stats h = stats::of(heap);
        if (h.min >= 0)
            fmt::print("  Node.js: {:.1f} bytes of live heap per pending .then (median; min {:.1f}, max {:.1f}; "
                       "100k pending thens between two full GCs)\n",
                       h.median, h.min, h.max);
    }
    fmt::print("\n");

    fmt::print("then step/raw libevent NOLOCK ratio: total {:.2f}, run {:.2f} (goal <= {}: {})\n",
               then_total / raw_nolock, then_run / raw_nolock, goal, verdict(then_total / raw_nolock, goal));
    fmt::print("then step/raw libevent locked ratio: total {:.2f}, run {:.2f} (goal <= {}: {})\n",
               then_total / raw_locked, then_run / raw_locked, goal, verdict(then_total / raw_locked, goal));
    if (node) {
        // Issue 13's row: a then chain on fresh memory at least 3x faster
        // than the same chain in Node.js, which also runs in a new process.
        const double fresh_ratio = ns_stats(fresh, &total_of).median / ns_stats(node->samples, &total_of).median;
        const double fresh_cpu = cpu_stats(fresh, &total_of).median / cpu_stats(node->samples, &total_of).median;
        fmt::print("then step on fresh memory/Node.js ratio: total {:.3f} ({:.2f}x faster; goal >= 3x faster: {}); "
                   "in CPU time {:.3f} ({:.2f}x faster)\n",
                   fresh_ratio, 1 / fresh_ratio, verdict(fresh_ratio, 1.0 / 3), fresh_cpu, 1 / fresh_cpu);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // Before any other libevent call, or libevent's allocations go uncounted.
    event_set_mem_functions(&libevent_malloc, &libevent_realloc, &libevent_free);
    try {
        options opt = parse(argc, argv);
        if (vow::detail::node_pool::get_stats().enabled)
            pool_block_bytes = (sizeof(add_one_node) + 7) / 8 * 8;
        if (opt.fresh_child)
            return fresh_child(opt.fresh_child);
        char exe[4096] = {};
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        self_path = len > 0 ? std::string(exe, static_cast<std::size_t>(len)) : std::string(argv[0]);
        // The first vow::reactor turns on libevent's pthread locking for the
        // whole process; creating one now puts the default raw base in the
        // same locking mode as vow's. The NOLOCK base opts out explicitly.
        { vow::reactor enable_threads; }
        return run_benchmarks(opt);
    } catch (const std::exception& e) {
        fmt::print(stderr, "promise_bench: {}\n", e.what());
        return 1;
    }
}
