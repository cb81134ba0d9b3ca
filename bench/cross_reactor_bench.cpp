// bench/cross_reactor_bench.cpp - a call from one event loop's thread to
// another's and back: vow::submit_to beside libuv and Boost.Asio.
//
// Two loops, A and B, each on its own thread: A on the first CPU this
// process may use (CPU 0), B on the second (CPU 1), for every contender.
// A keeps W calls in flight to B. A call is a job posted from A to B; B runs
// it (it returns its argument + 1) and sends the result back to A; A checks
// the result and issues the next call, until N calls have come back. The
// figure is calls/s: round trips per second, from the first call issued to
// the last result checked. Two windows:
//
//   W=1     ping-pong: every call waits for the previous one, so each round
//           trip pays two cross-thread wakeups (latency bound);
//   W=256   bursts: results arrive while B is still working through calls,
//           so a loop that batches its wakeups pays far fewer than two.
//
// The contenders, each doing the same work in the way its library is meant
// to be used:
//
//   vow     a vow::reactor_pool of 2 reactors (reactor 0 is the calling
//           thread); A calls vow::submit_to(1, fn), whose future settles on
//           A, and chains the check and the next call with then().
//   libuv   per loop, a mutex-protected job queue and a uv_async_t woken
//           with uv_async_send (which coalesces: one wakeup for all the jobs
//           that arrive before the loop drains its queue). A job is a plain
//           function pointer and two integers: no allocation per call, the
//           best a hand-written C program does.
//   asio    one io_context per thread (concurrency hint 1), held by a work
//           guard; asio::post(b, job), and the job does asio::post(a, reply).
//
// All run in this one process, taking turns (vow, libuv, asio, vow, ...),
// so that a noisy machine slows all alike and the ratios of the medians stay
// meaningful when the absolute figures wander. libuv and Asio are optional:
// the build compiles them in when it finds them (VOW_BENCH_HAVE_LIBUV,
// VOW_BENCH_HAVE_ASIO), and their column says so when it did not.
//
//   cross_reactor_bench               # 5 repetitions, full sizes
//   cross_reactor_bench --quick       # smoke run: small N, 1 repetition
//   cross_reactor_bench --reps=9      # more repetitions
//   cross_reactor_bench --calls=N     # N calls per run, both windows
//   cross_reactor_bench --only=vow    # one contender: vow, vow-reactor, libuv or asio
//   cross_reactor_bench --window=16   # one window of any size instead of 1 and 256
//
// Beside the rate, each run counts the voluntary context switches of both
// threads over the timed part (getrusage(RUSAGE_THREAD)): each is a time the
// thread went to sleep because it had nothing to do, and needed a wakeup (a
// syscall from the other side) to go on. "sleeps/call" is their sum over
// the calls. For the syscalls themselves, run one contender under strace:
//
//   strace -c -f cross_reactor_bench --only=vow --window=1 --reps=1
//
// and divide by the calls made, the untimed warm-up's (a twentieth) and the
// two probes included (strace slows every syscall, which changes how calls
// batch: read its counts, not its times).
#include "stats.hpp"

#include <vow/promise/future.hpp>
#include <vow/promise/reactor_pool.hpp>
#include <vow/reactor/reactor.hpp>

#include <fmt/format.h>

#if VOW_BENCH_HAVE_LIBUV
#include <uv.h>
#endif

#if VOW_BENCH_HAVE_ASIO
// clang-format off: <utility> must come first.
#include <utility>  // Boost 1.74's Asio uses std::exchange without including it (g++ 12, C++20)
// clang-format on
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <latch>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <sched.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using bench_clock = std::chrono::steady_clock;

// ------------------------------------------------------------ placement

// Where A and B run: the first two CPUs the process may use (CPU 0 and 1
// unless started under taskset). With fewer than two, nothing is pinned and
// the output says so: the figures then measure the scheduler as much as the
// libraries.
struct placement {
    int cpu_a = -1;
    int cpu_b = -1;

    bool pinned() const { return cpu_b >= 0; }

