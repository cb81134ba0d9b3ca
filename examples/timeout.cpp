// examples/timeout.cpp - with_timeout and cancellation, step by step
// (asyncio's wait_for and task.cancel()).
//
// A std::stop_source is the cancel button: operations that can wait take
// its token and reject with vow::cancelled_error when stop is requested.
// vow::with_timeout(r, limit, fn) calls fn(token); when time runs out it
// presses the button, waits for the operation to end, and rejects with
// vow::timeout_error, so nothing of the operation outlives the call.
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
    auto quick = vow::with_timeout(r, 200ms,
                                   [&](std::stop_token stop) { return vow::sleep(r, 50ms, stop); });
    vow::run_until_complete(r, std::move(quick));
    say("   finished in time");

    // ANCHOR: wait_for
    // 2. A job that is too slow: the limit wins, and the job is cancelled
    //    before the timeout_error arrives.
    say("2. a 1 hour job with a 100 ms limit");
    auto slow = vow::with_timeout(r, 100ms, [&](std::stop_token stop) {
        return vow::sleep(r, 1h, stop).catch_([&](const vow::cancelled_error&) {
            say("   the job was cancelled");
        });
    });
    try {
        vow::run_until_complete(r, std::move(slow));
    } catch (const vow::timeout_error&) {
        say("   timed out");
    }
    // ANCHOR_END: wait_for
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
