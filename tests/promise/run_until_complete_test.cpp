// run_until_complete: drives the reactor until one future settles, returns
// its value or rethrows its error, waits for other threads, and refuses to
// hang (stalled_error) or to nest (usage_error).
//
// These tests call vow::run_until_complete directly rather than the
// fixture's wait(), whose watchdog would hide the behaviour under test.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/run_until_complete.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>

BOOST_AUTO_TEST_SUITE(run_until_complete_test)

using namespace std::chrono_literals;
using vow::test::tagged_error;

BOOST_FIXTURE_TEST_SUITE(run_until_complete, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(returns_the_value) {
    auto f = vow::make_ready_future(r, 1).then([](int n) { return std::to_string(n + 1); });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == "2");
}

BOOST_AUTO_TEST_CASE(returns_for_a_future_void) {
    bool ran = false;
    vow::run_until_complete(r, vow::make_ready_future(r).then([&] { ran = true; }));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(returns_a_move_only_value) {
    auto v = vow::run_until_complete(r, vow::make_ready_future(r, std::make_unique<int>(2)));
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(*v == 2);
}

BOOST_AUTO_TEST_CASE(rethrows_the_error_itself) {
    auto error = std::make_exception_ptr(tagged_error(5));
    auto f = vow::make_ready_future(r, 1).then([&](int) -> int { std::rethrow_exception(error); });
    try {
        vow::run_until_complete(r, std::move(f));
        BOOST_FAIL("run_until_complete returned for a failed future");
    } catch (const tagged_error& e) {
        BOOST_TEST(e.tag == 5);
        BOOST_TEST((std::current_exception() == error));
    }
}

BOOST_AUTO_TEST_CASE(waits_while_another_thread_resolves_later) {
    vow::promise<int> p(r);
    auto f = p.get_future().then([](int n) { return n * 2; });
    std::thread worker([p = std::move(p)]() mutable {
        std::this_thread::sleep_for(50ms);
        p.resolve(21);
    });
    // Nothing is queued on the reactor meanwhile: run() alone would return
    // at once for lack of work.
    int got = vow::run_until_complete(r, std::move(f));
    worker.join();
    BOOST_TEST(got == 42);
}

BOOST_AUTO_TEST_CASE(waits_for_a_promise_broken_on_another_thread) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    std::thread worker([p = std::move(p)]() mutable {
        std::this_thread::sleep_for(20ms);
        auto gone = std::move(p);
    });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), vow::broken_promise);
    worker.join();
}

BOOST_AUTO_TEST_CASE(throws_stalled_error_when_the_reactor_is_stopped_before_the_future_settles) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    r.call_soon([&] { r.stop(); });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), vow::stalled_error);
    // The reactor and the promise are still usable afterwards.
    p.resolve(1);
    run();
}

BOOST_AUTO_TEST_CASE(throws_stalled_error_when_stopped_from_another_thread_while_waiting) {
    // The loop is idle, waiting for the worker's promise, when another
    // thread calls stop(). As a safety net the worker resolves the promise
    // much later: a lost stop() then shows as a failure, not as a hang.
    vow::promise<int> p(r);
    auto f = p.get_future();
    std::atomic<bool> finished{false};
    std::thread stopper([&] {
        std::this_thread::sleep_for(50ms);
        r.stop();
    });
    std::thread worker([&, p = std::move(p)]() mutable {
        for (int i = 0; i < 500 && !finished.load(); ++i)
            std::this_thread::sleep_for(10ms);
        p.resolve(1);
    });
    try {
        (void)vow::run_until_complete(r, std::move(f));
        BOOST_ERROR("run_until_complete returned a value: the stop() was lost");
    } catch (const vow::stalled_error&) {
    }
    finished = true;
    stopper.join();
    worker.join();
    run();  // the worker's post, if any
}

BOOST_AUTO_TEST_CASE(stalled_error_names_where_the_future_was_created) {
    vow::promise<int> p(r);
    const auto created = std::source_location::current(); auto f = p.get_future().then([](int n) { return n; });
    r.stop();
    try {
        (void)vow::run_until_complete(r, std::move(f));
        BOOST_FAIL("no stalled_error");
    } catch (const vow::stalled_error& e) {
        std::string what = e.what();
        BOOST_TEST_INFO("what(): " << what);
        BOOST_TEST(what.find(":" + std::to_string(created.line())) != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_nested_call_from_a_callback_throws_usage_error) {
    bool threw = false;
    std::string what;
    auto f = vow::make_ready_future(r, 1).then([&](int n) {
        try {
            (void)vow::run_until_complete(r, vow::make_ready_future(r, 2));
        } catch (const vow::usage_error& e) {
            threw = true;
            what = e.what();
        }
        return n;
    });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 1);
    BOOST_TEST(threw);
    BOOST_TEST(what.find("run_until_complete") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_future_of_another_reactor_throws_invalid_argument) {
    vow::reactor other;
    auto f = vow::make_ready_future(other, 1);
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), vow::invalid_argument);
    vow::promise<int> p(other);
    BOOST_CHECK_THROW(vow::run_until_complete(r, p.get_future()), vow::invalid_argument);
    p.resolve(0);  // not broken: its future was dropped, and that would be reported
}

BOOST_AUTO_TEST_CASE(runs_other_work_while_it_waits) {
    int ticks = 0;
    vow::promise<int> p(r);
    auto f = p.get_future();
    (void)r.call_later(1ms, [&] { ++ticks; });
    (void)r.call_later(2ms, [&] {
        ++ticks;
        p.resolve(ticks);
    });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 2);
}

BOOST_AUTO_TEST_CASE(may_be_called_again_on_the_same_reactor) {
    for (int i = 0; i < 3; ++i) {
        vow::promise<int> p(r);
        auto f = p.get_future();
        r.call_soon([&p, i] { p.resolve(i); });
        BOOST_TEST(vow::run_until_complete(r, std::move(f)) == i);
    }
}

BOOST_AUTO_TEST_CASE(an_already_settled_future_returns_at_once) {
    vow::promise<int> p(r);
    p.resolve(3);
    BOOST_TEST(vow::run_until_complete(r, p.get_future()) == 3);
    BOOST_CHECK_THROW(vow::run_until_complete(r, vow::make_exception_future<int>(r, tagged_error(0))), tagged_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // run_until_complete_test