    static placement find() {
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
            return {};
        placement p;
        int found = 0;
        for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
            if (CPU_ISSET(c, &allowed))
                (found++ == 0 ? p.cpu_a : p.cpu_b) = c;
        return found == 2 ? p : placement{};
    }
};

// Pins the calling thread to `cpu` (nothing if cpu < 0). A failure is not
// fatal: each run records where its threads were seen, and the output warns
// if that was not where they belong (check_placement).
void pin_this_thread(int cpu) noexcept {
    if (cpu < 0)
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
}

// Pins the calling thread to `cpu` for its lifetime, then gives it back the
// CPUs it had. The main thread must keep all of them between runs: vow's
// pool picks its CPUs from the calling thread's affinity, so a main thread
// left on CPU 0 would put both of vow's reactors there.
class pinned_scope {
public:
    explicit pinned_scope(int cpu) noexcept {
        if (cpu < 0 || pthread_getaffinity_np(pthread_self(), sizeof saved_, &saved_) != 0)
            return;
        pin_this_thread(cpu);
        pinned_ = true;
    }
    pinned_scope(const pinned_scope&) = delete;
    pinned_scope& operator=(const pinned_scope&) = delete;
    ~pinned_scope() {
        if (pinned_)
            pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
    }

private:
    cpu_set_t saved_{};
    bool pinned_ = false;
};

// The calling thread's voluntary context switches so far: how often it went
// to sleep waiting for something (here: for the other thread's wakeup).
std::int64_t voluntary_switches() {
    rusage ru{};
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw;
}

// ------------------------------------------------------------ one run

// One timed run of one contender.
struct sample {
    double seconds = 0;
    std::uint64_t calls = 0;
    std::int64_t sleeps_a = 0;  // voluntary context switches of A's thread, timed part
    std::int64_t sleeps_b = 0;  // the same for B's thread (see each contender)
    int cpu_a = -1;             // where A and B were seen running (sched_getcpu)
    int cpu_b = -1;

    double calls_per_second() const { return static_cast<double>(calls) / seconds; }
    double sleeps_per_call() const {
        return static_cast<double>(sleeps_a + sleeps_b) / static_cast<double>(calls);
    }
};

// A's side of one run, the same for every contender: which call goes next,
// how many results came back, whether each was right, and the clock and
// context switches at the start and end of the timed part. Used on A's
// thread only.
class caller {
public:
    caller(std::uint64_t n, std::uint64_t window) : n_(n), window_(window) {}

    // What A does after a result: issue another call, wait for the ones in
    // flight, or stop (the last result is in).
    enum class next { issue, wait, finish };

    // Starts the clock; returns how many calls to issue at once.
    std::uint64_t start() {
        sleeps_a0_ = voluntary_switches();
        cpu_a_ = sched_getcpu();
        t0_ = bench_clock::now();
        return std::min(n_, window_);
    }
    // The argument of the next call.
    std::uint64_t take() { return issued_++; }
    // Checks result y of the call with argument x.
    next receive(std::uint64_t x, std::uint64_t y) {
        if (y != x + 1)
            ++wrong_;
        ++completed_;
        if (issued_ < n_)
            return next::issue;
        if (completed_ < n_)
            return next::wait;
        t1_ = bench_clock::now();
        sleeps_a1_ = voluntary_switches();
        return next::finish;
    }
    // The run's figures, given B's context switches and CPU; throws if a
    // call is missing or came back wrong: a fast wrong answer is worse than
    // none.
    sample result(std::string_view who, std::int64_t sleeps_b, int cpu_b) const {
        if (completed_ != n_ || wrong_ != 0)
            throw std::runtime_error(
                fmt::format("{}: {} of {} calls came back, {} wrong", who, completed_, n_, wrong_));
        return {std::chrono::duration<double>(t1_ - t0_).count(),
                n_,
                sleeps_a1_ - sleeps_a0_,
                sleeps_b,
                cpu_a_,
                cpu_b};
    }

private:
    std::uint64_t n_;
    std::uint64_t window_;
    std::uint64_t issued_ = 0;
    std::uint64_t completed_ = 0;
    std::uint64_t wrong_ = 0;
    bench_clock::time_point t0_{};
    bench_clock::time_point t1_{};
    std::int64_t sleeps_a0_ = 0;
    std::int64_t sleeps_a1_ = 0;
    int cpu_a_ = -1;
};

