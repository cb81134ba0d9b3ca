// Cancellation through std::stop_token: vow::sleep, and the waiters of
// semaphore, queue and event, which leave the line when their stop is
// requested (CPython's cancelled waiters in test_locks and test_queues).
//
// GCC 12 with -fsanitize=address flags libstdc++'s own std::stop_source()
// constructor (it hands `*this` to its shared state) as a read of an
// uninitialized object once it is inlined here; the warning is a false
// positive, and it must be silenced before <stop_token> is first included.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <exception>
#include <source_location>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(cancellation_test)

using namespace std::chrono_literals;
using boost::test_tools::per_element;

namespace {

using vow::test::message_of;

struct fixture : vow::test::reactor_fixture {
    std::vector<std::string> unhandled;
    vow::unhandled_rejection_handler previous = vow::set_unhandled_rejection_handler(
        [this](std::exception_ptr e, const std::source_location&) { unhandled.push_back(message_of(e)); });
    fixture() = default;
    fixture(const fixture&) = delete;
    fixture& operator=(const fixture&) = delete;
    ~fixture() { vow::set_unhandled_rejection_handler(std::move(previous)); }

    // Runs until idle: fails the test if something (an hour-long timer that
    // should have been freed) keeps the loop busy for seconds.
    void run_until_idle() { run(std::chrono::seconds(5)); }
};

// "value", "cancelled" or "error: <what>": how a future<void> settled.
struct outcome {
    std::string text = "pending";
    vow::future<void> chain;
    explicit outcome(vow::future<void> f)
        : chain(std::move(f)
                    .then([this] { text = "value"; })
                    .catch_([this](std::exception_ptr e) {
                        try {
                            std::rethrow_exception(e);
                        } catch (const vow::cancelled_error&) {
                            text = "cancelled";
                        } catch (const std::exception& ex) {
                            text = std::string("error: ") + ex.what();
                        }
                    })) {}
    outcome(const outcome&) = delete;
    outcome& operator=(const outcome&) = delete;
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(cancellation, fixture)

BOOST_AUTO_TEST_CASE(sleep_rejects_with_cancelled_error_when_stop_is_requested_on_the_loop_thread) {
    std::stop_source stop;
    outcome nap(vow::sleep(r, 1h, stop.get_token()));
    r.call_soon([&] { stop.request_stop(); });
    run_until_idle();  // returns only because the hour-long timer was freed
    BOOST_TEST(nap.text == "cancelled");
}

BOOST_AUTO_TEST_CASE(sleep_rejects_with_cancelled_error_when_stop_is_requested_on_another_thread) {
    std::stop_source stop;
    auto nap = vow::sleep(r, 1h, stop.get_token());
    std::thread canceller([&] {
        std::this_thread::sleep_for(2ms);
        stop.request_stop();
    });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(nap)), vow::cancelled_error);
    canceller.join();
    run_until_idle();
}

BOOST_AUTO_TEST_CASE(sleep_with_stop_already_requested_rejects_without_arming_a_timer) {
    std::stop_source stop;
    stop.request_stop();
    bool ran = false;
    auto nap = vow::sleep(r, 1h, stop.get_token()).catch_([&](const vow::cancelled_error&) { ran = true; });
    BOOST_TEST(!ran);  // rejected, but handlers still run on a later turn
    run_until_idle();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_stop_after_the_sleep_completed_does_nothing) {
    std::stop_source stop;
    outcome nap(vow::sleep(r, 1ms, stop.get_token()));
    run_until_idle();
    BOOST_TEST(nap.text == "value");
    stop.request_stop();
    run_until_idle();
    BOOST_TEST(nap.text == "value");
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_stop_in_the_same_turn_as_the_timer_settles_the_sleep_once) {
    for (int i = 0; i < 50; ++i) {
        std::stop_source stop;
        int calls = 0;
        auto nap = vow::sleep(r, 0ms, stop.get_token())
                       .then([&] { ++calls; })
                       .catch_([&](const vow::cancelled_error&) { ++calls; });
        (void)r.call_later(0ms, [&] { stop.request_stop(); });
        run_until_idle();
        BOOST_TEST(calls == 1);
    }
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_sleep_without_a_possible_stop_just_sleeps) {
    outcome nap(vow::sleep(r, 1ms, std::stop_token{}));
    run_until_idle();
    BOOST_TEST(nap.text == "value");
}

