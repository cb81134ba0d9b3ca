// vow::map_concurrent: an async function over many items, at most `limit`
// in flight, results in input order, the first error stops it.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <numeric>
#include <source_location>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(map_concurrent_test)

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

template <class T>
vow::future<T> later(vow::reactor& r, vow::reactor::duration delay, T value) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), v = std::move(value)]() mutable { p.resolve(std::move(v)); });
    return f;
}

template <class T>
vow::future<T> later_error(vow::reactor& r, vow::reactor::duration delay, std::string what) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), w = std::move(what)]() mutable { p.reject(std::runtime_error(w)); });
    return f;
}

std::vector<int> iota(int n) {
    std::vector<int> v(std::size_t(n), 0);
    std::iota(v.begin(), v.end(), 0);
    return v;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(map_concurrent, fixture)

BOOST_AUTO_TEST_CASE(never_more_than_limit_in_flight_and_the_limit_is_reached) {
    int in_flight = 0, peak = 0, started = 0;
    auto f = vow::map_concurrent(r, iota(50), 4, [&](int i) {
        ++started;
        peak = std::max(peak, ++in_flight);
        return vow::sleep(r, std::chrono::microseconds(200 * (i % 7))).then([&, i] {
            --in_flight;
            return i * 2;
        });
    });
    auto values = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(peak == 4);
    BOOST_TEST(in_flight == 0);
    BOOST_TEST(started == 50);
    std::vector<int> expected;
    for (int i = 0; i < 50; ++i)
        expected.push_back(i * 2);
    BOOST_TEST(values == expected, per_element());
}

BOOST_AUTO_TEST_CASE(results_come_in_input_order_when_items_finish_in_reverse) {
    std::vector<int> finish_order;
    auto f = vow::map_concurrent(r, iota(6), 6, [&](int i) {
        return later(r, std::chrono::milliseconds(2 * (6 - i)), i).then([&](int v) {
            finish_order.push_back(v);
            return std::to_string(v);
        });
    });
    auto values = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(finish_order == (std::vector<int>{5, 4, 3, 2, 1, 0}), per_element());
    BOOST_TEST(values == (std::vector<std::string>{"0", "1", "2", "3", "4", "5"}), per_element());
}

BOOST_AUTO_TEST_CASE(the_first_limit_calls_happen_inside_map_concurrent_and_the_rest_later) {
    std::vector<int> started;
    auto f = vow::map_concurrent(r, iota(10), 3, [&](int i) {
        started.push_back(i);
        return vow::make_ready_future(r, i);
    });
    BOOST_TEST(started == (std::vector<int>{0, 1, 2}), per_element());
    auto values = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(started == iota(10), per_element());  // items start in input order
    BOOST_TEST(values == iota(10), per_element());
}

BOOST_AUTO_TEST_CASE(a_limit_of_zero_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::map_concurrent(r, iota(3), 0, [&](int i) { return vow::make_ready_future(r, i); }),
                      vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(empty_input_resolves_to_an_empty_vector_without_calling_fn) {
    int calls = 0;
    auto values = vow::run_until_complete(r, vow::map_concurrent(r, std::vector<int>{}, 3, [&](int i) {
                                              ++calls;
                                              return vow::make_ready_future(r, i);
                                          }));
    BOOST_TEST(values.empty());
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(the_first_error_rejects_the_whole_and_no_new_item_starts_after_it) {
    int started = 0, started_when_rejected = -1;
    std::string error;
    auto chain = vow::map_concurrent(r, iota(20), 3,
                                     [&](int i) -> vow::future<int> {
                                         ++started;
                                         if (i == 5)
                                             return later_error<int>(r, 1ms, "item 5");
                                         if (i == 6)  // in flight when 5 fails: its error is dropped
                                             return later_error<int>(r, 4ms, "item 6");
                                         return later(r, 1ms, i);
                                     })
                     .then([](std::vector<int>) { BOOST_ERROR("fulfilled although an item failed"); })
                     .catch_([&](const std::runtime_error& e) {
                         error = e.what();
                         started_when_rejected = started;
                     });
    run();  // every item in flight finishes
    BOOST_TEST(error == "item 5");
    BOOST_TEST(started == started_when_rejected);
    BOOST_TEST(started < 20);
    BOOST_TEST(unhandled.empty(), "unhandled: " << (unhandled.empty() ? "" : unhandled.front()));
}

BOOST_AUTO_TEST_CASE(fn_throwing_inside_the_call_rejects_and_stops_the_first_batch) {
    std::vector<int> started;
    auto f = vow::map_concurrent(r, iota(5), 3, [&](int i) {
        started.push_back(i);
        if (i == 1)
            throw std::runtime_error("thrown by fn");
        return later(r, 1ms, i);
    });
    BOOST_TEST(started == (std::vector<int>{0, 1}), per_element());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), std::runtime_error);
    run();  // item 0's value arrives late and is dropped
    BOOST_TEST(started == (std::vector<int>{0, 1}), per_element());
}

BOOST_AUTO_TEST_CASE(fn_throwing_on_a_later_launch_rejects) {
    std::vector<int> started;
    auto f = vow::map_concurrent(r, iota(5), 1, [&](int i) {
        started.push_back(i);
        if (i == 2)
            throw std::runtime_error("thrown on item 2");
        return vow::make_ready_future(r, i);
    });
    std::string error;
    try {
        (void)vow::run_until_complete(r, std::move(f));
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    BOOST_TEST(error == "thrown on item 2");
    run();
    BOOST_TEST(started == (std::vector<int>{0, 1, 2}), per_element());
}

BOOST_AUTO_TEST_CASE(fn_returning_an_empty_future_rejects_with_future_consumed) {
    auto f = vow::map_concurrent(r, iota(2), 2, [](int) { return vow::future<int>(); });
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), vow::future_consumed);
}