// What B reports about itself, before and after the timed part.
struct thread_probe {
    std::int64_t sleeps = 0;
    int cpu = -1;

    static thread_probe now() { return {voluntary_switches(), sched_getcpu()}; }
};

// ------------------------------------------------------------ vow

// Reactor 0 (A) is this thread; reactor 1 (B) is the pool's. The pool pins
// reactor i to the i-th CPU the calling thread may use, which are the CPUs
// of `placement` (the pool restores this thread's affinity when destroyed).
// B's context switches are read by a call of their own before and after the
// timed part, which adds two sleeps of B's (before the first call, after the
// last), as the libuv and Asio threads count them: noise at these N.
class vow_pingpong {
public:
    vow_pingpong(std::uint64_t n, std::uint64_t window) : caller_(n, window) {}

    sample run(bool pin) {
        vow::reactor_pool pool({.threads = 2, .pin_cpus = pin});
        pool_ = &pool;
        pool.at(0).call_soon([this] {
            vow::submit_to(1, [] { return thread_probe::now(); })
                .then([this](thread_probe b) {
                    b0_ = b;
                    for (std::uint64_t i = caller_.start(); i > 0; --i)
                        issue();
                })
                .discard();
        });
        pool.run();
        return caller_.result("vow", b1_.sleeps - b0_.sleeps, b0_.cpu);
    }

private:
    void issue() {
        const std::uint64_t x = caller_.take();
        vow::submit_to(1, [x] { return x + 1; })
            .then([this, x](std::uint64_t y) {
                switch (caller_.receive(x, y)) {
                    case caller::next::issue:
                        issue();
                        break;
                    case caller::next::wait:
                        break;
                    case caller::next::finish:
                        finish();
                        break;
                }
            })
            .discard();
    }

    void finish() {
        vow::submit_to(1, [] { return thread_probe::now(); })
            .then([this](thread_probe b) {
                b1_ = b;
                pool_->stop(std::chrono::seconds(0));   // nothing is left to wait for
            })
            .discard();
    }

    caller caller_;
    vow::reactor_pool* pool_ = nullptr;
    thread_probe b0_{};
    thread_probe b1_{};
};

sample vow_run(const placement& cpus, std::uint64_t n, std::uint64_t window) {
    return vow_pingpong(n, window).run(cpus.pinned());
}

// The same two reactors without futures: the job goes to B with
// call_soon_threadsafe and the result comes back the same way. What
// submit_to costs above this is the promise layer (a promise and its
// future, the call's bookkeeping, the continuation's turn).
class vow_raw_pingpong {
public:
    vow_raw_pingpong(std::uint64_t n, std::uint64_t window) : caller_(n, window) {}

    sample run(bool pin) {
        vow::reactor_pool pool({.threads = 2, .pin_cpus = pin});
        a_ = &pool.at(0);
        b_ = &pool.at(1);
        pool_ = &pool;
        b_->call_soon_threadsafe([this] {
            auto b = thread_probe::now();
            a_->call_soon_threadsafe([this, b] {
                b0_ = b;
                for (std::uint64_t i = caller_.start(); i > 0; --i)
                    issue();
            });
        });
        pool.run();
        return caller_.result("vow reactor", b1_.sleeps - b0_.sleeps, b0_.cpu);
    }

private:
    void issue() {
        const std::uint64_t x = caller_.take();
        b_->call_soon_threadsafe([this, x] {
            const std::uint64_t y = x + 1;
            a_->call_soon_threadsafe([this, x, y] {
                switch (caller_.receive(x, y)) {
                    case caller::next::issue:
                        issue();
                        break;
                    case caller::next::wait:
                        break;
                    case caller::next::finish:
                        finish();
                        break;
                }
            });
        });
    }

