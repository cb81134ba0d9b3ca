// call_soon_threadsafe: posts from other threads join the loop's FIFO.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <thread>
#include <vector>

BOOST_AUTO_TEST_SUITE(threadsafe_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(threadsafe, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(
    posts_from_eight_threads_are_never_lost_never_run_twice_and_keep_per_thread_order) {
    constexpr int threads = 8;
    constexpr std::uint32_t per_thread = 100'000;

    // Touched only by callbacks, that is on the loop thread.
    std::vector<std::uint32_t> next(threads, 0);
    std::uint64_t total = 0, out_of_order = 0;

    // The posters hold work guards, so run() cannot return before their last
    // post; the latch makes them post while the loop is running.
    vow::reactor::work_guard guard(r);
    std::latch start(threads + 1);
    std::vector<std::thread> posters;
    posters.reserve(threads);
    for (int t = 0; t < threads; ++t)
        posters.emplace_back([&, t, g = guard]() mutable {
            start.arrive_and_wait();
            for (std::uint32_t i = 0; i < per_thread; ++i)
                r.call_soon_threadsafe([&next, &total, &out_of_order, t, i] {
                    auto& n = next[std::size_t(t)];
                    if (n != i)
                        ++out_of_order;
                    n = i + 1;
                    ++total;
                });
            g.reset();
        });
    guard.reset();
    r.call_soon([&] { start.count_down(); });
    run(std::chrono::seconds(100));
    for (auto& p : posters)
        p.join();

    BOOST_TEST(total == std::uint64_t(threads) * per_thread);
    BOOST_TEST(out_of_order == 0u);
    for (int t = 0; t < threads; ++t)
        BOOST_TEST(next[std::size_t(t)] == per_thread, "thread " << t);
}

BOOST_AUTO_TEST_CASE(call_soon_threadsafe_before_run_is_kept) {
    bool ran = false;
    std::thread([&] { r.call_soon_threadsafe([&] { ran = true; }); }).join();
    BOOST_TEST(!ran);
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(call_soon_threadsafe_keeps_the_order_of_one_thread) {
    std::vector<int> order;
    std::thread([&] {
        for (int i = 0; i < 1000; ++i)
            r.call_soon_threadsafe([&order, i] { order.push_back(i); });
    }).join();
    run();
    BOOST_TEST_REQUIRE(order.size() == 1000u);
    for (int i = 0; i < 1000; ++i)
        BOOST_TEST_REQUIRE(order[std::size_t(i)] == i);
}

BOOST_AUTO_TEST_CASE(call_soon_threadsafe_wakes_a_loop_blocked_on_a_timer) {
    bool posted_ran = false, timer_fired = false;
    vow::handle far = r.call_later(1h, [&] { timer_fired = true; });
    std::promise<void> loop_running;
    r.call_soon([&] { loop_running.set_value(); });
    std::thread poster([&] {
        loop_running.get_future().wait();
        std::this_thread::sleep_for(50ms);
        r.call_soon_threadsafe([&] {
            posted_ran = true;
            BOOST_TEST(r.in_reactor_thread());
            far.cancel();  // the last armed timer: run() may return
        });
    });
    run(std::chrono::seconds(10));
    poster.join();
    BOOST_TEST(posted_ran);
    BOOST_TEST(!timer_fired);
}

BOOST_AUTO_TEST_CASE(call_soon_threadsafe_from_the_loop_thread_never_runs_inside_the_call) {
    bool ran = false;
    r.call_soon([&] {
        r.call_soon_threadsafe([&] { ran = true; });
        BOOST_TEST(!ran);
    });
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_burst_of_posts_while_the_loop_is_busy_all_run) {
    // Posts that arrive while a callback holds the loop are picked up after it.
    int ran = 0;
    r.call_soon([&] {
        std::thread([&] {
            for (int i = 0; i < 100; ++i)
                r.call_soon_threadsafe([&] { ++ran; });
        }).join();
        BOOST_TEST(ran == 0);
    });
    run();
    BOOST_TEST(ran == 100);
}

BOOST_AUTO_TEST_CASE(a_post_made_while_the_loop_runs_an_earlier_post_runs_before_run_returns) {
    // The second post finds the loop already woken and costs no wakeup: the
    // loop must pick it up after the first one, before it goes idle.
    std::atomic<bool> first_started{false}, second_posted{false};
    bool second_ran = false;
    vow::reactor::work_guard guard(r);
    std::thread poster([&] {
        r.call_soon_threadsafe([&] {
            first_started = true;
            while (!second_posted)
                std::this_thread::yield();
            guard.reset();  // nothing keeps run() going but the second post
        });
        while (!first_started)
            std::this_thread::yield();
        r.call_soon_threadsafe([&] { second_ran = true; });
        second_posted = true;
    });
    run();
    poster.join();
    BOOST_TEST(second_ran);
}

BOOST_AUTO_TEST_CASE(stop_inside_a_batch_of_posts_leaves_the_rest_in_order_for_the_next_run) {
    std::vector<int> order;
    std::thread([&] {
        for (int i = 0; i < 600; ++i)  // more than two blocks of the queue
            r.call_soon_threadsafe([&, i] {
                order.push_back(i);
                if (i == 100 || i == 400)
                    r.stop();
            });
    }).join();
    run();
    BOOST_TEST(order.size() == 101u);
    r.call_soon([&] { order.push_back(-1); });  // joins the queue behind the posts
    run();
    BOOST_TEST(order.size() == 401u);
    run();
    BOOST_TEST_REQUIRE(order.size() == 601u);
    for (int i = 0; i < 600; ++i)
        BOOST_TEST_REQUIRE(order[std::size_t(i)] == i);
    BOOST_TEST(order.back() == -1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // threadsafe_test