BOOST_AUTO_TEST_CASE(void_results_give_a_future_void) {
    int done = 0;
    auto f = vow::map_concurrent(r, iota(5), 2, [&](int i) {
        return vow::sleep(r, std::chrono::microseconds(100 * i)).then([&] { ++done; });
    });
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    vow::run_until_complete(r, std::move(f));
    BOOST_TEST(done == 5);
}

BOOST_AUTO_TEST_CASE(move_only_items_are_moved_into_fn) {
    std::vector<std::unique_ptr<int>> items;
    for (int i = 0; i < 4; ++i)
        items.push_back(std::make_unique<int>(i * 3));
    auto values = vow::run_until_complete(r, vow::map_concurrent(r, std::move(items), 2, [&](std::unique_ptr<int> p) {
                                              return later(r, 1ms, std::move(p));
                                          }));
    BOOST_REQUIRE(values.size() == 4u);
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(*values[std::size_t(i)] == i * 3);
}

BOOST_AUTO_TEST_CASE(many_ready_futures_complete_without_deep_recursion) {
    constexpr int n = 100'000;
    auto values = vow::run_until_complete(r, vow::map_concurrent(r, iota(n), 2, [&](int i) {
                                              return vow::make_ready_future(r, i);
                                          }));
    BOOST_REQUIRE(values.size() == std::size_t(n));
    BOOST_TEST(values.back() == n - 1);
}

// Each item is settled by a thread of its own, so while one is in flight the
// reactor has no work: run_until_complete must see that the item the slot
// started after the previous one can still settle, not call it a stall.
BOOST_AUTO_TEST_CASE(items_settled_by_other_threads_are_waited_for_by_run_until_complete) {
    std::vector<std::jthread> threads;  // joined on the way out, even by a failure
    auto f = vow::map_concurrent(r, iota(4), 1, [&](int i) {
        vow::promise<int> p(r);
        auto g = p.get_future();
        threads.emplace_back([p = std::move(p), i]() mutable {
            std::this_thread::sleep_for(2ms);
            p.resolve(i * 10);
        });
        return g;
    });
    auto values = vow::run_until_complete(r, std::move(f));
    threads.clear();
    BOOST_TEST(values == (std::vector<int>{0, 10, 20, 30}), per_element());
}

BOOST_AUTO_TEST_SUITE_END()

// map_concurrent_settled: the same scheduling, but every item runs and its
// outcome is kept, as all_settled keeps it.
BOOST_FIXTURE_TEST_SUITE(map_concurrent_settled, fixture)

