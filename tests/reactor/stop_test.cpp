// stop(): from a callback, from another thread, and before run().
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

BOOST_AUTO_TEST_SUITE(stop_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(stop, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(stop_from_a_callback_returns_after_that_callback) {
    std::vector<int> order;
    r.call_soon([&] {
        r.stop();
        order.push_back(1);  // the callback that stops still runs to its end
    });
    r.call_soon([&] { order.push_back(2); });
    run();
    BOOST_TEST(order == (std::vector<int>{1}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(callbacks_still_queued_after_stop_run_on_the_next_run) {
    std::vector<int> order;
    r.call_soon([&] {
        order.push_back(1);
        r.stop();
        r.call_soon([&] { order.push_back(4); });
    });
    r.call_soon([&] { order.push_back(2); });
    r.call_soon([&] { order.push_back(3); });
    run();
    BOOST_TEST(order == (std::vector<int>{1}), boost::test_tools::per_element());
    BOOST_TEST(r.queued() == 3u);
    run();
    BOOST_TEST(order == (std::vector<int>{1, 2, 3, 4}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(stop_from_a_callback_returns_even_with_an_armed_timer) {
    bool fired = false;
    vow::handle far = r.call_later(1h, [&] { fired = true; });
    r.call_soon([&] { r.stop(); });
    run();
    BOOST_TEST(!fired);
    BOOST_TEST(far.active());
    far.cancel();
}

BOOST_AUTO_TEST_CASE(stop_from_a_callback_leaves_a_timer_due_in_the_same_turn_for_the_next_run) {
    bool fired = false;
    (void)r.call_later(0ms, [&] { fired = true; });  // due on the first turn
    r.call_soon([&] { r.stop(); });
    run();
    BOOST_TEST(!fired);
    run();
    BOOST_TEST(fired);
}

BOOST_AUTO_TEST_CASE(stop_from_a_timer_leaves_the_other_due_timers_for_the_next_run) {
    // Two timers armed from one callback share a deadline and so fire in
    // the same turn; whichever runs first stops the loop.
    int ran = 0;
    r.call_soon([&] {
        for (int i = 0; i < 2; ++i)
            (void)r.call_later(2ms, [&] {
                if (++ran == 1)
                    r.stop();
            });
    });
    run();
    BOOST_TEST(ran == 1);
    run();
    BOOST_TEST(ran == 2);
}

BOOST_AUTO_TEST_CASE(stop_from_another_thread_wakes_a_run_blocked_on_a_timer) {
    bool fired = false;
    // Longer than the fixture's time limit: were stop() unable to wake the
    // loop (the watchdog uses it too), this timer would end run() and the
    // test would fail on `fired` instead of hanging.
    vow::handle far = r.call_later(15s, [&] { fired = true; });
    std::promise<void> loop_running;
    r.call_soon([&] { loop_running.set_value(); });
    std::thread stopper([&] {
        loop_running.get_future().wait();
        // Give the loop time to go back to waiting on the timer.
        std::this_thread::sleep_for(50ms);
        r.stop();
    });
    run(std::chrono::seconds(10));
    stopper.join();
    BOOST_TEST(!fired);
    BOOST_TEST(far.active());
    far.cancel();
}

BOOST_AUTO_TEST_CASE(stop_before_run_is_not_lost) {
    bool ran = false;
    r.stop();
    r.call_soon([&] { ran = true; });
    run();
    BOOST_TEST(!ran);
    BOOST_TEST(r.queued() == 1u);
    // The stop was used up by the first run().
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(stop_from_another_thread_before_run_is_not_lost) {
    bool ran = false;
    std::thread([&] { r.stop(); }).join();
    r.call_soon([&] { ran = true; });
    run();
    BOOST_TEST(!ran);
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(stop_before_run_once_is_not_lost) {
    bool ran = false;
    r.stop();
    r.call_soon([&] { ran = true; });
    BOOST_TEST(r.run_once());
    BOOST_TEST(!ran);
    BOOST_TEST(r.run_once());
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_stop_used_by_one_run_does_not_stop_the_next) {
    int ran = 0;
    r.call_soon([&] {
        ++ran;
        r.stop();
    });
    run();
    r.call_soon([&] { ++ran; });
    r.call_soon([&] { ++ran; });
    run();
    BOOST_TEST(ran == 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // stop_test
