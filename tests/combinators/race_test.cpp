// vow::race: settles like the first input to settle, value or error.
// Behaviours ported from test262 (built-ins/Promise/race).
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

BOOST_AUTO_TEST_SUITE(race_test)

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

}  // namespace

BOOST_FIXTURE_TEST_SUITE(race, fixture)

BOOST_AUTO_TEST_CASE(the_first_value_to_settle_wins) {
    pending_inputs in(r, 3);
    r.call_soon([&] { in.promises[2].resolve(2); });
    r.call_soon([&] { in.promises[0].resolve(0); });
    r.call_soon([&] { in.promises[1].reject(std::runtime_error("late")); });
    BOOST_TEST(vow::run_until_complete(r, vow::race(std::move(in.futures))) == 2);
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(the_first_error_to_settle_wins_over_later_values) {
    pending_inputs in(r, 3);
    r.call_soon([&] { in.promises[1].reject(std::runtime_error("first")); });
    r.call_soon([&] { in.promises[0].resolve(0); });
    r.call_soon([&] { in.promises[2].resolve(2); });
    std::string error;
    try {
        (void)vow::run_until_complete(r, vow::race(std::move(in.futures)));
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    BOOST_TEST(error == "first");
}

BOOST_AUTO_TEST_CASE(timers_decide_the_winner) {
    std::vector<vow::future<int>> fs;
    for (int i = 0; i < 4; ++i) {
        vow::promise<int> p(r);
        fs.push_back(p.get_future());
        (void)r.call_later(std::chrono::milliseconds(2 + 3 * ((i + 2) % 4)), [p = std::move(p), i]() mutable {
            p.resolve(i);
        });
    }
    BOOST_TEST(vow::run_until_complete(r, vow::race(std::move(fs))) == 2);
    run();
}

BOOST_AUTO_TEST_CASE(later_results_are_ignored_silently) {
    pending_inputs in(r, 4);
    r.call_soon([&] { in.promises[3].resolve(3); });
    r.call_soon([&] { in.promises[0].reject(std::runtime_error("late error 0")); });
    r.call_soon([&] { in.promises[1].resolve(1); });
    r.call_soon([&] { in.promises[2].reject(std::runtime_error("late error 2")); });
    int calls = 0;
    auto chain = vow::race(std::move(in.futures)).then([&](int v) {
        ++calls;
        BOOST_TEST(v == 3);
    });
    run();
    BOOST_TEST(calls == 1);
    BOOST_TEST(unhandled.empty(), "unhandled: " << (unhandled.empty() ? "" : unhandled.front()));
}

BOOST_AUTO_TEST_CASE(among_ready_inputs_the_first_in_input_order_wins) {
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_ready_future(r, 1));
    fs.push_back(vow::make_exception_future<int>(r, std::runtime_error("second")));
    fs.push_back(vow::make_ready_future(r, 3));
    BOOST_TEST(vow::run_until_complete(r, vow::race(std::move(fs))) == 1);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_ready_input_wins_over_pending_ones) {
    vow::promise<int> pending(r);
    std::vector<vow::future<int>> fs;
    fs.push_back(pending.get_future());
    fs.push_back(vow::make_ready_future(r, 9));
    BOOST_TEST(vow::run_until_complete(r, vow::race(std::move(fs))) == 9);
    pending.reject(std::runtime_error("too late"));
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(void_inputs_give_a_future_void) {
    std::vector<vow::future<void>> fs;
    fs.push_back(vow::sleep(r, 20ms));
    fs.push_back(vow::sleep(r, 1ms));
    auto f = vow::race(std::move(fs));
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    vow::run_until_complete(r, std::move(f));
    run();
}

BOOST_AUTO_TEST_CASE(a_race_of_nothing_never_settles_and_run_until_complete_throws_stalled_error) {
    bool settled = false;
    auto never = vow::race(r, std::vector<vow::future<int>>{});
    BOOST_TEST(!never.available());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(never)), vow::stalled_error);

    auto again = vow::race(r, std::vector<vow::future<int>>{}).then([&](int) { settled = true; });
    run();
    BOOST_TEST(!settled);
}

// Combinators tell each other inline (design.md, "Combinators add no turn"):
// a deep nest must still settle without recursing once per level.
BOOST_AUTO_TEST_CASE(two_hundred_thousand_nested_races_and_anys_settle_without_overflowing_the_stack) {
    constexpr int depth = 200'000;
    vow::promise<int> p(r);
    vow::future<int> f = p.get_future();
    for (int i = 0; i < depth; ++i) {
        std::vector<vow::future<int>> one;
        one.push_back(std::move(f));
        f = i % 2 ? vow::race(std::move(one)) : vow::any(std::move(one));
    }
    r.call_soon([&] { p.resolve(7); });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 7);
}

BOOST_AUTO_TEST_CASE(empty_without_a_reactor_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::race(std::vector<vow::future<int>>{}), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(futures_from_two_reactors_throw_invalid_argument) {
    vow::reactor other;
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_ready_future(r, 1));
    fs.push_back(vow::make_ready_future(other, 2));
    BOOST_CHECK_THROW((void)vow::race(std::move(fs)), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_consumed_input_throws_future_consumed) {
    auto f = vow::make_ready_future(r, 1);
    auto chained = std::move(f).then([](int v) { return v; });
    std::vector<vow::future<int>> fs;
    fs.push_back(std::move(f));
    BOOST_CHECK_THROW((void)vow::race(std::move(fs)), vow::future_consumed);
    BOOST_TEST(vow::run_until_complete(r, std::move(chained)) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // race_test