BOOST_AUTO_TEST_CASE(fulfils_with_every_outcome_in_input_order_values_and_errors_alike) {
    auto f = vow::map_concurrent_settled(r, iota(10), 3, [&](int i) -> vow::future<int> {
        auto delay = std::chrono::microseconds(300 * (10 - i));  // later items finish first
        if (i % 2)
            return later_error<int>(r, delay, "item " + std::to_string(i));
        return later(r, delay, i * 2);
    });
    static_assert(std::is_same_v<decltype(f), vow::future<std::vector<vow::result<int>>>>);
    auto results = vow::run_until_complete(r, std::move(f));
    BOOST_REQUIRE(results.size() == 10u);
    for (int i = 0; i < 10; ++i) {
        const auto& res = results[std::size_t(i)];
        if (i % 2) {
            BOOST_TEST(!res.has_value());
            BOOST_TEST(message_of(res.error()) == "item " + std::to_string(i));
        } else {
            BOOST_TEST(res.has_value());
            BOOST_TEST(res.value() == i * 2);
        }
    }
    run();
    BOOST_TEST(unhandled.empty(), "unhandled: " << (unhandled.empty() ? "" : unhandled.front()));
}

BOOST_AUTO_TEST_CASE(an_error_stops_nothing_every_item_starts_and_the_limit_holds) {
    int in_flight = 0, peak = 0, started = 0;
    auto f = vow::map_concurrent_settled(r, iota(30), 4, [&](int i) {
        ++started;
        peak = std::max(peak, ++in_flight);
        return vow::sleep(r, std::chrono::microseconds(200 * (i % 5))).then([&, i] {
            --in_flight;
            if (i % 3 == 0)
                throw std::runtime_error("item " + std::to_string(i));
            return i;
        });
    });
    auto results = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(started == 30);
    BOOST_TEST(peak == 4);
    BOOST_TEST(in_flight == 0);
    int failures = 0;
    for (auto& res : results)
        failures += !res.has_value();
    BOOST_TEST(failures == 10);
}

BOOST_AUTO_TEST_CASE(each_failure_holds_the_very_error_its_item_rejected_with) {
    std::vector<std::exception_ptr> errors;
    for (int i = 0; i < 3; ++i)
        errors.push_back(std::make_exception_ptr(std::runtime_error("e" + std::to_string(i))));
    auto results = vow::run_until_complete(r, vow::map_concurrent_settled(r, iota(3), 2, [&](int i) {
                                               return vow::make_exception_future<std::string>(r, errors[std::size_t(i)]);
                                           }));
    BOOST_REQUIRE(results.size() == 3u);
    for (std::size_t i = 0; i < 3; ++i)
        BOOST_TEST((results[i].error() == errors[i]));
}

BOOST_AUTO_TEST_CASE(fn_throwing_is_that_item_s_failure_and_the_next_item_starts_at_once) {
    std::vector<int> started;
    auto f = vow::map_concurrent_settled(r, iota(6), 2, [&](int i) {
        started.push_back(i);
        if (i >= 1 && i <= 3)
            throw std::runtime_error("thrown on item " + std::to_string(i));
        return later(r, 1ms, i);
    });
    // Inside the call: item 0 starts, items 1..3 fail in fn, item 4 takes the second slot.
    BOOST_TEST(started == (std::vector<int>{0, 1, 2, 3, 4}), per_element());
    auto results = vow::run_until_complete(r, std::move(f));
    BOOST_TEST(started == iota(6), per_element());
    BOOST_REQUIRE(results.size() == 6u);
    for (int i = 0; i < 6; ++i) {
        if (i >= 1 && i <= 3)
            BOOST_TEST(message_of(results[std::size_t(i)].error()) == "thrown on item " + std::to_string(i));
        else
            BOOST_TEST(results[std::size_t(i)].value() == i);
    }
}

BOOST_AUTO_TEST_CASE(every_item_throwing_in_fn_still_fulfils_on_a_later_turn_with_every_failure) {
    int calls = 0;
    bool ran = false;
    auto f = vow::map_concurrent_settled(r, iota(5), 2, [&](int) -> vow::future<int> {
                 ++calls;
                 throw std::runtime_error("no");
             }).then([&](std::vector<vow::result<int>> results) {
        ran = true;
        return results;
    });
    BOOST_TEST(calls == 5);
    BOOST_TEST(!ran);
    auto results = vow::run_until_complete(r, std::move(f));
    BOOST_REQUIRE(results.size() == 5u);
    for (auto& res : results)
        BOOST_TEST(message_of(res.error()) == "no");
}