    void finish() {
        b_->call_soon_threadsafe([this] {
            auto b = thread_probe::now();
            a_->call_soon_threadsafe([this, b] {
                b1_ = b;
                pool_->stop(std::chrono::seconds(0));
            });
        });
    }

    caller caller_;
    vow::reactor* a_ = nullptr;
    vow::reactor* b_ = nullptr;
    vow::reactor_pool* pool_ = nullptr;
    thread_probe b0_{};
    thread_probe b1_{};
};

sample vow_raw_run(const placement& cpus, std::uint64_t n, std::uint64_t window) {
    return vow_raw_pingpong(n, window).run(cpus.pinned());
}

// ------------------------------------------------------------ libuv

#if VOW_BENCH_HAVE_LIBUV

class uv_pingpong;

// A job, the C way: what to run on the receiving loop, and its arguments.
struct uv_job {
    void (*fn)(uv_pingpong&, std::uint64_t x, std::uint64_t y);
    std::uint64_t x;
    std::uint64_t y;
};

// One loop and its mailbox: other threads push jobs under the mutex and
// uv_async_send the loop; the async callback takes the whole queue at once
// (one lock per batch) and runs it.
struct uv_mailbox {
    uv_loop_t loop{};
    uv_async_t async{};
    uv_pingpong* owner = nullptr;
    std::mutex mu;
    std::vector<uv_job> queue;  // under mu
    std::vector<uv_job> batch;  // the loop's thread only

    void post(const uv_job& j) {
        {
            std::lock_guard lock(mu);
            queue.push_back(j);
        }
        uv_async_send(&async);
    }
};

class uv_pingpong {
public:
    uv_pingpong(std::uint64_t n, std::uint64_t window) : caller_(n, window) {
        for (uv_mailbox* m : {&a_, &b_}) {
            if (uv_loop_init(&m->loop) != 0)
                throw std::runtime_error("uv_loop_init failed");
            m->owner = this;
            m->async.data = m;
            uv_async_init(&m->loop, &m->async, &drain);
        }
    }
    uv_pingpong(const uv_pingpong&) = delete;
    uv_pingpong& operator=(const uv_pingpong&) = delete;
    ~uv_pingpong() {
        uv_loop_close(&a_.loop);
        uv_loop_close(&b_.loop);
    }

    sample run(const placement& cpus) {
        pinned_scope a(cpus.cpu_a);
        // B counts its own context switches over its whole loop run, which
        // adds at most two sleeps (before the first call, after the last).
        std::latch ready(1);
        thread_probe b0{}, b1{};
        std::thread b([&] {
            pin_this_thread(cpus.cpu_b);
            b0 = thread_probe::now();
            ready.count_down();
            uv_run(&b_.loop, UV_RUN_DEFAULT);
            b1 = thread_probe::now();
        });
        ready.wait();
        for (std::uint64_t i = caller_.start(); i > 0; --i)
            issue();
        uv_run(&a_.loop, UV_RUN_DEFAULT);
        b.join();
        return caller_.result("libuv", b1.sleeps - b0.sleeps, b0.cpu);
    }

private:
    static void drain(uv_async_t* h) {
        auto* m = static_cast<uv_mailbox*>(h->data);
        {
            std::lock_guard lock(m->mu);
            m->batch.swap(m->queue);
        }
        for (const uv_job& j : m->batch)
            j.fn(*m->owner, j.x, j.y);
        m->batch.clear();
    }

    // On A.
    void issue() { b_.post({&serve, caller_.take(), 0}); }

    // On B: the call itself, and its result sent back.
    static void serve(uv_pingpong& p, std::uint64_t x, std::uint64_t) {
        p.a_.post({&reply, x, x + 1});
    }

    // On A.
    static void reply(uv_pingpong& p, std::uint64_t x, std::uint64_t y) {
        switch (p.caller_.receive(x, y)) {
            case caller::next::issue:
                p.issue();
                break;
            case caller::next::wait:
                break;
            case caller::next::finish:
                // Closing its async handle leaves a loop nothing to wait
                // for: B's as its last job, A's now.
                p.b_.post({&quit, 0, 0});
                uv_close(reinterpret_cast<uv_handle_t*>(&p.a_.async), nullptr);
                break;
        }
    }

