// examples/timeout.cpp - with_timeout and cancellation, step by step
// (asyncio's wait_for and task.cancel()).
//
// A std::stop_source is the cancel button: operations that can wait take
// its token and reject with vow::cancelled_error when stop is requested.
// with_timeout rejects with vow::timeout_error when time runs out and, given
// the stop_source, presses the button so the slow operation is cancelled too.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>
#include <stop_token>

using namespace std::chrono_literals;

int main() {
    vow::reactor r;
    auto start = std::chrono::steady_clock::now();
    auto say = [&](std::string_view what) {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        fmt::print("{:5} ms  {}\n", ms.count() / 10 * 10, what);
    };

    // 1. A job that finishes in time.
    say("1. a 50 ms job with a 200 ms limit");
    vow::run_until_complete(r, vow::with_timeout(vow::sleep(r, 50ms), 200ms));
    say("   finished in time");

    // 2. A job that is too slow: the limit wins, and the job is cancelled.
    say("2. a 1 hour job with a 100 ms limit");
    std::stop_source job;
    try {
        vow::run_until_complete(r, vow::with_timeout(vow::sleep(r, 1h, job.get_token()), 100ms, job));
    } catch (const vow::timeout_error&) {
        say("   timed out");
    }
    fmt::print("   the job was told to stop: {}\n", job.stop_requested());
    r.run();  // returns at once: the hour-long timer was cancelled, nothing is left
    say("   the loop is idle: the slow job's timer is gone");

    // 3. Cancelling by hand, from a timer (any thread could do it).
    say("3. a 1 hour job, cancelled after 50 ms");
    std::stop_source button;
    (void)r.call_later(50ms, [&] { button.request_stop(); });
    try {
        vow::run_until_complete(r, vow::sleep(r, 1h, button.get_token()));
    } catch (const vow::cancelled_error&) {
        say("   cancelled");
    }
}
