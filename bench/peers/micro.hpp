// bench/peers/micro.hpp - what every micro-benchmark program in bench/peers/
// shares: the command line, the clock, and the one-JSON-line-per-workload
// output that bench/run reads.
//
//   micro_vow [--div=K] [WORKLOAD...]      # default: every workload it has
//
// prints, for each workload it implements,
//
//   {"workload": "chain", "n": 1000000, "ns_per_op": 5.12}
//
// or, for a memory figure, {"workload": "future_bytes", "n": 100000,
// "bytes_per_op": 96.0}. A workload the library has no counterpart for is
// not printed; a failed self-check exits with status 1. Sizes are divided by
// --div (10 for bench/run --quick). The workloads, identical in every
// program (bench/README.md has the details):
//
//   chain         N (1M) callbacks, each queueing the next on the loop
//   then          N (1M) continuations chained on a pending promise, then
//                 the promise resolved and the chain run
//   all           `all` over N (100k) pending futures, each resolved after
//   timers        N (1M) one-shot timers at 0..9 ms, every second one
//                 cancelled before the loop runs, the rest fired
//   timers_spread the same with delays spread over 0..50 ms, in a scrambled
//                 order: timer i waits spread_delay_ms(i) = (i * 37) % 51 ms
//   xthread       4 threads post N/4 (1M in all) callbacks to the loop
//   xthread_one   one thread posts N (1M) callbacks to the loop; where the
//                 process may use two CPUs, the loop runs on the second and
//                 the poster on the first (cpu_pair below)
//   future_bytes  heap bytes per pending promise/future pair (100k held)
//
// Each workload runs once small and untimed first (warm-up), then timed.
#pragma once

#include <malloc.h>
#include <pthread.h>
#include <sched.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace micro {

using clock_type = std::chrono::steady_clock;

inline double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

struct workload {
    std::string name;
    std::uint64_t n;  // full size; divided by --div
    // Runs the workload on n items; returns the figure per item (ns, or
    // bytes for the *_bytes workloads).
    std::function<double(std::uint64_t)> run;
};

// timers_spread's delay of timer i, in ms: 0..50, consecutive timers far
// apart (37 and 51 are coprime, so every delay comes up equally often).
inline std::uint64_t spread_delay_ms(std::uint64_t i) { return (i * 37) % 51; }

// xthread_one's placement: the loop (the calling thread) on one CPU and the
// poster on another, so that the two never share a core. Takes the first two
// CPUs the process may use (taskset); with fewer, pins nothing. The calling
// thread's affinity is restored on destruction.
class cpu_pair {
public:
    cpu_pair() {
        if (sched_getaffinity(0, sizeof saved_, &saved_) != 0)
            return;
        int found = 0;
        for (int c = 0; c < CPU_SETSIZE && found < 2; ++c)
            if (CPU_ISSET(c, &saved_))
                (found++ == 0 ? poster_cpu_ : loop_cpu_) = c;
        if (found == 2) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(loop_cpu_, &one);
            pinned_ = pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0;
        }
    }
    cpu_pair(const cpu_pair&) = delete;
    cpu_pair& operator=(const cpu_pair&) = delete;
    ~cpu_pair() {
        if (pinned_)
            pthread_setaffinity_np(pthread_self(), sizeof saved_, &saved_);
    }
    // Called on the posting thread.
    void pin_poster() const {
        if (!pinned_)
            return;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(poster_cpu_, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    }

private:
    cpu_set_t saved_{};
    int poster_cpu_ = -1;
    int loop_cpu_ = -1;
    bool pinned_ = false;
};

// The heap bytes malloc has handed out, chunk overhead included.
inline std::size_t heap_in_use() { return mallinfo2().uordblks; }

[[noreturn]] inline void fail(const char* what) {
    std::fprintf(stderr, "check failed: %s\n", what);
    std::exit(1);
}

inline void check(bool ok, const char* what) {
    if (!ok)
        fail(what);
}

// Parses the command line, runs the chosen workloads, prints their lines.
inline int main(int argc, char** argv, const std::vector<workload>& all) {
    std::uint64_t div = 1;
    std::vector<std::string> wanted;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a.starts_with("--div=")) {
            div = std::strtoull(argv[i] + 6, nullptr, 10);
            if (div == 0)
                div = 1;
        } else if (a == "--list") {
            for (const auto& w : all)
                std::printf("%s\n", w.name.c_str());
            return 0;
        } else if (a.starts_with("-")) {
            std::fprintf(stderr, "usage: %s [--div=K] [--list] [WORKLOAD...]\n", argv[0]);
            return 2;
        } else {
            wanted.emplace_back(a);
        }
    }
    for (const auto& w : all) {
        bool chosen = wanted.empty();
        for (const auto& name : wanted)
            chosen = chosen || name == w.name;
        if (!chosen)
            continue;
        const std::uint64_t n = w.n / div;
        (void)w.run(n / 10 > 1000 ? 1000 : n / 10 + 1);  // warm-up
        const double per = w.run(n);
        const bool bytes = std::string_view(w.name).ends_with("_bytes");
        std::printf("{\"workload\": \"%s\", \"n\": %llu, \"%s\": %.3f}\n", w.name.c_str(),
                    static_cast<unsigned long long>(n), bytes ? "bytes_per_op" : "ns_per_op", per);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace micro