    // On B.
    static void quit(uv_pingpong& p, std::uint64_t, std::uint64_t) {
        uv_close(reinterpret_cast<uv_handle_t*>(&p.b_.async), nullptr);
    }

    caller caller_;
    uv_mailbox a_;
    uv_mailbox b_;
};

sample libuv_run(const placement& cpus, std::uint64_t n, std::uint64_t window) {
    return uv_pingpong(n, window).run(cpus);
}

#endif  // VOW_BENCH_HAVE_LIBUV

// ------------------------------------------------------------ Boost.Asio

#if VOW_BENCH_HAVE_ASIO

namespace asio = boost::asio;

class asio_pingpong {
public:
    asio_pingpong(std::uint64_t n, std::uint64_t window) : caller_(n, window) {}

    sample run(const placement& cpus) {
        pinned_scope a(cpus.cpu_a);
        // As for libuv, B counts its context switches over its whole run.
        std::latch ready(1);
        thread_probe b0{}, b1{};
        std::thread b([&] {
            pin_this_thread(cpus.cpu_b);
            b0 = thread_probe::now();
            ready.count_down();
            b_.run();
            b1 = thread_probe::now();
        });
        ready.wait();
        for (std::uint64_t i = caller_.start(); i > 0; --i)
            issue();
        a_.run();
        b.join();
        return caller_.result("asio", b1.sleeps - b0.sleeps, b0.cpu);
    }

private:
    using guard = asio::executor_work_guard<asio::io_context::executor_type>;

    // On A. The job runs on B and posts its result back to A.
    void issue() {
        const std::uint64_t x = caller_.take();
        asio::post(b_, [this, x] {
            const std::uint64_t y = x + 1;
            asio::post(a_, [this, x, y] { receive(x, y); });
        });
    }

    // On A.
    void receive(std::uint64_t x, std::uint64_t y) {
        switch (caller_.receive(x, y)) {
            case caller::next::issue:
                issue();
                break;
            case caller::next::wait:
                break;
            case caller::next::finish:
                // Without their guards, both run() calls return once idle.
                // Resetting B's from here is safe: the guard object is only
                // touched by A, and the work count it drops is atomic.
                guard_b_.reset();
                guard_a_.reset();
                break;
        }
    }

    caller caller_;
    asio::io_context a_{1};  // concurrency hint 1: one thread runs each
    asio::io_context b_{1};
    std::optional<guard> guard_a_{asio::make_work_guard(a_)};
    std::optional<guard> guard_b_{asio::make_work_guard(b_)};
};

sample asio_run(const placement& cpus, std::uint64_t n, std::uint64_t window) {
    return asio_pingpong(n, window).run(cpus);
}

#endif  // VOW_BENCH_HAVE_ASIO

// ------------------------------------------------------------ the table

using bench::stats;   // bench/stats.hpp

struct contender {
    std::string key;     // for --only
    std::string name;    // column heading
    std::string absent;  // why it was not built, or empty
    sample (*run)(const placement&, std::uint64_t n, std::uint64_t window) = nullptr;
};

std::vector<contender> contenders() {
    std::vector<contender> c;
    c.push_back({"vow", "vow submit_to", "", &vow_run});
    c.push_back({"vow-reactor", "vow call_soon_ts", "", &vow_raw_run});
#if VOW_BENCH_HAVE_LIBUV
    c.push_back({"libuv", "libuv async_send", "", &libuv_run});
#else
    c.push_back({"libuv", "libuv async_send", "not built: no libuv (libuv1-dev)", nullptr});
#endif
#if VOW_BENCH_HAVE_ASIO
    c.push_back({"asio", "asio post", "", &asio_run});
#else
    c.push_back({"asio", "asio post", "not built: no Boost headers (libboost-dev)", nullptr});
#endif
    return c;
}

// One window's figures: per contender (in contenders() order), one sample
// per repetition.
struct window_result {
    std::uint64_t window;
    std::uint64_t calls;
    std::vector<std::vector<sample>> runs;
};