BOOST_AUTO_TEST_CASE(a_cancelled_semaphore_waiter_leaves_the_line_and_the_next_one_is_served) {
    vow::semaphore sem(r, 0);
    std::stop_source stop;
    outcome first(sem.acquire(stop.get_token()));
    outcome second(sem.acquire());
    BOOST_TEST(sem.waiting() == 2u);
    stop.request_stop();
    run_until_idle();
    BOOST_TEST(first.text == "cancelled");
    BOOST_TEST(sem.waiting() == 1u);
    sem.release();
    run_until_idle();
    BOOST_TEST(second.text == "value");
    BOOST_TEST(sem.available() == 0u);  // the permit went to `second`, not back to the pool
    BOOST_TEST(sem.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(a_semaphore_waiter_cancelled_from_another_thread_leaves_the_line) {
    vow::semaphore sem(r, 0);
    std::stop_source stop;
    auto first = sem.acquire(stop.get_token());
    outcome second(sem.acquire());
    std::thread canceller([&] { stop.request_stop(); });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(first)), vow::cancelled_error);
    canceller.join();
    sem.release();
    run_until_idle();
    BOOST_TEST(second.text == "value");
}

BOOST_AUTO_TEST_CASE(a_stop_after_the_waiter_was_served_does_nothing) {
    vow::semaphore sem(r, 0);
    std::stop_source stop;
    outcome waiter(sem.acquire(stop.get_token()));
    sem.release();
    stop.request_stop();  // same turn: the waiter already holds the permit
    run_until_idle();
    BOOST_TEST(waiter.text == "value");
    BOOST_TEST(sem.available() == 0u);
}

BOOST_AUTO_TEST_CASE(a_cancelled_pop_leaves_the_line_and_the_next_pop_gets_the_value) {
    vow::queue<int> q(r, 4);
    std::stop_source stop;
    auto first = q.pop(stop.get_token()).then([](int) { return std::string("value"); });
    std::vector<int> got;
    auto second = q.pop().then([&](int v) { got.push_back(v); });
    stop.request_stop();
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(first)), vow::cancelled_error);
    (void)q.push(7);
    run_until_idle();
    BOOST_TEST(got == (std::vector<int>{7}), per_element());
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(a_cancelled_push_leaves_the_line_and_drops_its_value) {
    vow::queue<int> q(r, 1);
    std::stop_source stop;
    outcome one(q.push(1));
    outcome two(q.push(2, stop.get_token()));
    outcome three(q.push(3));
    stop.request_stop();
    run_until_idle();
    BOOST_TEST(one.text == "value");
    BOOST_TEST(two.text == "cancelled");
    BOOST_TEST(three.text == "pending");
    std::vector<int> popped;
    for (int i = 0; i < 2; ++i)
        popped.push_back(vow::run_until_complete(r, q.pop()));
    BOOST_TEST(popped == (std::vector<int>{1, 3}), per_element());
    run_until_idle();
    BOOST_TEST(three.text == "value");
}

BOOST_AUTO_TEST_CASE(a_cancelled_event_waiter_leaves_the_line) {
    vow::event ev(r);
    std::stop_source stop;
    outcome first(ev.wait(stop.get_token()));
    outcome second(ev.wait());
    stop.request_stop();
    run_until_idle();
    BOOST_TEST(first.text == "cancelled");
    BOOST_TEST(ev.waiting() == 1u);
    ev.set();
    run_until_idle();
    BOOST_TEST(second.text == "value");
}

BOOST_AUTO_TEST_CASE(a_waiter_with_stop_already_requested_is_cancelled) {
    vow::semaphore sem(r, 0);
    vow::event ev(r);
    vow::queue<int> q(r, 1);
    std::stop_source stop;
    stop.request_stop();
    outcome acquire(sem.acquire(stop.get_token()));
    outcome wait(ev.wait(stop.get_token()));
    auto pop = q.pop(stop.get_token());
    run_until_idle();
    BOOST_TEST(acquire.text == "cancelled");
    BOOST_TEST(wait.text == "cancelled");
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(pop)), vow::cancelled_error);
    BOOST_TEST(sem.waiting() == 0u);
    BOOST_TEST(ev.waiting() == 0u);
}

BOOST_AUTO_TEST_CASE(a_stop_requested_after_the_primitive_is_gone_does_nothing) {
    std::stop_source stop;
    std::string text;
    vow::future<void> chain;
    {
        vow::semaphore sem(r, 0);
        chain = sem.acquire(stop.get_token()).catch_([&](std::exception_ptr e) { text = message_of(e); });
    }  // the waiter is broken here
    stop.request_stop();
    run_until_idle();
    BOOST_TEST(text.find("destroyed") != std::string::npos, text);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // cancellation_test
