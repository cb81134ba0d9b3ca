// Signal handlers: the handler runs on the loop, not in signal context.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <csignal>
#include <signal.h>
#include <thread>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(signal_test)

BOOST_FIXTURE_TEST_SUITE(signal_handler, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_raised_signal_runs_its_handler_on_the_loop_thread) {
    bool ran = false, ran_inside_raise = true, on_loop_thread = false;
    vow::handle h = r.add_signal_handler(SIGUSR1, [&] {
        ran = true;
        on_loop_thread = r.in_reactor_thread() && r.running();
        h.cancel();
    });
    r.call_soon([&] {
        BOOST_TEST(std::raise(SIGUSR1) == 0);
        ran_inside_raise = ran;
    });
    run();
    BOOST_TEST(ran);
    BOOST_TEST(!ran_inside_raise);
    BOOST_TEST(on_loop_thread);
}

BOOST_AUTO_TEST_CASE(a_signal_raised_before_run_is_handled_once_the_loop_runs) {
    int ran = 0;
    vow::handle h = r.add_signal_handler(SIGUSR1, [&] {
        ++ran;
        h.cancel();
    });
    BOOST_TEST_REQUIRE(std::raise(SIGUSR1) == 0);
    BOOST_TEST(ran == 0);
    run();
    BOOST_TEST(ran == 1);
}

BOOST_AUTO_TEST_CASE(a_signal_handler_runs_each_time_the_signal_arrives) {
    int ran = 0;
    vow::handle h = r.add_signal_handler(SIGUSR1, [&] {
        if (++ran == 3)
            h.cancel();
        else
            r.call_soon([] { std::raise(SIGUSR1); });
    });
    r.call_soon([] { std::raise(SIGUSR1); });
    run();
    BOOST_TEST(ran == 3);
}

BOOST_AUTO_TEST_CASE(a_signal_sent_from_another_thread_wakes_the_loop) {
    bool ran = false;
    vow::handle h = r.add_signal_handler(SIGUSR2, [&] {
        ran = true;
        h.cancel();
    });
    // Sent to the process, so any thread may take it: the handler must still
    // run on the loop, which is blocked waiting when it arrives.
    std::thread sender([] { ::kill(::getpid(), SIGUSR2); });
    run();
    sender.join();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(an_armed_signal_handler_keeps_run_going_until_cancelled) {
    bool ran = false;
    vow::handle h = r.add_signal_handler(SIGUSR1, [&] { ran = true; });
    (void)r.call_later(std::chrono::milliseconds(10), [&] { h.cancel(); });
    run();
    BOOST_TEST(!ran);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_second_reactor_handles_signals_after_the_first_is_destroyed) {
    {
        vow::reactor first;
        // Left armed: the reactor's destruction must give the signal up.
        (void)first.add_signal_handler(SIGUSR1, [] {});
    }
    bool ran = false;
    vow::handle h = r.add_signal_handler(SIGUSR1, [&] {
        ran = true;
        h.cancel();
    });
    r.call_soon([] { std::raise(SIGUSR1); });
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // signal_test
