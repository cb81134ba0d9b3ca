// bench/combinator_bench.cpp - what vow::all, vow::to_thread and
// vow::semaphore cost, side by side with their Node.js and Python peers.
//
// Three groups of workloads, each vow figure beside its peers, all taking
// turns in one process (the peers as subprocesses that time themselves):
//
//   all        vow::all over N (100k) futures, ready (make_ready_future) and
//              pending (one vow::promise<int> each, resolved after `all`);
//              Node.js Promise.all (bench/all_peer.js) and Python's
//              asyncio.gather, on asyncio's loop and on uvloop's
//              (bench/all_peer.py), over the same N.
//   to_thread  round trips through a thread pool of 2 workers, sequential
//              (each waits for the previous) and concurrent (all submitted,
//              then vow::all); beside asyncio.to_thread and run_in_executor.
//   semaphore  acquire/release pairs: uncontended (the permit is free) and
//              contended (1 permit, 1000 waiters cycling); beside
//              asyncio.Semaphore. Node.js has no semaphore: not measured.
//
//   combinator_bench                  # 7 repetitions, full sizes
//   combinator_bench --quick          # a fifth of the sizes, 3 repetitions
//   combinator_bench --reps=11        # more repetitions
//   combinator_bench --only=all       # one group: all, to_thread, semaphore
//   combinator_bench --elements=N     # the size of `all` (e.g. small, under callgrind)
//   combinator_bench --no-peers       # vow only: no node, no python
//   combinator_bench --python=PATH    # the interpreter for all_peer.py
//
// Allocations on the reactor's thread are counted, not guessed: this program
// replaces the global operator new with one that bumps a thread-local
// counter (no atomic: the count costs vow nothing measurable). Under
// callgrind, each phase of the `all` workloads ends a dump of its own (see
// callgrind_phase). See bench/README.md for what each figure means.
#include "stats.hpp"

#include <vow/promise/all.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/semaphore.hpp>
#include <vow/promise/thread_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define VOW_BENCH_CALLGRIND 1
#endif

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VOW_BENCH_ALL_PEER_JS
#define VOW_BENCH_ALL_PEER_JS "bench/all_peer.js"
#endif
#ifndef VOW_BENCH_ALL_PEER_PY
#define VOW_BENCH_ALL_PEER_PY "bench/all_peer.py"
#endif

// ------------------------------------------------------ allocation counting

namespace {

// Per thread: the figures are counted on the reactor's thread (the worker
// threads of the pool allocate too, but nothing here reads their counts).
thread_local std::uint64_t allocs_here = 0;

void* counted_malloc(std::size_t n) {
    ++allocs_here;
    if (void* p = std::malloc(n ? n : 1))
        return p;
    throw std::bad_alloc();
}

void* counted_aligned(std::size_t n, std::align_val_t al) {
    ++allocs_here;
    void* p = nullptr;
    auto a = std::max(static_cast<std::size_t>(al), sizeof(void*));
    if (posix_memalign(&p, a, n ? n : 1) != 0)
        throw std::bad_alloc();
    return p;
}

}  // namespace

