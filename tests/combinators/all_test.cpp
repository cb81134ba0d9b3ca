// vow::all: every value in input order, or the first error in time.
// Behaviours ported from test262 (built-ins/Promise/all) and CPython's
// test_gather: order of results against order of settling, the first
// rejection wins, empty input, inputs from two loops.
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
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

BOOST_AUTO_TEST_SUITE(all_test)

using namespace std::chrono_literals;
using boost::test_tools::per_element;

namespace {

using vow::test::message_of;

// The reactor fixture, plus a record of unhandled-rejection reports: an error
// a combinator consumed must never show up there.
struct fixture : vow::test::reactor_fixture {
    std::vector<std::string> unhandled;
    vow::unhandled_rejection_handler previous = vow::set_unhandled_rejection_handler(
        [this](std::exception_ptr e, const std::source_location&) { unhandled.push_back(message_of(e)); });
    fixture() = default;
    fixture(const fixture&) = delete;
    fixture& operator=(const fixture&) = delete;
    ~fixture() { vow::set_unhandled_rejection_handler(std::move(previous)); }
};

// A future that a timer of `r` fulfils with `value` after `delay`.
template <class T>
vow::future<T> later(vow::reactor& r, vow::reactor::duration delay, T value) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), v = std::move(value)]() mutable { p.resolve(std::move(v)); });
    return f;
}

// A future that a timer of `r` rejects with std::runtime_error(what) after `delay`.
template <class T>
vow::future<T> later_error(vow::reactor& r, vow::reactor::duration delay, std::string what) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), w = std::move(what)]() mutable { p.reject(std::runtime_error(w)); });
    return f;
}

// n pending promises and their futures.
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

BOOST_FIXTURE_TEST_SUITE(all, fixture)

BOOST_AUTO_TEST_CASE(values_come_in_input_order_when_inputs_settle_in_reverse) {
    pending_inputs in(r, 5);
    std::vector<int> settle_order;
    for (int i = 4; i >= 0; --i)
        r.call_soon([&, i] {
            settle_order.push_back(i);
            in.promises[std::size_t(i)].resolve(i * 10);
        });
    auto values = vow::run_until_complete(r, vow::all(std::move(in.futures)));
    BOOST_TEST(settle_order == (std::vector<int>{4, 3, 2, 1, 0}), per_element());
    BOOST_TEST(values == (std::vector<int>{0, 10, 20, 30, 40}), per_element());
}

BOOST_AUTO_TEST_CASE(values_come_in_input_order_when_timers_settle_them_in_reverse) {
    std::vector<vow::future<std::string>> fs;
    for (int i = 0; i < 4; ++i)
        fs.push_back(later(r, std::chrono::milliseconds(8 - 2 * i), std::to_string(i)));
    auto values = vow::run_until_complete(r, vow::all(std::move(fs)));
    BOOST_TEST(values == (std::vector<std::string>{"0", "1", "2", "3"}), per_element());
}

BOOST_AUTO_TEST_CASE(ready_and_late_inputs_mix_in_input_order) {
    std::vector<vow::future<int>> fs;
    fs.push_back(later(r, 2ms, 1));
    fs.push_back(vow::make_ready_future(r, 2));
    fs.push_back(later(r, 1ms, 3));
    fs.push_back(vow::make_ready_future(r, 4));
    auto values = vow::run_until_complete(r, vow::all(std::move(fs)));
    BOOST_TEST(values == (std::vector<int>{1, 2, 3, 4}), per_element());
}