// "1,234,567" for rates; thousands separated so that columns read at a glance.
std::string rate(double per_second) {
    std::string digits = fmt::format("{:.0f}", per_second);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

stats rate_stats(const std::vector<sample>& s) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(x.calls_per_second());
    return stats::of(v);
}

stats sleep_stats(const std::vector<sample>& s) {
    std::vector<double> v;
    for (const auto& x : s)
        v.push_back(x.sleeps_per_call());
    return stats::of(v);
}

constexpr int label_width = 22;
constexpr int column_width = 24;

void print_window(const window_result& w, const std::vector<contender>& cs) {
    fmt::print("W={} ({}), {} calls per run; calls/s (round trips per second)\n", w.window,
               w.window == 1 ? "ping-pong: latency bound" : "bursts: batched wakeups",
               rate(static_cast<double>(w.calls)));
    fmt::print("  {:<{}}", "", label_width);
    for (const auto& c : cs)
        fmt::print("{:>{}}", c.name, column_width);
    fmt::print("\n");

    auto row = [&](std::string_view label, auto cell) {
        fmt::print("  {:<{}}", label, label_width);
        for (std::size_t i = 0; i < cs.size(); ++i)
            fmt::print("{:>{}}", cs[i].run ? cell(w.runs[i]) : std::string("-"), column_width);
        fmt::print("\n");
    };
    const std::size_t reps = w.runs.front().size();
    for (std::size_t r = 0; r < reps; ++r)
        row(fmt::format("run {}", r + 1),
            [&](const std::vector<sample>& s) { return rate(s[r].calls_per_second()); });
    row("median", [](const std::vector<sample>& s) { return rate(rate_stats(s).median); });
    row("spread (min-max)", [](const std::vector<sample>& s) {
        stats st = rate_stats(s);
        return fmt::format("{}-{}", rate(st.min), rate(st.max));
    });
    row("spread / median", [](const std::vector<sample>& s) {
        stats st = rate_stats(s);
        return fmt::format("{:.1f}%", 100 * (st.max - st.min) / st.median);
    });
    row("sleeps/call (A+B)",
        [](const std::vector<sample>& s) { return fmt::format("{:.3f}", sleep_stats(s).median); });
    row("  of which A, B", [](const std::vector<sample>& s) {
        std::vector<double> a, b;
        for (const auto& x : s) {
            a.push_back(static_cast<double>(x.sleeps_a) / static_cast<double>(x.calls));
            b.push_back(static_cast<double>(x.sleeps_b) / static_cast<double>(x.calls));
        }
        return fmt::format("{:.3f}, {:.3f}", stats::of(a).median, stats::of(b).median);
    });
    for (const auto& c : cs)
        if (!c.run)
            fmt::print("  {}: {}\n", c.name, c.absent);

    // vow's median rate over each peer's: above 1, vow makes more calls/s.
    if (cs.front().key == "vow" && cs.front().run) {
        const double vow_median = rate_stats(w.runs.front()).median;
        for (std::size_t i = 1; i < cs.size(); ++i)
            if (cs[i].run)
                fmt::print("  vow / {:<15} {:.2f}x  (median calls/s; above 1 vow is faster)\n",
                           cs[i].key + ":", vow_median / rate_stats(w.runs[i]).median);
    }
    fmt::print("\n");
}

// Warns if some contender's threads were seen off their CPUs: the pinning
// did not take, and its figures are not comparable with the others'.
void check_placement(const placement& p, const std::vector<window_result>& ws,
                     const std::vector<contender>& cs) {
    if (!p.pinned())
        return;
    for (const auto& w : ws)
        for (std::size_t i = 0; i < cs.size(); ++i)
            for (const auto& s : w.runs[i])
                if (s.cpu_a != p.cpu_a || s.cpu_b != p.cpu_b) {
                    fmt::print(
                        "warning: {} ran A on CPU {} and B on CPU {} (W={}), not {} and {}\n",
                        cs[i].key, s.cpu_a, s.cpu_b, w.window, p.cpu_a, p.cpu_b);
                    return;
                }
}

