// tests/pool/stop_test.cpp - a vow::reactor_pool's threads and its stop: hooks,
// the stop token, calls in flight (each settles; none is lost), signals,
// thread names and CPU pinning.
#include <promise_fixture.hpp>
#include <vow/vow.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(stop_test)

BOOST_AUTO_TEST_CASE(stopping_with_calls_in_flight_settles_every_one_of_them) {
    // Reactors 1 and 2 keep calling each other (and 0) without pause: every
    // completion makes the next call. The pool stops in the middle of it,
    // with a short grace. Every call made settles, with its value or with
    // the pool's cancelled_error, and the continuations run before run()
    // returns. Calls that sleep longer than the grace are cancelled.
    vow::reactor_pool pool({.threads = 3});
    struct counts {
        std::uint64_t made = 0, fulfilled = 0, cancelled = 0, other = 0;
    };
    std::vector<counts> per(3);   // per[i]: reactor i's thread only
    std::function<void(std::size_t, std::size_t)> call_loop = [&](std::size_t from, std::size_t to) {
        auto& c = per[from];
        ++c.made;
        const bool slow = c.made % 50 == 0;
        vow::submit_to(to, [&pool, slow]() {
            auto& r = pool.at(vow::this_shard());
            return vow::sleep(r, slow ? 1h : 0ms).then([] { return 1; });
        })
            .then([&c](int v) { c.fulfilled += static_cast<std::uint64_t>(v); })
            .catch_([&c](const vow::cancelled_error& e) {
                ++c.cancelled;
                if (std::string(e.what()).find("stopped before the call") == std::string::npos)
                    ++c.other;
            })
            .catch_([&c](std::exception_ptr) { ++c.other; })
            .finally([&, from, to] {
                if (!pool.stopping())
                    call_loop(from, to);
            })
            .discard();
    };
    pool.at(0).call_soon([&] {
        for (std::size_t from : {1u, 2u})
            (void)vow::submit_to(from, [&, from] {
                for (int lane = 0; lane < 8; ++lane)
                    for (std::size_t to = 0; to < 3; ++to)
                        call_loop(from, to);
            });
        (void)pool.at(0).call_later(100ms, [&] { pool.stop(50ms); });
    });
    pool.run();
    std::uint64_t made = 0, settled = 0, cancelled = 0;
    for (std::size_t i = 1; i < 3; ++i) {
        BOOST_TEST(per[i].other == 0u);
        made += per[i].made;
        settled += per[i].fulfilled + per[i].cancelled;
        cancelled += per[i].cancelled;
    }
    BOOST_TEST(made > 100u);
    BOOST_TEST(settled == made);      // none lost
    BOOST_TEST(cancelled > 0u);       // the hour-long ones, at least
}

BOOST_AUTO_TEST_CASE(a_stop_hook_that_outlives_the_grace_is_reported_and_the_stop_goes_on) {
    vow::reactor_pool pool({.threads = 2});
    std::vector<std::string> reports;
    pool.at(0).set_exception_handler(
        [&](std::exception_ptr e, std::string_view) { reports.push_back(vow::test::message_of(e)); });
    pool.at(0).call_soon([&] {
        vow::submit_to(1, [&] {
            pool.on_stop([&](vow::reactor::duration) { return vow::sleep(pool.at(1), 1h); });
        }).then([&] { pool.stop(20ms); }).discard();
    });
    pool.run();
    BOOST_REQUIRE(reports.size() == 1u);
    BOOST_TEST(reports[0].find("1 stop hook did not finish within the grace period (20 ms)") != std::string::npos,
               reports[0]);
}

BOOST_AUTO_TEST_CASE(stop_hooks_run_on_their_reactor_and_the_stop_waits_for_them) {
    vow::reactor_pool pool({.threads = 2});
    std::vector<std::size_t> hook_ran_on;   // reactor 0 only
    bool slow_hook_finished = false;        // reactor 1 only, read after run()
    std::size_t slow_hook_on = 99;
    bool token_requested_in_hook = false;
    vow::reactor::duration grace_seen{};
    pool.at(0).call_soon([&] {
        pool.on_stop([&](vow::reactor::duration grace) {
            hook_ran_on.push_back(vow::this_shard());
            grace_seen = grace;
            token_requested_in_hook = pool.stop_token().stop_requested();
            return vow::make_ready_future(pool.at(0));
        });
        vow::submit_to(1, [&] {
            pool.on_stop([&](vow::reactor::duration) {
                slow_hook_on = vow::this_shard();
                return vow::sleep(pool.at(1), 30ms).then([&] { slow_hook_finished = true; });
            });
        }).then([&] { pool.stop(10s); }).discard();
    });
    pool.run();
    BOOST_TEST(hook_ran_on == std::vector<std::size_t>{0});
    BOOST_TEST(slow_hook_on == 1u);
    BOOST_TEST(slow_hook_finished);   // the stop waited for its future
    BOOST_TEST(token_requested_in_hook);
    BOOST_TEST((grace_seen == 10s));
    BOOST_TEST(pool.stopping());
}

