// Timers: call_later, call_at, call_every, and cancelling them.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <vector>

BOOST_AUTO_TEST_SUITE(timer_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(timer, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(timers_fire_in_deadline_order) {
    std::vector<int> order;
    // Armed in an order unrelated to their deadlines, all from one time
    // point. A deadline already past when its timer is armed means "now", so
    // the gaps must exceed the time it takes to arm them: under valgrind the
    // first call of each code path costs milliseconds.
    const auto unit = std::getenv("VOW_TEST_VALGRIND") ? 100ms : 10ms;
    r.update_time();
    auto t0 = r.now();
    (void)r.call_at(t0 + 4 * unit, [&] { order.push_back(40); });
    (void)r.call_at(t0 + 1 * unit, [&] { order.push_back(10); });
    (void)r.call_at(t0 + 3 * unit, [&] { order.push_back(30); });
    (void)r.call_at(t0 + 0 * unit, [&] { order.push_back(0); });
    (void)r.call_at(t0 + 2 * unit, [&] { order.push_back(20); });
    run();
    BOOST_TEST(order == (std::vector<int>{0, 10, 20, 30, 40}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_zero_delay_timer_runs_on_a_later_turn_not_inside_the_call) {
    bool fired = false;
    r.call_soon([&] {
        (void)r.call_later(0ms, [&] { fired = true; });
        BOOST_TEST(!fired);
    });
    run();
    BOOST_TEST(fired);
}

BOOST_AUTO_TEST_CASE(call_later_runs_no_earlier_than_its_delay) {
    auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point fired_at{};
    (void)r.call_later(30ms, [&] { fired_at = std::chrono::steady_clock::now(); });
    run();
    BOOST_TEST((fired_at - start >= 30ms));
}

BOOST_AUTO_TEST_CASE(now_advances_across_a_timer) {
    vow::reactor::time_point before{}, inside{};
    r.call_soon([&] {
        before = r.now();
        (void)r.call_later(20ms, [&] { inside = r.now(); });
    });
    run();
    BOOST_TEST((inside - before >= 20ms));
}

BOOST_AUTO_TEST_CASE(update_time_refreshes_the_cached_time) {
    vow::reactor::time_point cached{}, refreshed{};
    r.call_soon([&] {
        cached = r.now();
        auto wait_until = std::chrono::steady_clock::now() + 2ms;
        while (std::chrono::steady_clock::now() < wait_until) {
        }
        BOOST_TEST((r.now() == cached));  // cached for the whole callback
        r.update_time();
        refreshed = r.now();
    });
    run();
    BOOST_TEST((refreshed - cached >= 2ms));
}

BOOST_AUTO_TEST_CASE(call_at_runs_no_earlier_than_its_time_point) {
    auto when = vow::reactor::clock::now() + 20ms;
    vow::reactor::clock::time_point fired_at{};
    (void)r.call_at(when, [&] { fired_at = vow::reactor::clock::now(); });
    run();
    BOOST_TEST((fired_at >= when));
}

BOOST_AUTO_TEST_CASE(call_at_in_the_past_runs_on_a_later_turn) {
    bool fired = false;
    vow::handle h = r.call_at(vow::reactor::clock::now() - 1h, [&] { fired = true; });
    BOOST_TEST(!fired);
    BOOST_TEST(h.active());
    run();
    BOOST_TEST(fired);
}

BOOST_AUTO_TEST_CASE(a_timer_at_the_end_of_time_can_be_armed_and_cancelled) {
    bool fired = false;
    vow::handle later = r.call_later(vow::reactor::duration::max(), [&] { fired = true; });
    vow::handle at = r.call_at(vow::reactor::time_point::max(), [&] { fired = true; });
    BOOST_TEST(later.active());
    BOOST_TEST(at.active());
    (void)r.call_later(5ms, [&] {
        later.cancel();
        at.cancel();
    });
    run();
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(a_timer_at_the_end_of_time_alone_keeps_the_loop_waiting) {
    // An armed timer is work, however far away: run_once(false) finds
    // something to wait for, and nothing runs.
    bool fired = false;
    vow::handle at = r.call_at(vow::reactor::time_point::max(), [&] { fired = true; });
    BOOST_TEST(r.run_once(false));
    BOOST_TEST(at.active());
    at.cancel();
    BOOST_TEST(!r.run_once(false));
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(call_soon_runs_before_a_zero_delay_timer_armed_in_the_same_callback) {
    // Whichever is queued first: a zero delay timer waits for the loop's
    // next look at timers, queued callbacks run in the turn they were queued.
    std::vector<char> order;
    r.call_soon([&] {
        (void)r.call_later(0ms, [&] { order.push_back('t'); });
        r.call_soon([&] { order.push_back('a'); });
    });
    r.call_soon([&] {
        r.call_soon([&] { order.push_back('b'); });
        (void)r.call_later(0ms, [&] { order.push_back('u'); });
    });
    run();
    BOOST_TEST(order == (std::vector<char>{'a', 'b', 't', 'u'}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_cancelled_timer_never_runs) {
    bool fired = false, later_fired = false;
    vow::handle h = r.call_later(5ms, [&] { fired = true; });
    (void)r.call_later(20ms, [&] { later_fired = true; });
    h.cancel();
    run();
    BOOST_TEST(!fired);
    BOOST_TEST(later_fired);
}

BOOST_AUTO_TEST_CASE(a_timer_cancelled_from_a_callback_before_its_deadline_never_runs) {
    bool fired = false;
    vow::handle h = r.call_later(20ms, [&] { fired = true; });
    (void)r.call_later(1ms, [&] { h.cancel(); });
    run();
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(cancel_from_an_earlier_callback_of_the_same_turn_prevents_the_timer) {
    // Both timers are armed by one callback, so they share a deadline and
    // fire in the same turn. Each cancels the other: whichever libevent runs
    // first, the second must not run although its event already fired.
    int ran = 0;
    vow::handle a, b;
    r.call_soon([&] {
        a = r.call_later(2ms, [&] {
            ++ran;
            b.cancel();
        });
        b = r.call_later(2ms, [&] {
            ++ran;
            a.cancel();
        });
    });
    run();
    BOOST_TEST(ran == 1);
    BOOST_TEST(!a.active());
    BOOST_TEST(!b.active());
}

BOOST_AUTO_TEST_CASE(cancel_from_an_earlier_callback_of_the_same_turn_prevents_a_periodic_tick) {
    int ran = 0;
    vow::handle a, b;
    r.call_soon([&] {
        a = r.call_every(2ms, [&] {
            ++ran;
            a.cancel();
            b.cancel();
        });
        b = r.call_every(2ms, [&] {
            ++ran;
            a.cancel();
            b.cancel();
        });
    });
    run();
    BOOST_TEST(ran == 1);
}

BOOST_AUTO_TEST_CASE(cancel_inside_a_one_shot_callback_is_harmless) {
    int ran = 0;
    vow::handle h;
    h = r.call_later(1ms, [&] {
        ++ran;
        h.cancel();
        h.cancel();
    });
    run();
    BOOST_TEST(ran == 1);
    h.cancel();
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(call_every_ticks_until_cancelled_inside_its_own_callback) {
    int ticks = 0;
    vow::handle h;
    h = r.call_every(1ms, [&] {
        if (++ticks == 5)
            h.cancel();
    });
    run();  // returns only because the last armed timer was cancelled
    BOOST_TEST(ticks == 5);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(call_every_waits_one_period_before_the_first_tick) {
    auto start = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point first{};
    vow::handle h;
    h = r.call_every(30ms, [&] {
        first = std::chrono::steady_clock::now();
        h.cancel();
    });
    run();
    BOOST_TEST((first - start >= 30ms));
}

BOOST_AUTO_TEST_CASE(call_every_ticks_are_at_least_a_period_apart_from_the_start) {
    // No drift means tick n is at or after start + n * period.
    auto start = std::chrono::steady_clock::now();
    std::vector<std::chrono::steady_clock::time_point> ticks;
    vow::handle h;
    h = r.call_every(10ms, [&] {
        ticks.push_back(std::chrono::steady_clock::now());
        if (ticks.size() == 5)
            h.cancel();
    });
    run();
    BOOST_TEST_REQUIRE(ticks.size() == 5u);
    for (std::size_t i = 0; i < ticks.size(); ++i)
        BOOST_TEST((ticks[i] - start >= 10ms * static_cast<int>(i + 1)), "tick " << i);
}

BOOST_AUTO_TEST_CASE(call_every_stops_ticking_when_cancelled_from_another_callback) {
    int ticks = 0, ticks_at_cancel = -1;
    vow::handle h;
    h = r.call_every(1ms, [&] {
        if (++ticks == 3)
            r.call_soon([&] {
                ticks_at_cancel = ticks;
                h.cancel();
            });
    });
    run();  // returns only because the periodic timer was cancelled
    BOOST_TEST(ticks_at_cancel >= 3);
    BOOST_TEST(ticks == ticks_at_cancel);
}

BOOST_AUTO_TEST_CASE(dropping_a_handle_does_not_cancel) {
    bool fired = false;
    int ticks = 0;
    {
        vow::handle dropped = r.call_later(1ms, [&] { fired = true; });
    }
    (void)r.call_later(1ms, [&] {});  // the (void) idiom of the docs
    {
        // Nothing can cancel this one any more: it ticks until the loop stops,
        // and the reactor frees it when destroyed.
        vow::handle dropped = r.call_every(1ms, [&] {
            if (++ticks == 3)
                r.stop();
        });
    }
    run();
    BOOST_TEST(fired);
    BOOST_TEST(ticks == 3);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // timer_test