// ------------------------------------------------------------ main

struct options {
    bool quick = false;
    int reps = 5;
    std::uint64_t calls = 0;   // 0: each window's default
    std::uint64_t window = 0;  // 0: both windows, 1 and 256
    std::string only;          // a contender's key, or empty for all
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
        } else if (a.starts_with("--calls=")) {
            const long long n = std::atoll(argv[i] + 8);
            if (n < 1)
                throw std::invalid_argument("--calls needs a positive number");
            o.calls = static_cast<std::uint64_t>(n);
        } else if (a.starts_with("--window=")) {
            const long long w = std::atoll(argv[i] + 9);
            if (w < 1)
                throw std::invalid_argument("--window needs a positive number");
            o.window = static_cast<std::uint64_t>(w);
        } else if (a.starts_with("--only=")) {
            o.only = a.substr(7);
        } else {
            throw std::invalid_argument(fmt::format(
                "unknown argument '{}'\nusage: {} [--quick] [--reps=N] [--calls=N] [--window=W] [--only=vow|vow-reactor|libuv|asio]",
                a, argv[0]));
        }
    }
    if (o.quick && !reps_given)
        o.reps = 1;
    return o;
}

int run_benchmarks(const options& opt) {
    std::vector<contender> cs = contenders();
    if (!opt.only.empty()) {
        std::erase_if(cs, [&](const contender& c) { return c.key != opt.only; });
        if (cs.empty())
            throw std::invalid_argument(fmt::format("--only: no contender named '{}'", opt.only));
    }

    // Sizes for about a second per run on the 2-core machine of
    // bench/RESULTS.md: a ping-pong round trip costs tens of microseconds
    // there (two sleeps and wakeups), a call in a burst a fraction of one.
    const std::uint64_t scale = opt.quick ? 100 : 1;
    auto calls_for = [&](std::uint64_t window) {
        return opt.calls ? opt.calls : (window == 1 ? 20'000 : 2'000'000) / scale;
    };
    std::vector<window_result> ws;
    for (std::uint64_t w :
         opt.window ? std::vector<std::uint64_t>{opt.window} : std::vector<std::uint64_t>{1, 256})
        ws.push_back({w, calls_for(w), {}});
    for (auto& w : ws)
        w.runs.resize(cs.size());

    // This thread is A in every contender, pinned for each run only (see
    // pinned_scope); each B pins itself.
    const placement cpus = placement::find();

    // One small untimed round first: page faults, lazy binding, thread stacks.
    for (const auto& w : ws)
        for (const auto& c : cs)
            if (c.run)
                (void)c.run(cpus, std::max<std::uint64_t>(w.calls / 20, w.window), w.window);

    // Progress only on a terminal: in a log it would interleave with the table.
    const bool progress = isatty(STDERR_FILENO) != 0;
    for (int rep = 0; rep < opt.reps; ++rep) {
        if (progress)
            fmt::print(stderr, "\rrepetition {}/{}", rep + 1, opt.reps);
        for (auto& w : ws)
            for (std::size_t i = 0; i < cs.size(); ++i)
                if (cs[i].run)
                    w.runs[i].push_back(cs[i].run(cpus, w.calls, w.window));
    }
    if (progress)
        fmt::print(stderr, "\r{:30}\r", "");

    fmt::print(
        "cross_reactor_bench: a call from loop A's thread to loop B's and back, {} "
        "repetition{}, contenders taking turns{}\n",
        opt.reps, opt.reps == 1 ? "" : "s", opt.quick ? " (--quick)" : "");
    if (cpus.pinned())
        fmt::print("A on CPU {}, B on CPU {}, for every contender\n\n", cpus.cpu_a, cpus.cpu_b);
    else
        fmt::print("not pinned: the process may use fewer than two CPUs\n\n");
    for (const auto& w : ws)
        print_window(w, cs);
    check_placement(cpus, ws, cs);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run_benchmarks(parse(argc, argv));
    } catch (const std::exception& e) {
        fmt::print(stderr, "cross_reactor_bench: {}\n", e.what());
        return 1;
    }
}