BOOST_AUTO_TEST_CASE(fn_returning_an_empty_future_is_that_item_s_failure_with_future_consumed) {
    auto results = vow::run_until_complete(r, vow::map_concurrent_settled(r, iota(3), 1, [&](int i) {
                                               return i == 1 ? vow::future<int>() : vow::make_ready_future(r, i);
                                           }));
    BOOST_REQUIRE(results.size() == 3u);
    BOOST_TEST(results[0].value() == 0);
    BOOST_CHECK_THROW((void)results[1].value(), vow::future_consumed);
    BOOST_TEST(results[2].value() == 2);
}

BOOST_AUTO_TEST_CASE(void_results_give_results_of_void) {
    auto f = vow::map_concurrent_settled(r, iota(4), 2, [&](int i) {
        return i == 2 ? vow::make_exception_future<void>(r, std::runtime_error("two")) : vow::make_ready_future(r);
    });
    static_assert(std::is_same_v<decltype(f), vow::future<std::vector<vow::result<void>>>>);
    auto results = vow::run_until_complete(r, std::move(f));
    BOOST_REQUIRE(results.size() == 4u);
    BOOST_TEST(results[0].has_value());
    BOOST_TEST(!results[2].has_value());
    BOOST_TEST(message_of(results[2].error()) == "two");
}

BOOST_AUTO_TEST_CASE(empty_input_resolves_to_an_empty_vector_without_calling_fn) {
    int calls = 0;
    auto results = vow::run_until_complete(r, vow::map_concurrent_settled(r, std::vector<int>{}, 3, [&](int i) {
                                               ++calls;
                                               return vow::make_ready_future(r, i);
                                           }));
    BOOST_TEST(results.empty());
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(a_limit_of_zero_throws_invalid_argument_without_calling_fn) {
    int calls = 0;
    try {
        (void)vow::map_concurrent_settled(r, iota(3), 0, [&](int i) {
            ++calls;
            return vow::make_ready_future(r, i);
        });
        BOOST_ERROR("no throw");
    } catch (const vow::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("map_concurrent_settled") != std::string::npos, e.what());
    }
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(move_only_items_and_values_are_moved) {
    std::vector<std::unique_ptr<int>> items;
    for (int i = 0; i < 4; ++i)
        items.push_back(std::make_unique<int>(i));
    auto results = vow::run_until_complete(
        r, vow::map_concurrent_settled(r, std::move(items), 2, [&](std::unique_ptr<int> p) {
            return later(r, 1ms, std::move(p));
        }));
    BOOST_REQUIRE(results.size() == 4u);
    for (int i = 0; i < 4; ++i)
        BOOST_TEST(*results[std::size_t(i)].value() == i);
}

BOOST_AUTO_TEST_CASE(many_items_ready_or_throwing_complete_without_deep_recursion) {
    constexpr int n = 100'000;
    auto results = vow::run_until_complete(r, vow::map_concurrent_settled(r, iota(n), 2, [&](int i) {
                                               if (i % 2)
                                                   throw std::runtime_error("odd");
                                               return vow::make_ready_future(r, i);
                                           }));
    BOOST_REQUIRE(results.size() == std::size_t(n));
    BOOST_TEST(results[n - 2].value() == n - 2);
    BOOST_TEST(!results[n - 1].has_value());
}

BOOST_AUTO_TEST_CASE(items_settled_by_other_threads_are_waited_for_by_run_until_complete) {
    std::vector<std::jthread> threads;  // joined on the way out, even by a failure
    auto f = vow::map_concurrent_settled(r, iota(4), 1, [&](int i) {
        vow::promise<int> p(r);
        auto g = p.get_future();
        threads.emplace_back([p = std::move(p), i]() mutable {
            std::this_thread::sleep_for(2ms);
            if (i == 2)
                p.reject(std::runtime_error("two"));
            else
                p.resolve(i);
        });
        return g;
    });
    auto results = vow::run_until_complete(r, std::move(f));
    threads.clear();
    BOOST_REQUIRE(results.size() == 4u);
    BOOST_TEST(results[3].value() == 3);
    BOOST_TEST(message_of(results[2].error()) == "two");
}

BOOST_AUTO_TEST_CASE(a_dropped_result_lets_the_items_in_flight_finish_and_leaks_nothing) {
    int finished = 0;
    {
        auto f = vow::map_concurrent_settled(r, iota(6), 3, [&](int i) {
            return later(r, 1ms, i).then([&](int v) {
                ++finished;
                if (v == 1)
                    throw std::runtime_error("one");
                return v;
            });
        });
    }
    run();
    BOOST_TEST(finished == 6);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // map_concurrent_test