BOOST_AUTO_TEST_CASE(all_of_ready_inputs_runs_its_continuation_on_a_later_turn) {
    bool ran = false;
    vow::future<void> done;
    r.call_soon([&] {
        std::vector<vow::future<int>> fs;
        fs.push_back(vow::make_ready_future(r, 1));
        fs.push_back(vow::make_ready_future(r, 2));
        done = vow::all(std::move(fs)).then([&](std::vector<int> v) {
            ran = true;
            BOOST_TEST(v == (std::vector<int>{1, 2}), per_element());
        });
        BOOST_TEST(!ran);  // neither inside all() nor inside then()
    });
    run();
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(tuple_keeps_each_type_in_argument_order) {
    auto f = vow::all(later(r, 3ms, 7), later(r, 2ms, std::string("two")), vow::sleep(r, 1ms));
    static_assert(std::is_same_v<decltype(f), vow::future<std::tuple<int, std::string, std::monostate>>>);
    auto [n, s, nothing] = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(n == 7);
    BOOST_TEST(s == "two");
    BOOST_TEST((nothing == std::monostate{}));
}

BOOST_AUTO_TEST_CASE(tuple_of_void_futures_gives_monostates) {
    auto f = vow::all(vow::sleep(r, 2ms), vow::make_ready_future(r));
    static_assert(std::is_same_v<decltype(f), vow::future<std::tuple<std::monostate, std::monostate>>>);
    (void)vow::run_until_complete(r, std::move(f));
}

BOOST_AUTO_TEST_CASE(vector_of_void_futures_gives_a_future_void) {
    std::vector<vow::future<void>> fs;
    fs.push_back(vow::sleep(r, 2ms));
    fs.push_back(vow::sleep(r, 1ms));
    fs.push_back(vow::make_ready_future(r));
    auto f = vow::all(std::move(fs));
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    vow::run_until_complete(r, std::move(f));
}

BOOST_AUTO_TEST_CASE(move_only_values_are_moved_through) {
    std::vector<vow::future<std::unique_ptr<int>>> fs;
    fs.push_back(later(r, 2ms, std::make_unique<int>(1)));
    fs.push_back(vow::make_ready_future(r, std::make_unique<int>(2)));
    auto values = vow::run_until_complete(r, vow::all(std::move(fs)));
    BOOST_REQUIRE(values.size() == 2u);
    BOOST_TEST(*values[0] == 1);
    BOOST_TEST(*values[1] == 2);
    auto [a, b] = vow::run_until_complete(r, vow::all(later(r, 1ms, std::make_unique<int>(3)),
                                                      vow::make_ready_future(r, std::make_unique<int>(4))));
    BOOST_TEST(*a == 3);
    BOOST_TEST(*b == 4);
}

BOOST_AUTO_TEST_CASE(the_first_rejection_in_time_wins_and_later_ones_are_not_reported) {
    pending_inputs in(r, 4);
    // Settle order: 2 rejects, 0 rejects, 1 fulfils, 3 rejects.
    r.call_soon([&] { in.promises[2].reject(std::runtime_error("first")); });
    r.call_soon([&] { in.promises[0].reject(std::runtime_error("second")); });
    r.call_soon([&] { in.promises[1].resolve(1); });
    r.call_soon([&] { in.promises[3].reject(std::runtime_error("third")); });
    std::string error;
    auto done = vow::all(std::move(in.futures))
                    .then([](std::vector<int>) { BOOST_FAIL("all fulfilled although inputs rejected"); })
                    .catch_([&](const std::runtime_error& e) { error = e.what(); });
    run();
    BOOST_TEST(error == "first");
    BOOST_TEST(unhandled.empty(), "unhandled: " << (unhandled.empty() ? "" : unhandled.front()));
}

BOOST_AUTO_TEST_CASE(tuple_rejects_with_the_first_error_in_time) {
    auto f = vow::all(later_error<int>(r, 4ms, "late"), later_error<std::string>(r, 1ms, "early"), later(r, 2ms, 3));
    std::string error;
    try {
        (void)vow::run_until_complete(r, std::move(f));
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    BOOST_TEST(error == "early");
    run();  // the late rejection arrives and is taken silently
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(rejects_without_waiting_for_inputs_still_pending) {
    vow::promise<int> slow(r);
    std::vector<vow::future<int>> fs;
    fs.push_back(slow.get_future());
    fs.push_back(vow::make_exception_future<int>(r, std::runtime_error("boom")));
    std::string error;
    auto done = vow::all(std::move(fs))
                    .then([](std::vector<int>) {})
                    .catch_([&](const std::runtime_error& e) { error = e.what(); });
    run();  // returns for lack of work: `slow` is still pending
    BOOST_TEST(error == "boom");
    slow.resolve(1);  // a late value: taken silently
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_broken_promise_among_the_inputs_rejects_the_whole) {
    std::vector<vow::future<int>> fs;
    fs.push_back(later(r, 1ms, 1));
    {
        vow::promise<int> dropped(r);
        fs.push_back(dropped.get_future());
    }
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, vow::all(std::move(fs))), vow::broken_promise);
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(empty_vector_with_a_reactor_resolves_to_an_empty_vector_on_a_later_turn) {
    bool ran = false;
    auto done = vow::all(r, std::vector<vow::future<int>>{}).then([&](std::vector<int> v) {
        ran = true;
        BOOST_TEST(v.empty());
    });
    BOOST_TEST(!ran);
    run();
    BOOST_TEST(ran);

    auto nothing = vow::all(r, std::vector<vow::future<void>>{});
    static_assert(std::is_same_v<decltype(nothing), vow::future<void>>);
    vow::run_until_complete(r, std::move(nothing));
}

BOOST_AUTO_TEST_CASE(empty_vector_without_a_reactor_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::all(std::vector<vow::future<int>>{}), vow::invalid_argument);
    BOOST_CHECK_THROW((void)vow::all(std::vector<vow::future<void>>{}), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(futures_from_two_reactors_throw_invalid_argument) {
    vow::reactor other;
    std::vector<vow::future<int>> fs;
    fs.push_back(vow::make_ready_future(r, 1));
    fs.push_back(vow::make_ready_future(other, 2));
    BOOST_CHECK_THROW((void)vow::all(std::move(fs)), vow::invalid_argument);

    std::vector<vow::future<int>> gs;
    gs.push_back(vow::make_ready_future(other, 3));
    BOOST_CHECK_THROW((void)vow::all(r, std::move(gs)), vow::invalid_argument);

    BOOST_CHECK_THROW((void)vow::all(vow::make_ready_future(r, 1), vow::make_ready_future(other, 2)),
                      vow::invalid_argument);
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_consumed_input_throws_future_consumed) {
    auto f = vow::make_ready_future(r, 1);
    auto g = std::move(f);  // f is empty now
    std::vector<vow::future<int>> fs;
    fs.push_back(std::move(g));
    fs.push_back(std::move(f));
    BOOST_CHECK_THROW((void)vow::all(std::move(fs)), vow::future_consumed);

    auto h = vow::make_ready_future(r, 2);
    auto consumed = vow::make_ready_future(r, 3);
    auto chained = std::move(consumed).then([](int v) { return v; });
    BOOST_CHECK_THROW((void)vow::all(std::move(h), std::move(consumed)), vow::future_consumed);
    BOOST_TEST(vow::run_until_complete(r, std::move(chained)) == 3);
}

BOOST_AUTO_TEST_CASE(ten_thousand_inputs_keep_their_order) {
    constexpr int n = 10'000;
    pending_inputs in(r, n);
    r.call_soon([&] {
        for (int i = n - 1; i >= 0; --i)
            in.promises[std::size_t(i)].resolve(i);
    });
    auto values = vow::run_until_complete(r, vow::all(std::move(in.futures)));
    BOOST_REQUIRE(values.size() == std::size_t(n));
    bool in_order = true;
    for (int i = 0; i < n; ++i)
        in_order = in_order && values[std::size_t(i)] == i;
    BOOST_TEST(in_order);
}

BOOST_AUTO_TEST_CASE(inputs_settled_on_other_threads_come_in_input_order) {
    constexpr int n = 8;
    std::vector<vow::future<int>> fs;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
        vow::promise<int> p(r);
        fs.push_back(p.get_future());
        threads.emplace_back([p = std::move(p), i]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(n - i));
            p.resolve(i);
        });
    }
    auto values = vow::run_until_complete(r, vow::all(std::move(fs)));
    for (auto& t : threads)
        t.join();
    BOOST_TEST(values == (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}), per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // all_test
