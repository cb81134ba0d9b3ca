// vow::sleep: a future<void> fulfilled after at least the delay. These are
// correctness checks with generous margins, never speed assertions.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/sleep.hpp>

#include <chrono>
#include <stop_token>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(sleep_test)

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// Not "sleep": that is ::sleep from <unistd.h>.
BOOST_FIXTURE_TEST_SUITE(sleep_suite, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(sleep_resolves_after_at_least_the_delay) {
    for (auto d : {0ms, 1ms, 20ms, 60ms}) {
        auto start = clock_type::now();
        auto f = vow::sleep(r, d);
        static_assert(std::is_same_v<decltype(f), vow::future<void>>);
        BOOST_TEST(!f.available());  // even a zero delay resolves on a later turn
        wait(std::move(f));
        auto took = clock_type::now() - start;
        BOOST_TEST_INFO("delay " << d.count() << " ms, took "
                                 << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us");
        BOOST_TEST((took >= d));
    }
}

BOOST_AUTO_TEST_CASE(the_continuation_runs_on_the_reactor_thread) {
    std::thread::id ran_on;
    wait(vow::sleep(r, 1ms).then([&] { ran_on = std::this_thread::get_id(); }));
    BOOST_TEST((ran_on == reactor_thread));
}

BOOST_AUTO_TEST_CASE(sleeps_resolve_in_deadline_order_not_creation_order) {
    std::vector<std::string> order;
    auto slow = vow::sleep(r, 80ms).then([&] { order.push_back("80ms"); });
    auto fast = vow::sleep(r, 5ms).then([&] { order.push_back("5ms"); });
    wait(std::move(slow));
    wait(std::move(fast));
    BOOST_TEST(order == (std::vector<std::string>{"5ms", "80ms"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_sleep_in_the_middle_of_a_chain_delays_the_rest) {
    auto start = clock_type::now();
    auto f = vow::make_ready_future(r, 2).then([&](int n) { return vow::sleep(r, 30ms).then([n] { return n * 2; }); });
    BOOST_TEST(wait(std::move(f)) == 4);
    BOOST_TEST((clock_type::now() - start >= 30ms));
}

BOOST_AUTO_TEST_CASE(a_negative_delay_throws_invalid_argument_and_reports_nothing) {
    BOOST_CHECK_THROW((void)vow::sleep(r, -1ms), vow::invalid_argument);
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_stop_request_rejects_the_sleep_with_cancelled_error) {
    std::stop_source stop;
    auto start = clock_type::now();
    auto f = vow::sleep(r, 1h, stop.get_token());
    (void)r.call_later(5ms, [&] { stop.request_stop(); });
    BOOST_CHECK_THROW(wait(std::move(f)), vow::cancelled_error);
    BOOST_TEST((clock_type::now() - start < 1h));
}

BOOST_AUTO_TEST_CASE(a_stop_already_requested_rejects_at_once) {
    std::stop_source stop;
    stop.request_stop();
    auto f = vow::sleep(r, 1h, stop.get_token());
    BOOST_TEST(f.failed());
    BOOST_CHECK_THROW(wait(std::move(f)), vow::cancelled_error);
}

BOOST_AUTO_TEST_CASE(a_sleep_with_an_unused_stop_token_resolves_normally) {
    std::stop_source stop;
    auto start = clock_type::now();
    wait(vow::sleep(r, 10ms, stop.get_token()));
    BOOST_TEST((clock_type::now() - start >= 10ms));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // sleep_test
