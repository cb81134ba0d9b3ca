// work_guard: keeps run() from returning for lack of work while it lives.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <future>
#include <thread>
#include <utility>

BOOST_AUTO_TEST_SUITE(work_guard_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(work_guard, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_work_guard_keeps_run_alive_until_reset_from_another_thread) {
    vow::reactor::work_guard guard(r);
    std::promise<void> loop_running;
    bool posted_ran = false;
    r.call_soon([&] { loop_running.set_value(); });
    std::thread worker([&] {
        loop_running.get_future().wait();
        // The loop has nothing to do now; only the guard keeps it in run().
        std::this_thread::sleep_for(50ms);
        r.call_soon_threadsafe([&] { posted_ran = true; });
        guard.reset();
    });
    run(std::chrono::seconds(10));
    worker.join();
    BOOST_TEST(posted_ran);
    BOOST_TEST(!guard.owns_work());
}

BOOST_AUTO_TEST_CASE(a_work_guard_reset_on_the_loop_thread_lets_run_return) {
    vow::reactor::work_guard guard(r);
    (void)r.call_later(5ms, [&] { guard.reset(); });
    run();
    BOOST_TEST(!guard.owns_work());
}

BOOST_AUTO_TEST_CASE(a_copy_of_a_work_guard_holds_work_of_its_own) {
    vow::reactor::work_guard first(r);
    vow::reactor::work_guard second(first);
    BOOST_TEST(first.owns_work());
    BOOST_TEST(second.owns_work());
    int step = 0;
    std::thread worker([&] {
        first.reset();
        r.call_soon_threadsafe([&] { step = 1; });
        std::this_thread::sleep_for(50ms);
        // Had the copy not held work of its own, run() would be gone by now.
        r.call_soon_threadsafe([&] { step = step == 1 ? 2 : -1; });
        second.reset();
    });
    run(std::chrono::seconds(10));
    worker.join();
    BOOST_TEST(step == 2);
}

BOOST_AUTO_TEST_CASE(copy_assignment_holds_work_and_releases_the_old) {
    vow::reactor::work_guard a(r);
    vow::reactor::work_guard b;
    b = a;
    BOOST_TEST(a.owns_work());
    BOOST_TEST(b.owns_work());
    a.reset();
    b = vow::reactor::work_guard();  // releases b's work
    BOOST_TEST(!b.owns_work());
    run();  // nothing holds work: returns at once
}

BOOST_AUTO_TEST_CASE(moving_a_work_guard_transfers_its_work) {
    vow::reactor::work_guard a(r);
    vow::reactor::work_guard b(std::move(a));
    BOOST_TEST(!a.owns_work());  // NOLINT(bugprone-use-after-move): moved-from is specified
    BOOST_TEST(b.owns_work());
    vow::reactor::work_guard c;
    c = std::move(b);
    BOOST_TEST(c.owns_work());
    a.reset();  // no-op: owns nothing
    (void)r.call_later(5ms, [&] { c.reset(); });
    run();
    BOOST_TEST(!c.owns_work());
}

BOOST_AUTO_TEST_CASE(a_default_work_guard_owns_no_work) {
    vow::reactor::work_guard g;
    BOOST_TEST(!g.owns_work());
    g.reset();
    run();
}

BOOST_AUTO_TEST_CASE(a_work_guard_released_before_run_does_not_keep_it_alive) {
    { vow::reactor::work_guard g(r); }
    bool ran = false;
    r.call_soon([&] { ran = true; });
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_work_guard_made_and_dropped_on_another_thread_keeps_run_alive) {
    std::promise<void> loop_running;
    bool posted_ran = false;
    // Held from the start by the main thread; handed over to the worker.
    vow::reactor::work_guard guard(r);
    r.call_soon([&] { loop_running.set_value(); });
    std::thread worker([&, g = std::move(guard)]() mutable {
        loop_running.get_future().wait();
        vow::reactor::work_guard own(r);  // created on this thread
        g.reset();
        std::this_thread::sleep_for(20ms);
        r.call_soon_threadsafe([&] { posted_ran = true; });
        own.reset();
    });
    run(std::chrono::seconds(10));
    worker.join();
    BOOST_TEST(posted_ran);
}

BOOST_AUTO_TEST_CASE(stop_ends_run_even_while_a_work_guard_lives) {
    vow::reactor::work_guard guard(r);
    (void)r.call_later(1ms, [&] { r.stop(); });
    run();
    BOOST_TEST(guard.owns_work());
    guard.reset();
    run();
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // work_guard_test
