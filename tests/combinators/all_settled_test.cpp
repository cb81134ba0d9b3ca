// vow::all_settled: every outcome in input order; it never rejects.
// Behaviours ported from test262 (built-ins/Promise/allSettled) and CPython's
// gather(return_exceptions=True).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(all_settled_test)

using namespace std::chrono_literals;

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

struct custom_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T>
vow::future<T> later(vow::reactor& r, vow::reactor::duration delay, T value) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), v = std::move(value)]() mutable { p.resolve(std::move(v)); });
    return f;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(all_settled, fixture)

BOOST_AUTO_TEST_CASE(every_outcome_comes_in_input_order_whatever_the_settle_order) {
    std::vector<vow::promise<int>> ps;
    std::vector<vow::future<int>> fs;
    for (int i = 0; i < 4; ++i) {
        ps.emplace_back(r);
        fs.push_back(ps.back().get_future());
    }
    // The last input settles first.
    r.call_soon([&] { ps[3].resolve(30); });
    r.call_soon([&] { ps[2].reject(std::runtime_error("two")); });
    r.call_soon([&] { ps[1].resolve(10); });
    r.call_soon([&] { ps[0].reject(std::runtime_error("zero")); });
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    BOOST_REQUIRE(results.size() == 4u);
    BOOST_TEST(!results[0].has_value());
    BOOST_TEST(message_of(results[0].error()) == "zero");
    BOOST_TEST(results[1].value() == 10);
    BOOST_TEST(message_of(results[2].error()) == "two");
    BOOST_TEST(results[3].value() == 30);
}

BOOST_AUTO_TEST_CASE(never_rejects_even_when_every_input_rejects) {
    std::vector<vow::future<int>> fs;
    for (int i = 0; i < 3; ++i)
        fs.push_back(vow::make_exception_future<int>(r, std::runtime_error(std::to_string(i))));
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    BOOST_REQUIRE(results.size() == 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        BOOST_TEST(!results[i]);
        BOOST_TEST(message_of(results[i].error()) == std::to_string(i));
    }
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(value_of_a_failed_result_rethrows_its_error_with_its_type) {
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_exception_future<int>(r, custom_error("custom")));
    fs.push_back(vow::make_ready_future(r, 5));
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    BOOST_CHECK_THROW((void)results[0].value(), custom_error);
    BOOST_CHECK_THROW((void)std::as_const(results[0]).value(), custom_error);
    BOOST_TEST(results[1].has_value());
    BOOST_TEST(static_cast<bool>(results[1]));
    BOOST_TEST(!results[1].error());
}

BOOST_AUTO_TEST_CASE(error_returns_the_exception_ptr_the_input_rejected_with) {
    auto error = std::make_exception_ptr(custom_error("identity"));
    vow::promise<int> p(r);
    std::vector<vow::future<int>> fs;
    fs.push_back(p.get_future());
    r.call_soon([&] { p.reject(error); });
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    BOOST_TEST((results[0].error() == error));
}

BOOST_AUTO_TEST_CASE(void_inputs_give_void_results) {
    std::vector<vow::future<void>> fs;
    fs.push_back(vow::sleep(r, 1ms));
    fs.push_back(vow::make_exception_future<void>(r, custom_error("void")));
    fs.push_back(vow::make_ready_future(r));
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    static_assert(std::is_same_v<decltype(results), std::vector<vow::result<void>>>);
    BOOST_REQUIRE(results.size() == 3u);
    BOOST_TEST(results[0].has_value());
    BOOST_CHECK_NO_THROW(results[0].value());
    BOOST_TEST(!results[1].has_value());
    BOOST_CHECK_THROW(results[1].value(), custom_error);
    BOOST_TEST(message_of(results[1].error()) == "void");
    BOOST_TEST(results[2].has_value());
}

BOOST_AUTO_TEST_CASE(waits_for_the_slowest_input) {
    vow::promise<int> fast(r), slow(r), middle(r);
    std::vector<vow::future<int>> fs;
    fs.push_back(slow.get_future());
    fs.push_back(fast.get_future());
    fs.push_back(middle.get_future());
    bool done = false;
    auto chain = vow::all_settled(std::move(fs)).then([&](std::vector<vow::result<int>> results) {
        done = true;
        BOOST_TEST(results[0].value() == 3);
        BOOST_TEST(results[1].value() == 1);
        BOOST_TEST(message_of(results[2].error()) == "middle");
    });
    fast.resolve(1);
    middle.reject(std::runtime_error("middle"));
    run();  // idle: `slow` is still pending
    BOOST_TEST(!done);
    slow.resolve(3);
    run();
    BOOST_TEST(done);
}

BOOST_AUTO_TEST_CASE(rejections_it_collects_are_not_reported_as_unhandled) {
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_exception_future<int>(r, std::runtime_error("a")));
    {
        vow::promise<int> dropped(r);
        fs.push_back(dropped.get_future());
    }
    fs.push_back(later(r, 1ms, 1));
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    BOOST_CHECK_THROW((void)results[1].value(), vow::broken_promise);
    results.clear();
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(move_only_values_are_moved_into_the_results) {
    std::vector<vow::future<std::unique_ptr<int>>> fs;
    fs.push_back(later(r, 1ms, std::make_unique<int>(7)));
    fs.push_back(vow::make_ready_future(r, std::make_unique<int>(8)));
    auto results = vow::run_until_complete(r, vow::all_settled(std::move(fs)));
    std::unique_ptr<int> first = std::move(results[0]).value();
    BOOST_TEST(*first == 7);
    BOOST_TEST(*results[1].value() == 8);
}

BOOST_AUTO_TEST_CASE(empty_vector_with_a_reactor_resolves_to_an_empty_vector) {
    bool ran = false;
    auto chain = vow::all_settled(r, std::vector<vow::future<int>>{}).then([&](std::vector<vow::result<int>> v) {
        ran = true;
        BOOST_TEST(v.empty());
    });
    BOOST_TEST(!ran);
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(empty_vector_without_a_reactor_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::all_settled(std::vector<vow::future<int>>{}), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(futures_from_two_reactors_throw_invalid_argument) {
    vow::reactor other;
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_ready_future(r, 1));
    fs.push_back(vow::make_ready_future(other, 2));
    BOOST_CHECK_THROW((void)vow::all_settled(std::move(fs)), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_consumed_input_throws_future_consumed) {
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_ready_future(r, 1));
    fs.emplace_back();
    BOOST_CHECK_THROW((void)vow::all_settled(std::move(fs)), vow::future_consumed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // all_settled_test
