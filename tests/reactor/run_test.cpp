// run() and run_once(): when the loop returns, and who may enter it.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(run_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(run, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(run_returns_at_once_when_there_is_no_work) {
    run();
    BOOST_TEST(!r.running());
}

BOOST_AUTO_TEST_CASE(run_returns_after_the_last_callback_when_only_callbacks_were_queued) {
    int ran = 0;
    r.call_soon([&] { ++ran; });
    r.call_soon([&] { ++ran; });
    run();
    BOOST_TEST(ran == 2);
}

BOOST_AUTO_TEST_CASE(run_returns_after_the_last_timer_fires) {
    bool fired = false;
    (void)r.call_later(5ms, [&] { fired = true; });
    run();
    BOOST_TEST(fired);
}

BOOST_AUTO_TEST_CASE(run_returns_after_the_last_watcher_is_cancelled) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    // Nothing is ever written: only the cancel can let run() return.
    vow::handle reader = r.add_reader(fds[0], [] {});
    (void)r.call_later(5ms, [&] { reader.cancel(); });
    run();
    BOOST_TEST(!reader.active());
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(run_returns_after_the_last_periodic_timer_is_cancelled) {
    int ticks = 0;
    vow::handle every = r.call_every(1ms, [&] { ++ticks; });
    (void)r.call_later(20ms, [&] { every.cancel(); });
    run();
    BOOST_TEST(!every.active());
}

BOOST_AUTO_TEST_CASE(run_can_be_called_again_after_it_returned) {
    int ran = 0;
    r.call_soon([&] { ++ran; });
    run();
    r.call_soon([&] { ++ran; });
    (void)r.call_later(1ms, [&] { ++ran; });
    run();
    BOOST_TEST(ran == 3);
}

BOOST_AUTO_TEST_CASE(nested_run_from_a_callback_throws_usage_error) {
    bool checked = false;
    r.call_soon([&] {
        BOOST_CHECK_THROW(r.run(), vow::usage_error);
        BOOST_CHECK_THROW((void)r.run_once(), vow::usage_error);
        try {
            r.run();
        } catch (const vow::usage_error& e) {
            BOOST_TEST(std::string(e.what()).find("already running") != std::string::npos);
        }
        // The failed attempt must not have ended the outer run.
        BOOST_TEST(r.running());
        checked = true;
    });
    bool later = false;
    r.call_soon([&] { later = true; });
    run();
    BOOST_TEST(checked);
    BOOST_TEST(later);
    BOOST_TEST(reported.empty());
}

BOOST_AUTO_TEST_CASE(a_nested_run_that_escapes_a_callback_is_reported_and_the_loop_goes_on) {
    bool later = false;
    r.call_soon([&] { r.run(); });
    r.call_soon([&] { later = true; });
    run();
    BOOST_TEST(later);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0].find("call_soon callback") == 0u);
}

BOOST_AUTO_TEST_CASE(running_is_true_only_inside_run) {
    bool inside = false;
    BOOST_TEST(!r.running());
    r.call_soon([&] { inside = r.running(); });
    run();
    BOOST_TEST(inside);
    BOOST_TEST(!r.running());
}

BOOST_AUTO_TEST_CASE(in_reactor_thread_is_true_only_on_the_thread_that_runs_the_loop) {
    BOOST_TEST(r.in_reactor_thread());
    bool other_thread_says = true;
    std::thread([&] { other_thread_says = r.in_reactor_thread(); }).join();
    BOOST_TEST(!other_thread_says);

    bool inside = false;
    r.call_soon([&] { inside = r.in_reactor_thread(); });
    run();
    BOOST_TEST(inside);
}

BOOST_AUTO_TEST_CASE(calling_run_on_another_thread_moves_the_reactor_there) {
    bool inside = false, after = false;
    r.call_soon([&] { inside = r.in_reactor_thread(); });
    std::thread([&] {
        r.run();
        after = r.in_reactor_thread();
    }).join();
    BOOST_TEST(inside);
    BOOST_TEST(after);  // it stays there after run() returns (docs/design.md)
    BOOST_TEST(!r.in_reactor_thread());

    // Handed back (the join synchronises) by running it here again: with
    // nothing to do, run() returns at once. Until then this thread may not
    // use it (a call_soon here would abort where thread checks are on).
    run();
    BOOST_TEST(r.in_reactor_thread());
    bool back = false;
    r.call_soon([&] { back = r.in_reactor_thread(); });
    run();
    BOOST_TEST(back);
}

BOOST_AUTO_TEST_CASE(run_once_returns_false_when_nothing_is_left_to_wait_for) {
    BOOST_TEST(!r.run_once());
    BOOST_TEST(!r.running());
}

BOOST_AUTO_TEST_CASE(run_once_runs_what_is_ready_and_returns) {
    int ran = 0;
    r.call_soon([&] { ++ran; });
    r.call_soon([&] { ++ran; });
    BOOST_TEST(r.run_once());
    BOOST_TEST(ran == 2);
    BOOST_TEST(!r.run_once());
}

BOOST_AUTO_TEST_CASE(run_once_without_blocking_does_not_wait_for_a_timer) {
    bool fired = false;
    vow::handle far = r.call_later(1h, [&] { fired = true; });
    BOOST_TEST(r.run_once(false));
    BOOST_TEST(!fired);
    BOOST_TEST(far.active());
    far.cancel();
    BOOST_TEST(!r.run_once(false));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // run_test
