// examples/to_thread.cpp - move CPU-heavy work off the loop (asyncio's
// to_thread), while a periodic timer keeps ticking on time.
//
// Running the job on the loop thread would freeze every timer until it is
// done. vow::to_thread runs it on a worker thread; its result comes back to
// the loop thread as the future's value.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <thread>

using namespace std::chrono_literals;

// Counts primes by trial division until `budget` of wall time has passed:
// pure CPU work, no sleeping.
std::uint64_t count_primes_for(std::chrono::milliseconds budget) {
    auto until = std::chrono::steady_clock::now() + budget;
    std::uint64_t found = 0;
    for (std::uint64_t n = 2; std::chrono::steady_clock::now() < until; ++n) {
        bool prime = true;
        for (std::uint64_t d = 2; d * d <= n; ++d)
            if (n % d == 0) {
                prime = false;
                break;
            }
        found += prime;
    }
    return found;
}

int main() {
    vow::reactor r;
    auto start = std::chrono::steady_clock::now();
    auto say = [&](std::string_view what) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        fmt::print("{:5} ms  {}\n", (ms.count() + 5) / 10 * 10, what);
    };
    auto loop_thread = std::this_thread::get_id();

    int ticks = 0;
    vow::handle ticker = r.call_every(100ms, [&] { say(fmt::format("tick {}", ++ticks)); });

    say("starting a 350 ms CPU-heavy job on a worker thread");
    auto job = vow::to_thread(r, [loop_thread] {
        bool off_loop = std::this_thread::get_id() != loop_thread;
        std::uint64_t primes = count_primes_for(350ms);
        return std::pair(off_loop, primes);
    });

    auto [off_loop, primes] = vow::run_until_complete(r, std::move(job).finally([&] { ticker.cancel(); }));
    say("job done; the ticker was never held up");
    fmt::print("the job ran off the loop thread: {}; it found {} primes\n", off_loop, primes > 0 ? "some" : "no");
}
