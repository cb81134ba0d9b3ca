// examples/loops.cpp - asyncio's and JavaScript's loop shapes, in vow.
//
// An async loop is a chain whose next step starts when the last one's
// future settles. vow::repeat, do_until, do_for_each and keep_doing run such
// loops in constant memory, however many iterations, and their future
// settles when the loop ends, or rejects with its first error. A
// vow::task_group runs several loops (or any futures) as tasks that start,
// fail and stop together. docs/tutorial.md, "Loops and tasks", shows each
// function here next to its asyncio or JavaScript form.
#include <vow/vow.hpp>

#include <fmt/core.h>

#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <vector>

using namespace std::chrono_literals;

// ANCHOR: producer
// Pushes the jobs one at a time (each push waits for room), then closes the
// queue.
vow::future<void> produce(vow::reactor& r, vow::queue<std::string>& q,
                          std::vector<std::string> jobs) {
    auto pushing = vow::do_for_each(r, std::move(jobs),
                                    [&q](std::string& job) { return q.push(std::move(job)); });
    return std::move(pushing).then([&q] {
        fmt::print("producer: all pushed, closing the queue\n");
        q.close();
    });
}
// ANCHOR_END: producer

// ANCHOR: consumer
// Takes jobs, 50 ms of work each, until the queue is closed and empty.
vow::future<void> consume(vow::reactor& r, vow::queue<std::string>& q) {
    auto loop = vow::repeat(r, [&r, &q] {
        return q.pop().then([&r](std::string job) {
            fmt::print("consumer: {}\n", job);
            return vow::sleep(r, 50ms).then([] { return vow::stop_iteration::no; });
        });
    });
    return std::move(loop).catch_(
        [](const vow::queue_closed&) { fmt::print("consumer: the queue is closed and empty\n"); });
}
// ANCHOR_END: consumer

// ANCHOR: heartbeat
// Beats every 20 ms until stop is requested. The token reaches the sleep
// too: a stop ends the loop at once, not after the next beat, and the
// loop's future resolves.
vow::future<void> heartbeat(vow::reactor& r, int& beats, std::stop_token stop) {
    auto beat = [&r, &beats](std::stop_token stop) {
        return vow::sleep(r, 20ms, stop).then([&beats] { ++beats; });
    };
    return vow::keep_doing(r, beat, std::move(stop));
}
// ANCHOR_END: heartbeat

// ANCHOR: recursion
// A loop as a recursion: each level's handler returns the next level's
// future, which the outer future adopts. Adoption collapses (the consumer
// moves onto the inner future), so this runs in constant memory however
// deep it goes.
vow::future<void> count_down(vow::reactor& r, int n) {
    if (n == 0)
        return vow::make_ready_future(r);
    return vow::make_ready_future(r).then([&r, n] { return count_down(r, n - 1); });
}

// The same loop with repeat: no recursion, and the count in one place.
vow::future<void> count_down_repeat(vow::reactor& r, int n) {
    return vow::repeat(r, [&r, n]() mutable {
        return vow::make_ready_future(r).then(
            [&n] { return --n <= 0 ? vow::stop_iteration::yes : vow::stop_iteration::no; });
    });
}
// ANCHOR_END: recursion

int main() {
    vow::reactor r;

    fmt::print("1. a producer, a consumer, and a heartbeat while they work\n");
    vow::queue<std::string> jobs(r, 1);  // room for one: the producer waits for the consumer
    std::stop_source stop_beating;
    int beats = 0;
    auto beating = heartbeat(r, beats, stop_beating.get_token());
    auto producing = produce(r, jobs, {"job 1", "job 2", "job 3"});
    auto consuming = consume(r, jobs);
    vow::run_until_complete(r, vow::all(std::move(producing), std::move(consuming)));
    stop_beating.request_stop();
    vow::run_until_complete(r, std::move(beating));
    fmt::print("heartbeat: stopped; it beat while the jobs ran: {}\n", beats >= 2 ? "yes" : "no");

    fmt::print("2. a task group: b fails, so c is cancelled\n");
    // ANCHOR: group
    // Three tasks share the group's stop token; the first to fail stops the
    // others, and join() rejects with its error once all have ended.
    vow::task_group tg(r);
    tg.spawn([&](std::stop_token stop) {
        return vow::sleep(r, 50ms, stop).then([] { fmt::print("a: done\n"); });
    });
    tg.spawn([&](std::stop_token stop) {
        return vow::sleep(r, 100ms, stop).then([] { throw std::runtime_error("b broke"); });
    });
    tg.spawn([&](std::stop_token stop) {
        return vow::sleep(r, 1h, stop).catch_([](const vow::cancelled_error&) {
            fmt::print("c: cancelled\n");
        });
    });
    try {
        vow::run_until_complete(r, tg.join());
    } catch (const std::exception& e) {
        fmt::print("join: {}\n", e.what());
    }
    // ANCHOR_END: group

    fmt::print("3. a recursive promise loop, and repeat\n");
    vow::run_until_complete(r, count_down(r, 100'000));
    fmt::print("count_down: 100000 levels deep, done\n");
    vow::run_until_complete(r, count_down_repeat(r, 100'000));
    fmt::print("count_down_repeat: 100000 iterations, done\n");
}
