// vow::any: the first fulfilment in time; vow::aggregate_error, with every
// reason in input order, if all reject. Behaviours ported from test262
// (built-ins/Promise/any).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(any_test)

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
};

struct pending_inputs {
    std::vector<vow::promise<int>> promises;
    std::vector<vow::future<int>> futures;
    pending_inputs(vow::reactor& r, std::size_t n) {
        promises.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            promises.emplace_back(r);
            futures.push_back(promises.back().get_future());
        }
    }
};

// Runs `f` to completion and returns the aggregate_error it rejects with.
template <class T>
vow::aggregate_error aggregate_of(vow::reactor& r, vow::future<T> f) {
    try {
        (void)vow::run_until_complete(r, std::move(f));
    } catch (const vow::aggregate_error& e) {
        return e;
    }
    BOOST_ERROR("vow::any did not reject with vow::aggregate_error");
    return vow::aggregate_error("none", {});
}

std::vector<std::string> messages_of(const vow::aggregate_error& e) {
    std::vector<std::string> out;
    for (const auto& err : e.errors())
        out.push_back(message_of(err));
    return out;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(any, fixture)

BOOST_AUTO_TEST_CASE(the_first_fulfilment_wins_even_if_an_earlier_input_rejects) {
    pending_inputs in(r, 3);
    r.call_soon([&] { in.promises[0].reject(std::runtime_error("zero")); });
    r.call_soon([&] { in.promises[2].resolve(2); });
    r.call_soon([&] { in.promises[1].resolve(1); });
    BOOST_TEST(vow::run_until_complete(r, vow::any(std::move(in.futures))) == 2);
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(the_first_fulfilment_in_time_wins_not_the_first_in_input_order) {
    std::vector<vow::future<std::string>> fs;
    vow::promise<std::string> slow(r), fast(r);
    fs.push_back(slow.get_future());
    fs.push_back(fast.get_future());
    (void)r.call_later(4ms, [&] { slow.resolve("slow"); });
    (void)r.call_later(1ms, [&] { fast.resolve("fast"); });
    BOOST_TEST(vow::run_until_complete(r, vow::any(std::move(fs))) == "fast");
    run();
}

BOOST_AUTO_TEST_CASE(when_all_reject_the_errors_are_listed_in_input_order_not_time_order) {
    pending_inputs in(r, 4);
    // Reject in reverse: input 3 first, input 0 last.
    for (int i = 3; i >= 0; --i)
        r.call_soon([&, i] { in.promises[std::size_t(i)].reject(std::runtime_error("e" + std::to_string(i))); });
    auto e = aggregate_of(r, vow::any(std::move(in.futures)));
    BOOST_TEST(messages_of(e) == (std::vector<std::string>{"e0", "e1", "e2", "e3"}), per_element());
    BOOST_TEST(std::string(e.what()).find("e0") != std::string::npos, "the message names the first error: " << e.what());
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(aggregate_error_keeps_each_error_with_its_type) {
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_exception_future<int>(r, vow::timeout_error("t")));
    {
        vow::promise<int> dropped(r);
        fs.push_back(dropped.get_future());
    }
    auto e = aggregate_of(r, vow::any(std::move(fs)));
    BOOST_REQUIRE(e.errors().size() == 2u);
    BOOST_CHECK_THROW(std::rethrow_exception(e.errors()[0]), vow::timeout_error);
    BOOST_CHECK_THROW(std::rethrow_exception(e.errors()[1]), vow::broken_promise);
    const std::runtime_error& base = e;  // catchable as std::runtime_error
    BOOST_TEST(std::string(base.what()).find("2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(stays_pending_while_one_input_may_still_fulfil) {
    pending_inputs in(r, 3);
    bool settled = false;
    int value = 0;
    auto chain = vow::any(std::move(in.futures)).then([&](int v) {
        settled = true;
        value = v;
    });
    in.promises[0].reject(std::runtime_error("a"));
    in.promises[2].reject(std::runtime_error("c"));
    run();  // idle, input 1 pending
    BOOST_TEST(!settled);
    in.promises[1].resolve(11);
    run();
    BOOST_TEST(settled);
    BOOST_TEST(value == 11);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(results_after_the_first_fulfilment_are_taken_silently) {
    pending_inputs in(r, 3);
    r.call_soon([&] { in.promises[1].resolve(1); });
    r.call_soon([&] { in.promises[0].reject(std::runtime_error("late error")); });
    r.call_soon([&] { in.promises[2].resolve(2); });
    int calls = 0;
    auto chain = vow::any(std::move(in.futures)).then([&](int v) {
        ++calls;
        BOOST_TEST(v == 1);
    });
    run();
    BOOST_TEST(calls == 1);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(ready_inputs_win_in_input_order) {
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_exception_future<int>(r, std::runtime_error("no")));
    fs.push_back(vow::make_ready_future(r, 1));
    fs.push_back(vow::make_ready_future(r, 2));
    BOOST_TEST(vow::run_until_complete(r, vow::any(std::move(fs))) == 1);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(void_inputs_give_a_future_void) {
    std::vector<vow::future<void>> fs;
    fs.push_back(vow::make_exception_future<void>(r, std::runtime_error("no")));
    fs.push_back(vow::sleep(r, 1ms));
    auto f = vow::any(std::move(fs));
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    vow::run_until_complete(r, std::move(f));
}

BOOST_AUTO_TEST_CASE(empty_with_a_reactor_rejects_with_an_aggregate_error_without_errors) {
    auto e = aggregate_of(r, vow::any(r, std::vector<vow::future<int>>{}));
    BOOST_TEST(e.errors().empty());
}

BOOST_AUTO_TEST_CASE(empty_without_a_reactor_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::any(std::vector<vow::future<int>>{}), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(futures_from_two_reactors_throw_invalid_argument) {
    vow::reactor other;
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_ready_future(r, 1));
    fs.push_back(vow::make_ready_future(other, 2));
    BOOST_CHECK_THROW((void)vow::any(std::move(fs)), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_consumed_input_throws_future_consumed) {
    std::vector<vow::future<int>> fs;
    fs.emplace_back();
    BOOST_CHECK_THROW((void)vow::any(std::move(fs)), vow::future_consumed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // any_test
