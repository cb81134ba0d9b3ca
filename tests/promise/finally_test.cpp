// future::finally: runs on both paths and lets the result pass, unless the
// handler fails (a throw, or a returned future that rejects), which
// overrides it; a returned future is waited for. The core cases run in the
// three settle modes.
#include <boost/test/unit_test.hpp>
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(finally_test)

using namespace std::chrono_literals;
using vow::test::settle_mode;
using vow::test::tagged_error;
namespace data = boost::unit_test::data;

BOOST_FIXTURE_TEST_SUITE(finally, vow::test::promise_fixture)

// --- Promises/A+ core cases, in the three settle modes ---

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, finally_runs_on_a_value_and_passes_it_through,
                       data::make(vow::test::all_settle_modes), mode) {
    int calls = 0;
    std::thread::id ran_on;
    auto f = fulfilled<int>(mode, 8).finally([&] {
        ++calls;
        ran_on = std::this_thread::get_id();
    });
    static_assert(std::is_same_v<decltype(f), vow::future<int>>);
    BOOST_TEST(calls == 0);  // not inside finally()
    BOOST_TEST(wait(std::move(f)) == 8);
    BOOST_TEST(calls == 1);
    BOOST_TEST((ran_on == reactor_thread));
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, finally_runs_on_an_error_and_passes_it_through,
                       data::make(vow::test::all_settle_modes), mode) {
    auto error = std::make_exception_ptr(tagged_error(8));
    int calls = 0;
    auto f = rejected<int>(mode, error).finally([&] { ++calls; });
    BOOST_TEST((wait_error(std::move(f)) == error));
    BOOST_TEST(calls == 1);
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_throwing_handler_overrides_the_value,
                       data::make(vow::test::all_settle_modes), mode) {
    auto mine = std::make_exception_ptr(tagged_error(2));
    auto f = fulfilled<int>(mode, 1).finally([&] { std::rethrow_exception(mine); });
    BOOST_TEST((wait_error(std::move(f)) == mine));
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_throwing_handler_overrides_the_error,
                       data::make(vow::test::all_settle_modes), mode) {
    auto mine = std::make_exception_ptr(tagged_error(2));
    auto f = rejected<int>(mode, std::make_exception_ptr(tagged_error(1))).finally([&] {
        std::rethrow_exception(mine);
    });
    BOOST_TEST((wait_error(std::move(f)) == mine));
}

// --- a handler that returns a future ---

BOOST_AUTO_TEST_CASE(the_result_waits_for_the_future_the_handler_returns) {
    vow::promise<void> cleanup(r);
    auto cleanup_future = cleanup.get_future();
    std::vector<std::string> order;
    auto f = vow::make_ready_future(r, 5)
                 .finally([&] { return std::move(cleanup_future); })
                 .then([&](int n) {
                     order.push_back("after finally");
                     return n;
                 });
    (void)r.call_later(5ms, [&] {
        order.push_back("cleanup done");
        cleanup.resolve();
    });
    BOOST_TEST(wait(std::move(f)) == 5);
    BOOST_TEST(order == (std::vector<std::string>{"cleanup done", "after finally"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_fulfilled_returned_future_keeps_the_original_value_not_its_own) {
    auto f = vow::make_ready_future(r, 5).finally([&] { return vow::make_ready_future(r, std::string("other")); });
    static_assert(std::is_same_v<decltype(f), vow::future<int>>);
    BOOST_TEST(wait(std::move(f)) == 5);
}

BOOST_AUTO_TEST_CASE(a_fulfilled_returned_future_keeps_the_original_error) {
    auto error = std::make_exception_ptr(tagged_error(3));
    auto f = vow::make_exception_future<int>(r, error).finally([&] { return vow::make_ready_future(r); });
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(a_rejected_returned_future_overrides_the_value) {
    auto mine = std::make_exception_ptr(tagged_error(4));
    auto f = vow::make_ready_future(r, 5).finally([&] { return vow::make_exception_future<void>(r, mine); });
    BOOST_TEST((wait_error(std::move(f)) == mine));
}

BOOST_AUTO_TEST_CASE(a_rejected_returned_future_overrides_the_error) {
    auto mine = std::make_exception_ptr(tagged_error(4));
    auto f = vow::make_exception_future<int>(r, tagged_error(1)).finally([&] {
        return vow::make_exception_future<int>(r, mine);
    });
    BOOST_TEST((wait_error(std::move(f)) == mine));
}

// --- types ---

BOOST_AUTO_TEST_CASE(finally_on_a_void_future) {
    int calls = 0;
    auto f = vow::make_ready_future(r).finally([&] { ++calls; });
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    wait(std::move(f));
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(a_move_only_value_passes_through_finally_even_while_it_waits) {
    vow::promise<void> cleanup(r);
    auto cleanup_future = cleanup.get_future();
    auto f = vow::make_ready_future(r, std::make_unique<int>(9)).finally([&] { return std::move(cleanup_future); });
    (void)r.call_later(1ms, [&] { cleanup.resolve(); });
    auto v = wait(std::move(f));
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(*v == 9);
}

BOOST_AUTO_TEST_CASE(finally_is_transparent_in_the_middle_of_a_chain) {
    std::vector<std::string> order;
    auto f = vow::make_ready_future(r, 1)
                 .then([&](int n) { return order.push_back("then"), n + 1; })
                 .finally([&] { order.push_back("finally"); })
                 .then([&](int n) { return order.push_back("then again"), n * 10; });
    BOOST_TEST(wait(std::move(f)) == 20);
    BOOST_TEST(order == (std::vector<std::string>{"then", "finally", "then again"}),
               boost::test_tools::per_element());
}

// --- consuming the future ---


BOOST_AUTO_TEST_CASE(finally_on_an_rvalue_consumes_the_future) {
    auto f = vow::make_ready_future(r, 1);
    auto g = std::move(f).finally([] {});
    BOOST_TEST(!f.valid());  // NOLINT(bugprone-use-after-move)
    BOOST_CHECK_THROW((void)std::move(f).finally([] {}), vow::future_consumed);
    BOOST_TEST(wait(std::move(g)) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // finally_test