BOOST_AUTO_TEST_CASE(the_stop_token_ends_loops_on_every_reactor_and_the_stop_waits_for_them) {
    // The stop waits for what on_stop hands it: here, each reactor's loop.
    vow::reactor_pool pool({.threads = 2});
    std::vector<int> ticks(2, 0);
    std::vector<char> ended(2, false);
    auto start_loop = [&](std::size_t i) {
        auto loop = vow::keep_doing(pool.at(i), [&, i] {
            ++ticks[i];
            return vow::sleep(pool.at(i), 1ms);
        }, pool.stop_token())
            .finally([&ended, i] { ended[i] = true; });
        pool.on_stop([f = std::make_shared<vow::future<void>>(std::move(loop))](vow::reactor::duration) {
            return std::move(*f);
        });
    };
    pool.at(0).call_soon([&] {
        start_loop(0);
        vow::submit_to(1, [&] { start_loop(1); }).discard();
        (void)pool.at(0).call_later(30ms, [&] { pool.stop(5s); });
    });
    pool.run();
    BOOST_TEST(ended[0]);
    BOOST_TEST(ended[1]);
    BOOST_TEST(ticks[1] > 0);
}

BOOST_AUTO_TEST_CASE(a_stop_signal_stops_the_pool_from_any_thread_that_raises_it) {
    vow::reactor_pool pool({.threads = 2, .stop_signals = {SIGUSR2}, .stop_grace = 1s});
    std::atomic<bool> hook_ran{false};
    pool.at(0).call_soon([&] {
        vow::submit_to(1, [&] {
            pool.on_stop([&](vow::reactor::duration) {
                hook_ran = true;
                return vow::make_ready_future(pool.at(1));
            });
            // Raised on reactor 1's thread, which blocks it: the kernel
            // delivers it to reactor 0's.
            ::kill(::getpid(), SIGUSR2);
        }).discard();
    });
    pool.run();
    BOOST_TEST(hook_ran.load());
    BOOST_TEST(pool.stopping());
}

BOOST_AUTO_TEST_CASE(threads_are_named_and_pinned_when_asked) {
    cpu_set_t before;
    CPU_ZERO(&before);
    BOOST_REQUIRE(sched_getaffinity(0, sizeof before, &before) == 0);
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &before))
            cpus.push_back(c);
    std::string name;
    int cpu1 = -1, cpu0 = -1, allowed1 = 0;
    {
        vow::reactor_pool pool({.threads = 2, .pin_cpus = true, .thread_name = "vowtest"});
        pool.at(0).call_soon([&] {
            cpu0 = sched_getcpu();
            vow::submit_to(1, [&] {
                char buf[16] = {};
                pthread_getname_np(pthread_self(), buf, sizeof buf);
                name = buf;
                cpu1 = sched_getcpu();
                cpu_set_t mine;
                CPU_ZERO(&mine);
                sched_getaffinity(0, sizeof mine, &mine);
                allowed1 = CPU_COUNT(&mine);
            }).finally([&] { pool.stop(0s); }).discard();
        });
        pool.run();
    }
    BOOST_TEST(name == "vowtest-1");
    BOOST_TEST(allowed1 == 1);
    BOOST_TEST(cpu1 == cpus[1 % cpus.size()]);
    BOOST_TEST(cpu0 == cpus[0]);
    // The calling thread's affinity is given back.
    cpu_set_t after;
    CPU_ZERO(&after);
    BOOST_REQUIRE(sched_getaffinity(0, sizeof after, &after) == 0);
    BOOST_TEST(CPU_EQUAL(&before, &after));
}

BOOST_AUTO_TEST_CASE(a_pool_destroyed_without_running_stops_cleanly) {
    std::atomic<bool> ran_on_1{false};
    {
        vow::reactor_pool pool({.threads = 2});
        // Reactor 1 runs from the start; reactor 0 only in run().
        std::atomic<bool> done{false};
        pool.at(1).call_soon_threadsafe([&] {
            ran_on_1 = true;
            done = true;
        });
        while (!done)
            std::this_thread::yield();
    }
    BOOST_TEST(ran_on_1.load());
    // A stop before run(): run() carries it out and returns.
    vow::reactor_pool pool({.threads = 2});
    pool.stop();
    pool.run();
    BOOST_TEST(pool.stopping());
    pool.run();   // again: returns at once
}

BOOST_AUTO_TEST_SUITE_END()