// The array and nothrow forms of libstdc++ forward to these.
void* operator new(std::size_t n) { return counted_malloc(n); }
void* operator new(std::size_t n, std::align_val_t al) { return counted_aligned(n, al); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

namespace {

using bench_clock = std::chrono::steady_clock;

// The sizes of one run.
struct sizes {
    std::uint64_t elements = 100'000;      // inputs of all / gather
    std::uint64_t round_trips = 5'000;     // to_thread, each way
    std::uint64_t pairs = 200'000;         // semaphore acquire/release pairs
    std::uint64_t waiters = 1'000;         // contended semaphore
};

// One repetition of one workload: ns per element (or per operation) of each
// figure it measures; allocations and minor page faults per element where
// counted.
struct sample {
    std::map<std::string, double> ns;
    std::map<std::string, double> allocs;
    std::map<std::string, double> faults;
};

std::uint64_t minor_faults() noexcept {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::uint64_t>(ru.ru_minflt);
}

// Under callgrind, ends one dump per phase, named "<workload> n=<N> <mark>",
// so that each phase's instructions can be read on their own (see
// bench/README.md). Nothing otherwise.
void callgrind_phase([[maybe_unused]] const std::string& label) {
#ifdef VOW_BENCH_CALLGRIND
    if (RUNNING_ON_VALGRIND)
        CALLGRIND_DUMP_STATS_AT(label.c_str());
#endif
}

// Marks on one clock, with the allocation and page fault counts at each.
// The clock is read first: the getrusage call lands in the next phase, where
// it is a fraction of a microsecond against milliseconds.
class stopwatch {
public:
    stopwatch(std::string_view workload, std::uint64_t n) : label_(fmt::format("{} n={} ", workload, n)) {
        marks_.reserve(8);  // so that mark() does not allocate
    }
    void mark(std::string name) {
        auto t = bench_clock::now();
        std::uint64_t allocs = allocs_here;
        callgrind_phase(label_ + name);
        marks_.push_back({std::move(name), t, allocs, minor_faults()});
    }
    // Adds figure `name` = time, allocations and faults from mark `from` to
    // mark `to`, divided by `per`.
    void figure(sample& s, const std::string& name, std::string_view from, std::string_view to, double per) const {
        const auto& a = at(from);
        const auto& b = at(to);
        s.ns[name] = std::chrono::duration<double, std::nano>(b.t - a.t).count() / per;
        s.allocs[name] = static_cast<double>(b.allocs - a.allocs) / per;
        s.faults[name] = static_cast<double>(b.faults - a.faults) / per;
    }

private:
    struct entry {
        std::string name;
        bench_clock::time_point t;
        std::uint64_t allocs;
        std::uint64_t faults;
    };
    const entry& at(std::string_view name) const {
        for (const auto& e : marks_)
            if (e.name == name)
                return e;
        throw std::logic_error(fmt::format("no mark '{}'", name));
    }
    std::string label_;
    std::vector<entry> marks_;
};

// Throws if a workload did not do all its work: a fast wrong answer is worse
// than none.
void expect(bool ok, std::string_view what) {
    if (!ok)
        throw std::runtime_error(fmt::format("{}: wrong result", what));
}

void expect_iota(const std::vector<int>& v, std::uint64_t n, std::string_view what) {
    bool ok = v.size() == n;
    for (std::size_t i = 0; ok && i < v.size(); ++i)
        ok = v[i] == static_cast<int>(i);
    expect(ok, what);
}

// ------------------------------------------------------------ 1. vow::all

// make_ready_future x n, then all, then run_until_complete.
sample all_ready_once(vow::reactor& r, std::uint64_t n) {
    stopwatch w("all-ready", n);
    w.mark("start");
    std::vector<vow::future<int>> fs;
    fs.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
        fs.push_back(vow::make_ready_future(r, static_cast<int>(i)));
    w.mark("created");
    auto all = vow::all(std::move(fs));
    w.mark("all");
    std::vector<int> v = vow::run_until_complete(r, std::move(all));
    w.mark("run");

    expect_iota(v, n, "all (ready)");
    sample s;
    const auto per = static_cast<double>(n);
    w.figure(s, "create", "start", "created", per);
    w.figure(s, "all", "created", "all", per);
    w.figure(s, "run", "all", "run", per);
    w.figure(s, "all+run", "created", "run", per);
    w.figure(s, "total", "start", "run", per);
    return s;
}

// n promises and their futures, then all, then resolve each, then
// run_until_complete, then destroy the promises (which frees their states).
sample all_pending_once(vow::reactor& r, std::uint64_t n) {
    stopwatch w("all-pending", n);
    w.mark("start");
    std::vector<vow::promise<int>> ps;
    std::vector<vow::future<int>> fs;
    ps.reserve(n);
    fs.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        ps.emplace_back(r);
        fs.push_back(ps.back().get_future());
    }
    w.mark("created");
    auto all = vow::all(std::move(fs));
    w.mark("all");
    for (std::uint64_t i = 0; i < n; ++i)
        ps[i].resolve(static_cast<int>(i));
    w.mark("resolved");
    std::vector<int> v = vow::run_until_complete(r, std::move(all));
    w.mark("run");
    ps.clear();
    ps.shrink_to_fit();
    w.mark("dropped");

    expect_iota(v, n, "all (pending)");
    sample s;
    const auto per = static_cast<double>(n);
    w.figure(s, "create", "start", "created", per);
    w.figure(s, "all", "created", "all", per);
    w.figure(s, "resolve", "all", "resolved", per);
    w.figure(s, "run", "resolved", "run", per);
    w.figure(s, "drop", "run", "dropped", per);
    w.figure(s, "total", "start", "dropped", per);
    // all() plus the loop's share, without the resolves (what `all` itself
    // costs beyond the inputs being settled): all + run.
    s.ns["all+run"] = s.ns["all"] + s.ns["run"];
    s.allocs["all+run"] = s.allocs["all"] + s.allocs["run"];
    s.faults["all+run"] = s.faults["all"] + s.faults["run"];
    return s;
}

sample all_ready_run(const sizes& z) {
    vow::reactor r;
    (void)all_ready_once(r, 1000);  // warm-up: the queue's blocks, the heap
    return all_ready_once(r, z.elements);
}

sample all_pending_run(const sizes& z) {
    vow::reactor r;
    (void)all_pending_once(r, 1000);
    return all_pending_once(r, z.elements);
}

// ------------------------------------------------------- 2. vow::to_thread

constexpr auto work_one = [] { return 1; };

// Each round trip starts in the handler of the previous one.
struct sequential_trips {
    vow::reactor& r;
    vow::thread_pool& pool;
    std::uint64_t n;
    std::uint64_t count = 0;
    vow::promise<void> done{r};

    void next() {
        (void)vow::to_thread(r, pool, work_one).then([this](int v) {
            count += static_cast<std::uint64_t>(v);
            if (count < n)
                next();
            else
                done.resolve();
        });
    }
};

double to_thread_sequential(vow::reactor& r, vow::thread_pool& pool, std::uint64_t n) {
    sequential_trips s{r, pool, n};
    auto f = s.done.get_future();
    auto t0 = bench_clock::now();
    s.next();
    vow::run_until_complete(r, std::move(f));
    auto t1 = bench_clock::now();
    expect(s.count == n, "to_thread (sequential)");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

double to_thread_concurrent(vow::reactor& r, vow::thread_pool& pool, std::uint64_t n) {
    auto t0 = bench_clock::now();
    std::vector<vow::future<int>> fs;
    fs.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
        fs.push_back(vow::to_thread(r, pool, work_one));
    std::vector<int> v = vow::run_until_complete(r, vow::all(std::move(fs)));
    auto t1 = bench_clock::now();
    expect(v.size() == n && std::all_of(v.begin(), v.end(), [](int x) { return x == 1; }), "to_thread (concurrent)");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

// A fresh pool of 2 and a fresh reactor per run; both ways, warm.
sample to_thread_run(const sizes& z) {
    vow::reactor r;
    vow::thread_pool pool(2);
    (void)to_thread_sequential(r, pool, 100);
    (void)to_thread_concurrent(r, pool, 100);
    sample s;
    s.ns["seq"] = to_thread_sequential(r, pool, z.round_trips);
    s.ns["conc"] = to_thread_concurrent(r, pool, z.round_trips);
    return s;
}

// ------------------------------------------------------- 3. vow::semaphore

// acquire() fulfils at once; the future is checked and dropped, no loop turn.
double sem_uncontended_ready(vow::reactor& r, std::uint64_t n) {
    vow::semaphore sem(r, 1);
    std::uint64_t ready = 0;
    auto t0 = bench_clock::now();
    for (std::uint64_t i = 0; i < n; ++i) {
        vow::future<void> f = sem.acquire();
        ready += f.available() ? 1 : 0;
        sem.release();
    }
    auto t1 = bench_clock::now();
    expect(ready == n && sem.available() == 1, "semaphore (uncontended)");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

// acquire().then(release): the handler runs on a later turn, and starts the
// next pair, so each pair is one turn of the loop.
struct then_pairs {
    vow::reactor& r;
    vow::semaphore sem{r, 1};
    std::uint64_t n;
    std::uint64_t count = 0;
    vow::promise<void> done{r};

    void next() {
        (void)sem.acquire().then([this] {
            ++count;
            sem.release();
            if (count < n)
                next();
            else
                done.resolve();
        });
    }
};

double sem_uncontended_then(vow::reactor& r, std::uint64_t n) {
    then_pairs p{.r = r, .n = n};
    auto f = p.done.get_future();
    auto t0 = bench_clock::now();
    p.next();
    vow::run_until_complete(r, std::move(f));
    auto t1 = bench_clock::now();
    expect(p.count == n, "semaphore (uncontended, then)");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(n);
}

// One permit, `waiters` workers: each acquires, counts a pair, releases
// (which hands the permit to the oldest waiter) and queues again at the
// back, until n pairs are counted. As in all_peer.py, a worker already
// waiting when the count reaches n still completes its pair; the figure
// divides by the pairs really made.
struct contended_pairs {
    vow::reactor& r;
    vow::semaphore sem{r, 1};
    std::uint64_t n;
    std::uint64_t live;
    std::uint64_t count = 0;
    vow::promise<void> done{r};

    void worker() {
        (void)sem.acquire().then([this] {
            ++count;
            sem.release();
            if (count < n)
                worker();
            else if (--live == 0)
                done.resolve();
        });
    }
};

double sem_contended(vow::reactor& r, std::uint64_t n, std::uint64_t waiters) {
    contended_pairs c{.r = r, .n = n, .live = waiters};
    auto f = c.done.get_future();
    auto t0 = bench_clock::now();
    for (std::uint64_t i = 0; i < waiters; ++i)
        c.worker();
    vow::run_until_complete(r, std::move(f));
    auto t1 = bench_clock::now();
    expect(c.count >= n && c.sem.available() == 1 && c.sem.waiting() == 0, "semaphore (contended)");
    return std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(c.count);
}

sample semaphore_run(const sizes& z) {
    vow::reactor r;
    (void)sem_uncontended_ready(r, 1000);
    (void)sem_uncontended_then(r, 1000);
    (void)sem_contended(r, 2 * z.waiters, z.waiters);
    sample s;
    s.ns["ready"] = sem_uncontended_ready(r, z.pairs);
    s.ns["then"] = sem_uncontended_then(r, z.pairs);
    s.ns["contended"] = sem_contended(r, z.pairs, z.waiters);
    return s;
}

// ------------------------------------------------------------------ peers

std::string find_on_path(std::string_view name) {
    const char* path = std::getenv("PATH");
    std::string_view rest = path ? path : "";
    while (!rest.empty()) {
        auto colon = rest.find(':');
        std::string dir(rest.substr(0, colon));
        rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + std::string(name);
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

// Runs `cmd`; returns its exit status and its standard output.
std::pair<int, std::string> run_command(const std::string& cmd) {
    FILE* out = popen(cmd.c_str(), "r");
    if (!out)
        throw std::runtime_error(fmt::format("popen({}) failed", cmd));
    std::string text;
    char buf[512];
    while (std::size_t got = std::fread(buf, 1, sizeof buf, out))
        text.append(buf, got);
    int status = pclose(out);
    int code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return {code, text};
}

// Reads a peer's "name value" lines into a sample; the first line ("node
// v20..." or "python 3.11.2 asyncio") is its banner, returned in `banner`.
sample parse_peer(const std::string& cmd, const std::string& text, std::string& banner) {
    sample s;
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        if (line.empty())
            continue;
        if (first) {
            banner = line;
            first = false;
            continue;
        }
        auto sp = line.find(' ');
        char* end = nullptr;
        double v = sp == std::string::npos ? 0 : std::strtod(line.c_str() + sp + 1, &end);
        if (sp == std::string::npos || end == line.c_str() + sp + 1)
            throw std::runtime_error(fmt::format("'{}': cannot parse '{}'", cmd, line));
        s.ns[line.substr(0, sp)] = v;
    }
    if (s.ns.empty())
        throw std::runtime_error(fmt::format("'{}' printed no figures", cmd));
    return s;
}

struct peer {
    std::string cmd;     // the whole command line, sizes included
    std::string banner;  // the first line it printed
};

peer node_peer, asyncio_peer, uvloop_peer;

sample run_peer(peer& p) {
    auto [code, text] = run_command(p.cmd);
    if (code != 0)
        throw std::runtime_error(fmt::format("'{}' failed (exit status {}): {}", p.cmd, code, text));
    return parse_peer(p.cmd, text, p.banner);
}

sample node_run(const sizes&) { return run_peer(node_peer); }
sample asyncio_run(const sizes&) { return run_peer(asyncio_peer); }
sample uvloop_run(const sizes&) { return run_peer(uvloop_peer); }

// True if `python -c 'import uvloop'` succeeds.
bool python_has_uvloop(const std::string& python) {
    return run_command(shell_quote(python) + " -c 'import uvloop' 2>/dev/null").first == 0;
}

// ------------------------------------------------------------------ report

using bench::stats;   // bench/stats.hpp

struct workload {
    std::string key;
    std::string group;  // all, to_thread, semaphore
    sample (*run)(const sizes&);
    bool warm_up = true;  // false for the peers, which warm themselves up
    std::vector<sample> samples{};
};

// "12.3k", "4.56M": operations per second from ns per operation.
std::string rate(double ns) {
    double r = 1e9 / ns;
    if (r >= 1e6)
        return fmt::format("{:.2f}M", r / 1e6);
    if (r >= 1e3)
        return fmt::format("{:.1f}k", r / 1e3);
    return fmt::format("{:.0f}", r);
}

struct options {
    bool quick = false;
    bool peers = true;
    int reps = 7;
    std::string only;     // empty: every group
    std::string python;   // empty: chosen (see choose_python)
    std::uint64_t elements = 0;  // 0: the default for the mode
};

options parse(int argc, char** argv) {
    options o;
    bool reps_given = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--quick") {
            o.quick = true;
        } else if (a == "--no-peers") {
            o.peers = false;
        } else if (a.starts_with("--reps=")) {
            o.reps = std::atoi(argv[i] + 7);
            reps_given = true;
            if (o.reps < 1)
                throw std::invalid_argument("--reps needs a positive number");
        } else if (a.starts_with("--elements=")) {
            o.elements = std::strtoull(argv[i] + 11, nullptr, 10);
            if (o.elements < 1)
                throw std::invalid_argument("--elements needs a positive number");
        } else if (a.starts_with("--only=")) {
            o.only = a.substr(7);
            if (o.only != "all" && o.only != "to_thread" && o.only != "semaphore")
                throw std::invalid_argument("--only takes all, to_thread or semaphore");
        } else if (a.starts_with("--python=")) {
            o.python = a.substr(9);
        } else {
            throw std::invalid_argument(fmt::format(
                "unknown argument '{}'\nusage: {} [--quick] [--reps=N] [--elements=N] [--only=GROUP] [--no-peers] "
                "[--python=PATH]",
                a, argv[0]));
        }
    }
    if (o.quick && !reps_given)
        o.reps = 3;
    return o;
}

std::string_view verdict(bool met) { return met ? "met" : "NOT met"; }

int run_benchmarks(const options& opt) {
    sizes z;
    if (opt.quick) {
        z.elements = 20'000;
        z.round_trips = 1'000;
        z.pairs = 40'000;
    }
    if (opt.elements)
        z.elements = opt.elements;
    auto wanted = [&](std::string_view group) { return opt.only.empty() || opt.only == group; };

    std::vector<workload> work;
    if (wanted("all")) {
        work.push_back({"all-ready", "all", &all_ready_run});
        work.push_back({"all-pending", "all", &all_pending_run});
    }
    if (wanted("to_thread"))
        work.push_back({"to_thread", "to_thread", &to_thread_run});
    if (wanted("semaphore"))
        work.push_back({"semaphore", "semaphore", &semaphore_run});

    // The peers: each runs every group in one process per repetition.
    std::vector<std::string> notes;
    std::string python;
    if (!opt.peers) {
        notes.push_back("Node.js, Python: skipped (--no-peers)");
    } else {
        const std::string js = VOW_BENCH_ALL_PEER_JS, py = VOW_BENCH_ALL_PEER_PY;
        std::string node = find_on_path("node");
        if (!wanted("all")) {
            // all_peer.js measures Promise.all only.
        } else if (node.empty()) {
            notes.push_back("Node.js: skipped, no `node` on PATH");
        } else if (access(js.c_str(), R_OK) != 0) {
            notes.push_back(fmt::format("Node.js: skipped, cannot read {}", js));
        } else {
            node_peer.cmd = fmt::format("{} --expose-gc {} {}", shell_quote(node), shell_quote(js), z.elements);
            work.push_back({"node", "peer", &node_run, false});
        }

        // One interpreter for both loops, so that asyncio and uvloop compare
        // on the same Python: the one given, else the first of python3 on
        // PATH and Debian's /usr/bin/python3 (where the python3-uvloop
        // package installs) that can import uvloop, else python3 on PATH.
        std::vector<std::string> candidates;
        if (!opt.python.empty()) {
            candidates.push_back(opt.python);
        } else {
            if (auto p = find_on_path("python3"); !p.empty())
                candidates.push_back(p);
            if (access("/usr/bin/python3", X_OK) == 0)
                candidates.push_back("/usr/bin/python3");
        }
        bool uvloop = false;
        for (const auto& c : candidates) {
            if (python_has_uvloop(c)) {
                python = c;
                uvloop = true;
                break;
            }
        }
        if (!uvloop && !candidates.empty())
            python = candidates.front();
        if (python.empty()) {
            notes.push_back("Python: skipped, no `python3` on PATH");
        } else if (access(py.c_str(), R_OK) != 0) {
            notes.push_back(fmt::format("Python: skipped, cannot read {}", py));
        } else {
            auto cmd = [&](std::string_view loop) {
                return fmt::format("{} {} --loop={} --gather={} --to-thread={} --sem={} --waiters={}",
                                   shell_quote(python), shell_quote(py), loop, z.elements, z.round_trips, z.pairs,
                                   z.waiters);
            };
            asyncio_peer.cmd = cmd("asyncio");
            work.push_back({"asyncio", "peer", &asyncio_run, false});
            if (uvloop) {
                uvloop_peer.cmd = cmd("uvloop");
                work.push_back({"uvloop", "peer", &uvloop_run, false});
            } else {
                std::string tried;
                for (const auto& c : candidates)
                    tried += (tried.empty() ? "" : ", ") + c;
                notes.push_back(fmt::format("uvloop: skipped, `import uvloop` fails in {} (Debian package "
                                            "python3-uvloop installs it for /usr/bin/python3; not installed by "
                                            "this benchmark)",
                                            tried));
            }
        }
    }
    if (wanted("semaphore") && opt.peers)
        notes.push_back("Node.js semaphore: not measured (Node.js has no semaphore in its standard library)");

    // One small untimed round of each vow workload first: page faults, lazy
    // binding, the pool's threads. The peers warm up in each process.
    {
        sizes small = z;
        small.elements = std::max<std::uint64_t>(z.elements / 20, 1);
        small.round_trips = std::max<std::uint64_t>(z.round_trips / 20, 1);
        small.pairs = std::max<std::uint64_t>(z.pairs / 20, 1);
        for (auto& w : work)
            if (w.warm_up)
                (void)w.run(small);
    }

    // Progress only on a terminal: in a log it would interleave with the table.
    const bool progress = isatty(STDERR_FILENO) != 0;
    for (int rep = 0; rep < opt.reps; ++rep) {
        if (progress)
            fmt::print(stderr, "\rrepetition {}/{}", rep + 1, opt.reps);
        // Forward on even repetitions, backward on odd ones, so that no
        // workload always runs right after the same neighbour.
        for (std::size_t i = 0; i < work.size(); ++i) {
            auto& w = work[rep % 2 == 0 ? i : work.size() - 1 - i];
            w.samples.push_back(w.run(z));
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
    // The median, min and max of one figure, or nothing if the workload did
    // not run (or its peer did not report that figure).
    auto figure = [&](std::string_view key, const std::string& name) -> std::optional<stats> {
        const workload* w = find(key);
        if (!w || w->samples.empty())
            return std::nullopt;
        std::vector<double> v;
        for (const auto& s : w->samples) {
            auto it = s.ns.find(name);
            if (it == s.ns.end())
                return std::nullopt;
            v.push_back(it->second);
        }
        return stats::of(v);
    };
    auto worst_allocs = [&](std::string_view key, const std::string& name) -> std::string {
        const workload* w = find(key);
        double worst = -1;
        for (const auto& s : w->samples)
            if (auto it = s.allocs.find(name); it != s.allocs.end())
                worst = std::max(worst, it->second);
        return worst < 0 ? "-" : fmt::format("{:.4f}", worst);
    };
    auto median_faults = [&](std::string_view key, const std::string& name) -> std::string {
        const workload* w = find(key);
        std::vector<double> v;
        for (const auto& s : w->samples)
            if (auto it = s.faults.find(name); it != s.faults.end())
                v.push_back(it->second);
        return v.empty() ? "-" : fmt::format("{:.4f}", stats::of(v).median);
    };
    auto row = [&](std::string_view label, std::string_view key, const std::string& name, std::uint64_t n) {
        auto s = figure(key, name);
        if (!s)
            return;
        fmt::print("  {:<44} {:>8} {:>10.1f} {:>10.1f} {:>10.1f} {:>9} {:>9} {:>9}\n", label, n, s->median, s->min,
                   s->max, rate(s->median), worst_allocs(key, name), median_faults(key, name));
    };
    auto median = [&](std::string_view key, const std::string& name) {
        auto s = figure(key, name);
        return s ? s->median : -1.0;
    };

    fmt::print("vow combinator benchmark: {} repetitions, all workloads alternating{}\n", opt.reps,
               opt.quick ? " (--quick)" : "");
    fmt::print("sizes: all/gather {} elements; to_thread {} round trips each way (pool of 2 workers); semaphore "
               "{} pairs, contended with {} waiters on 1 permit\n",
               z.elements, z.round_trips, z.pairs, z.waiters);
    if (find("node"))
        fmt::print("Node.js: {} ({})\n", node_peer.banner, node_peer.cmd);
    if (find("asyncio"))
        fmt::print("Python: {} ({})\n", asyncio_peer.banner, python);
    if (find("uvloop"))
        fmt::print("Python with uvloop: {}\n", uvloop_peer.banner);
    fmt::print("ns per element (per operation): median, min, max over repetitions; rate = 1e9 / median; "
               "allocs/el: operator new on the reactor's thread, worst repetition; faults/el: minor page faults, "
               "median repetition (vow's all only)\n\n");
    fmt::print("  {:<44} {:>8} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}\n", "", "n", "median", "min", "max", "rate/s",
               "allocs/el", "faults/el");

    constexpr double all_goal = 60;    // ns per element
    constexpr double peer_goal = 5;    // node / vow
    const auto ne = z.elements;
    std::vector<std::string> finals;
    if (wanted("all")) {
        fmt::print("all over N ready futures (ns per element)\n");
        row("vow create (make_ready_future x N)", "all-ready", "create", ne);
        row("vow all()", "all-ready", "all", ne);
        row("vow run (run_until_complete)", "all-ready", "run", ne);
        row("vow all + run", "all-ready", "all+run", ne);
        row("vow total", "all-ready", "total", ne);
        row("Node.js create (Promise.resolve x N)", "node", "all.ready.create", ne);
        row("Node.js Promise.all()", "node", "all.ready.all", ne);
        row("Node.js run (await)", "node", "all.ready.run", ne);
        row("Node.js total", "node", "all.ready.total", ne);
        for (auto [key, name] : {std::pair{"asyncio", "asyncio"}, std::pair{"uvloop", "uvloop"}}) {
            row(fmt::format("{} create (create_future, set_result)", name), key, "gather.ready.create", ne);
            row(fmt::format("{} gather()", name), key, "gather.ready.gather", ne);
            row(fmt::format("{} run (await)", name), key, "gather.ready.run", ne);
            row(fmt::format("{} total", name), key, "gather.ready.total", ne);
        }
        fmt::print("\nall over N pending futures, resolved after all (ns per element)\n");
        row("vow create (promise + get_future x N)", "all-pending", "create", ne);
        row("vow all()", "all-pending", "all", ne);
        row("vow resolve x N", "all-pending", "resolve", ne);
        row("vow run (run_until_complete)", "all-pending", "run", ne);
        row("vow drop the promises", "all-pending", "drop", ne);
        row("vow all() + run", "all-pending", "all+run", ne);
        row("vow total", "all-pending", "total", ne);
        row("Node.js create (new Promise x N)", "node", "all.pending.create", ne);
        row("Node.js Promise.all()", "node", "all.pending.all", ne);
        row("Node.js resolve x N", "node", "all.pending.resolve", ne);
        row("Node.js run (await)", "node", "all.pending.run", ne);
        row("Node.js total", "node", "all.pending.total", ne);
        for (auto [key, name] : {std::pair{"asyncio", "asyncio"}, std::pair{"uvloop", "uvloop"}}) {
            row(fmt::format("{} create (create_future x N)", name), key, "gather.pending.create", ne);
            row(fmt::format("{} gather()", name), key, "gather.pending.gather", ne);
            row(fmt::format("{} set_result x N", name), key, "gather.pending.resolve", ne);
            row(fmt::format("{} run (await)", name), key, "gather.pending.run", ne);
            row(fmt::format("{} total", name), key, "gather.pending.total", ne);
        }
        fmt::print("\n");

        const double ready_total = median("all-ready", "total"), pending_total = median("all-pending", "total");
        const double ready_core = median("all-ready", "all+run"), pending_core = median("all-pending", "all+run");
        fmt::print("vow::all against its goal (<= {} ns per element, medians)\n", all_goal);
        fmt::print("  {:<44} {:>8.1f}  {}\n", "ready total", ready_total, verdict(ready_total <= all_goal));
        fmt::print("  {:<44} {:>8.1f}  {}\n", "ready all() + run", ready_core, verdict(ready_core <= all_goal));
        fmt::print("  {:<44} {:>8.1f}  {}\n", "pending total", pending_total, verdict(pending_total <= all_goal));
        fmt::print("  {:<44} {:>8.1f}  {}\n", "pending all() + run", pending_core, verdict(pending_core <= all_goal));
        // The goal is the combinator's own cost: all() and running it to the
        // end. Making the N input futures (one allocation each) is the
        // caller's, and is shown as the total beside it.
        finals.push_back(fmt::format("vow::all ns/element, all() + run: ready {:.1f}, pending {:.1f} (goal <= {}: {}); "
                                     "with making the inputs: ready {:.1f}, pending {:.1f}",
                                     ready_core, pending_core, all_goal,
                                     verdict(std::max(ready_core, pending_core) <= all_goal), ready_total,
                                     pending_total));

        if (find("node") || find("asyncio"))
            fmt::print("\nratios of medians, peer total / vow total (goal: Node.js >= {}x)\n", peer_goal);
        for (auto [key, name, prefix] : {std::tuple{"node", "Node.js Promise.all", "all"},
                                         std::tuple{"asyncio", "asyncio gather", "gather"},
                                         std::tuple{"uvloop", "uvloop gather", "gather"}}) {
            if (!find(key))
                continue;
            const double r_ready = median(key, fmt::format("{}.ready.total", prefix)) / ready_total;
            const double r_pending = median(key, fmt::format("{}.pending.total", prefix)) / pending_total;
            if (std::string_view(key) == "node") {
                fmt::print("  {:<44} {:>8.1f}  goal >= {}: {}\n", fmt::format("{} / vow::all, ready", name), r_ready,
                           peer_goal, verdict(r_ready >= peer_goal));
                fmt::print("  {:<44} {:>8.1f}  goal >= {}: {}\n", fmt::format("{} / vow::all, pending", name),
                           r_pending, peer_goal, verdict(r_pending >= peer_goal));
                finals.push_back(fmt::format("Promise.all/vow::all ratio: ready {:.1f}x, pending {:.1f}x (goal >= {}: "
                                             "{})",
                                             r_ready, r_pending, peer_goal,
                                             verdict(std::min(r_ready, r_pending) >= peer_goal)));
            } else {
                fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} / vow::all, ready", name), r_ready);
                fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} / vow::all, pending", name), r_pending);
                finals.push_back(fmt::format("{}/vow::all ratio: ready {:.1f}x, pending {:.1f}x", name, r_ready,
                                             r_pending));
            }
        }
        fmt::print("\n");
    }

    if (wanted("to_thread")) {
        const auto nt = z.round_trips;
        fmt::print("to_thread round trips, pool of 2 workers (ns per round trip)\n");
        row("vow to_thread, sequential", "to_thread", "seq", nt);
        row("vow to_thread, concurrent (then vow::all)", "to_thread", "conc", nt);
        for (auto [key, name] : {std::pair{"asyncio", "asyncio"}, std::pair{"uvloop", "uvloop"}}) {
            row(fmt::format("{} to_thread, sequential", name), key, "to_thread.seq", nt);
            row(fmt::format("{} to_thread, concurrent (gather)", name), key, "to_thread.conc", nt);
            row(fmt::format("{} run_in_executor, sequential", name), key, "run_in_executor.seq", nt);
            row(fmt::format("{} run_in_executor, concurrent", name), key, "run_in_executor.conc", nt);
        }
        const double seq = median("to_thread", "seq"), conc = median("to_thread", "conc");
        std::string line = fmt::format("vow::to_thread round trips/s: sequential {}, concurrent {}", rate(seq),
                                       rate(conc));
        for (const char* key : {"asyncio", "uvloop"}) {
            if (!find(key))
                continue;
            const double ps = median(key, "to_thread.seq"), pc = median(key, "to_thread.conc");
            fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} to_thread / vow, sequential", key), ps / seq);
            fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} to_thread / vow, concurrent", key), pc / conc);
            line += fmt::format("; {} to_thread/vow ratio: sequential {:.1f}x, concurrent {:.1f}x", key, ps / seq,
                                pc / conc);
        }
        finals.push_back(line);
        fmt::print("\n");
    }

    if (wanted("semaphore")) {
        const auto np = z.pairs;
        fmt::print("semaphore acquire/release pairs (ns per pair)\n");
        row("vow uncontended, acquire() ready, release", "semaphore", "ready", np);
        row("vow uncontended, acquire().then(release)", "semaphore", "then", np);
        row(fmt::format("vow contended, 1 permit, {} waiters", z.waiters), "semaphore", "contended", np);
        for (auto [key, name] : {std::pair{"asyncio", "asyncio"}, std::pair{"uvloop", "uvloop"}}) {
            row(fmt::format("{} uncontended, acquire, release", name), key, "sem.uncontended", np);
            row(fmt::format("{} contended, 1 permit, {} waiters", name, z.waiters), key, "sem.contended", np);
        }
        const double ready = median("semaphore", "ready"), then = median("semaphore", "then"),
                     cont = median("semaphore", "contended");
        std::string line = fmt::format("vow::semaphore pairs/s: uncontended {} (with a then: {}), contended {}",
                                       rate(ready), rate(then), rate(cont));
        for (const char* key : {"asyncio", "uvloop"}) {
            if (!find(key))
                continue;
            const double pu = median(key, "sem.uncontended"), pc = median(key, "sem.contended");
            fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} / vow, uncontended", key), pu / ready);
            fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} / vow, uncontended (vow with a then)", key), pu / then);
            fmt::print("  {:<44} {:>8.1f}\n", fmt::format("{} / vow, contended", key), pc / cont);
            line += fmt::format("; {} Semaphore/vow ratio: uncontended {:.1f}x (then {:.1f}x), contended {:.1f}x", key,
                                pu / ready, pu / then, pc / cont);
        }
        finals.push_back(line);
        fmt::print("\n");
    }

    for (const auto& n : notes)
        fmt::print("{}\n", n);
    if (!notes.empty())
        fmt::print("\n");
    for (const auto& f : finals)
        fmt::print("{}\n", f);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run_benchmarks(parse(argc, argv));
    } catch (const std::exception& e) {
        fmt::print(stderr, "combinator_bench: {}\n", e.what());
        return 1;
    }
}
