// Loops whose steps are futures (vow/promise/loop.hpp): repeat, do_until,
// do_for_each and keep_doing. One case per line of the header's contract:
// one iteration at a time, the first error ends the loop and no body call
// follows it, constant memory and no recursion over a million iterations,
// a yield to the reactor at least every batch of ready iterations, and the
// body destroyed as soon as the loop ends.
//
// The memory cases measure the peak resident set (tests/support/
// memory_probe.hpp) and run in the plain build only; elsewhere they are
// skipped with the reason in the log.
#include <boost/test/unit_test.hpp>
#include <build_kind.hpp>
#include <memory_probe.hpp>
#include <promise_fixture.hpp>

#include <vow/error.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/loop.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/sleep.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <ranges>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(loop_test)

using namespace std::chrono_literals;
using boost::test_tools::per_element;
using vow::stop_iteration;
using vow::test::tagged_error;

namespace {

// A million iterations, a hundred thousand under valgrind (fifty times
// slower there, and still far past any stack a recursion could use).
const long many = vow::test::under_valgrind() ? 100'000 : 1'000'000;

constexpr long memory_bound_kib = 32 * 1024;

// The batch loop.hpp documents: at most this many ready iterations in a row
// before the loop yields to the reactor.
constexpr long batch = 4096;

stop_iteration stop_if(bool done) { return done ? stop_iteration::yes : stop_iteration::no; }

// A future that fulfils with `v` on the next turn of the loop.
template <class T>
vow::future<T> next_turn(vow::reactor& r, T v) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    r.call_soon([p = std::move(p), v = std::move(v)]() mutable { p.resolve(std::move(v)); });
    return f;
}

vow::future<void> next_turn(vow::reactor& r) {
    vow::promise<void> p(r);
    auto f = p.get_future();
    r.call_soon([p = std::move(p)]() mutable { p.resolve(); });
    return f;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(loop, vow::test::promise_fixture)

// ------------------------------------------------------------ repeat

BOOST_AUTO_TEST_CASE(repeat_calls_the_body_until_a_ready_future_says_yes) {
    long calls = 0;
    wait(vow::repeat(r, [&] { return vow::make_ready_future(r, stop_if(++calls == 5)); }));
    BOOST_TEST(calls == 5);
}

BOOST_AUTO_TEST_CASE(repeat_calls_the_body_until_a_pending_future_says_yes) {
    long calls = 0;
    wait(vow::repeat(r, [&] { return next_turn(r, stop_if(++calls == 5)); }));
    BOOST_TEST(calls == 5);
}

BOOST_AUTO_TEST_CASE(repeat_calls_the_body_until_it_returns_a_plain_yes) {
    long calls = 0;
    wait(vow::repeat(r, [&] { return stop_if(++calls == 5); }));
    BOOST_TEST(calls == 5);
}

BOOST_AUTO_TEST_CASE(repeat_mixes_ready_and_pending_body_futures) {
    long calls = 0;
    wait(vow::repeat(r, [&]() -> vow::future<stop_iteration> {
        ++calls;
        if (calls % 2 == 0)
            return next_turn(r, stop_if(calls == 10));
        return vow::make_ready_future(r, stop_if(calls == 10));
    }));
    BOOST_TEST(calls == 10);
}

BOOST_AUTO_TEST_CASE(repeat_calls_the_body_again_only_after_its_future_settled_and_never_inside_resolve) {
    std::vector<vow::promise<stop_iteration>> steps;
    auto f = vow::repeat(r, [&] {
        steps.emplace_back(r);
        return steps.back().get_future();
    });
    BOOST_TEST(steps.size() == 1u);  // the first call happens inside repeat()
    run();
    BOOST_TEST(steps.size() == 1u);  // waiting for the first future
    steps[0].resolve(stop_iteration::no);
    BOOST_TEST(steps.size() == 1u);  // not inside resolve()
    run();
    BOOST_TEST_REQUIRE(steps.size() == 2u);
    steps[1].resolve(stop_iteration::yes);
    run();
    BOOST_TEST(steps.size() == 2u);
    BOOST_TEST(f.available());
    wait(std::move(f));
}

BOOST_AUTO_TEST_CASE(repeat_rejects_with_the_first_error_of_a_body_future_and_calls_the_body_no_more) {
    for (bool pending : {false, true}) {
        BOOST_TEST_CONTEXT("body futures " << (pending ? "pending" : "ready")) {
            auto error = std::make_exception_ptr(tagged_error(1));
            long calls = 0;
            auto f = vow::repeat(r, [&]() -> vow::future<stop_iteration> {
                if (++calls == 3) {
                    if (!pending)
                        return vow::make_exception_future<stop_iteration>(r, error);
                    return next_turn(r).then([&]() -> stop_iteration { std::rethrow_exception(error); });
                }
                return pending ? next_turn(r, stop_iteration::no) : vow::make_ready_future(r, stop_iteration::no);
            });
            BOOST_TEST((wait_error(std::move(f)) == error));
            run();
            BOOST_TEST(calls == 3);
        }
    }
}

BOOST_AUTO_TEST_CASE(repeat_rejects_when_the_body_throws_and_calls_it_no_more) {
    auto error = std::make_exception_ptr(tagged_error(2));
    long calls = 0;
    auto f = vow::repeat(r, [&] {
        if (++calls == 3)
            std::rethrow_exception(error);
        return next_turn(r, stop_iteration::no);
    });
    BOOST_TEST((wait_error(std::move(f)) == error));
    run();
    BOOST_TEST(calls == 3);

    // A body returning a plain stop_iteration, throwing on its first call.
    calls = 0;
    auto g = vow::repeat(r, [&]() -> stop_iteration {
        ++calls;
        std::rethrow_exception(error);
    });
    BOOST_TEST((wait_error(std::move(g)) == error));
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(a_loop_that_ended_inside_the_call_still_runs_its_continuations_on_a_later_turn) {
    // The first body call happens inside repeat(), and ready futures are
    // taken at once, so this loop has ended when repeat() returns; what is
    // chained on its future still runs on a later turn, never inside then().
    long calls = 0;
    auto f = vow::repeat(r, [&] { return vow::make_ready_future(r, stop_if(++calls == 3)); });
    BOOST_TEST(calls == 3);
    BOOST_TEST(f.available());
    bool ran = false;
    auto g = std::move(f).then([&] { ran = true; });
    BOOST_TEST(!ran);
    wait(std::move(g));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_dropped_loop_keeps_running_and_its_error_is_reported) {
    auto error = std::make_exception_ptr(tagged_error(3));
    long calls = 0;
    (void)vow::repeat(r, [&]() -> vow::future<stop_iteration> {
        if (++calls == 3)
            return vow::make_exception_future<stop_iteration>(r, error);
        return next_turn(r, stop_iteration::no);
    });
    run();
    BOOST_TEST(calls == 3);
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    unhandled.clear();
}

// ------------------------------------------------------------ a million iterations

BOOST_AUTO_TEST_CASE(repeat_runs_a_million_ready_iterations_without_stack_growth) {
    long calls = 0;
    wait(vow::repeat(r, [&] { return vow::make_ready_future(r, stop_if(++calls == many)); }), 5min);
    BOOST_TEST(calls == many);

    calls = 0;
    wait(vow::repeat(r, [&] { return stop_if(++calls == many); }), 5min);
    BOOST_TEST(calls == many);
}

BOOST_AUTO_TEST_CASE(repeat_runs_a_million_pending_iterations) {
    long calls = 0;
    wait(vow::repeat(r, [&] { return next_turn(r, stop_if(++calls == many)); }), 5min);
    BOOST_TEST(calls == many);
}

BOOST_AUTO_TEST_CASE(a_million_ready_iterations_grow_memory_by_less_than_32_mb, *vow::test::memory_tests()) {
    long calls = 0;
    vow::test::memory_probe probe;
    wait(vow::repeat(r, [&] { return vow::make_ready_future(r, stop_if(++calls == 1'000'000)); }), 5min);
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("repeat, a million ready iterations: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
    BOOST_TEST(calls == 1'000'000);
}

BOOST_AUTO_TEST_CASE(a_million_pending_iterations_grow_memory_by_less_than_32_mb, *vow::test::memory_tests()) {
    long calls = 0;
    vow::test::memory_probe probe;
    wait(vow::repeat(r, [&] { return next_turn(r, stop_if(++calls == 1'000'000)); }), 5min);
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("repeat, a million pending iterations: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
    BOOST_TEST(calls == 1'000'000);
}

BOOST_AUTO_TEST_CASE(do_for_each_over_a_million_elements_grows_memory_by_less_than_32_mb,
                     *vow::test::memory_tests()) {
    long sum = 0;
    vow::test::memory_probe probe;
    wait(vow::do_for_each(r, std::views::iota(0L, 1'000'000L),
                          [&](long i) {
                              sum += i;
                              return next_turn(r);
                          }),
         5min);
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("do_for_each, a million pending iterations: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
    BOOST_TEST(sum == 999'999L * 1'000'000L / 2);
}

// ------------------------------------------------------------ starvation

BOOST_AUTO_TEST_CASE(a_timer_fires_while_a_repeat_of_ready_iterations_runs) {
    constexpr long n = 100'000;
    long calls = 0;
    long calls_when_the_timer_fired = -1;
    (void)r.call_later(0ms, [&] { calls_when_the_timer_fired = calls; });
    wait(vow::repeat(r, [&] { return vow::make_ready_future(r, stop_if(++calls == n)); }));
    BOOST_TEST(calls == n);
    BOOST_TEST(calls_when_the_timer_fired > 0);  // the first batch runs inside repeat()
    BOOST_TEST(calls_when_the_timer_fired < n);  // the timer did not wait for the loop to end
}

BOOST_AUTO_TEST_CASE(a_repeat_of_ready_iterations_yields_to_the_reactor_at_least_every_batch) {
    // A zero-delay timer that re-arms itself records how many iterations ran
    // between two of its turns. The loop runs one batch per turn of the
    // reactor; the timer and the loop's own yield timer may swap places
    // within a turn, so two batches at most lie between two ticks.
    constexpr long n = 100'000;
    long calls = 0;
    bool done = false;
    std::vector<long> ticks{0};
    std::function<void()> tick = [&] {
        ticks.push_back(calls);
        if (!done)
            (void)r.call_later(0ms, tick);
    };
    (void)r.call_later(0ms, tick);
    for (bool plain : {false, true}) {
        BOOST_TEST_CONTEXT((plain ? "plain stop_iteration" : "ready futures")) {
            calls = 0;
            ticks.assign(1, 0);
            auto body = [&]() -> vow::future<stop_iteration> {
                return vow::make_ready_future(r, stop_if(++calls == n));
            };
            if (plain)
                wait(vow::repeat(r, [&] { return stop_if(++calls == n); }));
            else
                wait(vow::repeat(r, body));
            ticks.push_back(calls);
            long widest = 0;
            for (std::size_t i = 1; i < ticks.size(); ++i)
                widest = std::max(widest, ticks[i] - ticks[i - 1]);
            BOOST_TEST_MESSAGE("ticks: " << ticks.size() - 2 << ", most iterations between two: " << widest);
            BOOST_TEST(ticks.size() > 2u);
            BOOST_TEST(widest <= 2 * batch);
        }
    }
    done = true;
    run();
}

// ------------------------------------------------------------ do_until

BOOST_AUTO_TEST_CASE(do_until_with_a_predicate_true_at_the_start_never_calls_the_body) {
    long calls = 0;
    auto f = vow::do_until(r, [] { return true; }, [&] { return ++calls, next_turn(r); });
    wait(std::move(f));
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(do_until_checks_the_predicate_before_each_body_call) {
    std::string log;
    long calls = 0;
    wait(vow::do_until(
        r,
        [&] {
            log += 'p';
            return calls == 3;
        },
        [&] {
            log += 'b';
            ++calls;
            return next_turn(r);
        }));
    BOOST_TEST(log == "pbpbpbp");
}

BOOST_AUTO_TEST_CASE(do_until_accepts_a_body_that_returns_nothing) {
    long calls = 0;
    wait(vow::do_until(r, [&] { return calls == many; }, [&] { ++calls; }), 5min);
    BOOST_TEST(calls == many);
}

BOOST_AUTO_TEST_CASE(do_until_rejects_with_a_body_error_and_calls_neither_again) {
    auto error = std::make_exception_ptr(tagged_error(4));
    long checks = 0, calls = 0;
    auto f = vow::do_until(
        r, [&] { return ++checks, false; },
        [&]() -> vow::future<void> {
            if (++calls == 2)
                return vow::make_exception_future<void>(r, error);
            return next_turn(r);
        });
    BOOST_TEST((wait_error(std::move(f)) == error));
    run();
    BOOST_TEST(calls == 2);
    BOOST_TEST(checks == 2);
}

BOOST_AUTO_TEST_CASE(do_until_rejects_when_the_predicate_throws) {
    auto error = std::make_exception_ptr(tagged_error(5));
    long calls = 0;
    auto f = vow::do_until(
        r,
        [&]() -> bool {
            if (calls == 2)
                std::rethrow_exception(error);
            return false;
        },
        [&] { return ++calls, next_turn(r); });
    BOOST_TEST((wait_error(std::move(f)) == error));
    BOOST_TEST(calls == 2);
}

// ------------------------------------------------------------ do_for_each

BOOST_AUTO_TEST_CASE(do_for_each_calls_fn_on_each_element_in_order) {
    std::vector<int> seen;
    const std::vector<int> items{3, 1, 4, 1, 5};
    wait(vow::do_for_each(r, items, [&](const int& x) {
        seen.push_back(x);
        return next_turn(r);
    }));
    BOOST_TEST(seen == items, per_element());
}

BOOST_AUTO_TEST_CASE(do_for_each_calls_fn_on_the_next_element_only_after_the_previous_future_settled) {
    std::vector<int> items{10, 20, 30};
    std::vector<vow::promise<void>> steps;
    std::vector<int> seen;
    auto f = vow::do_for_each(r, items, [&](int x) {
        seen.push_back(x);
        steps.emplace_back(r);
        return steps.back().get_future();
    });
    for (std::size_t i = 0; i < items.size(); ++i) {
        BOOST_TEST_REQUIRE(steps.size() == i + 1);
        run();
        BOOST_TEST(steps.size() == i + 1);  // still waiting for element i
        BOOST_TEST(!f.available());
        steps[i].resolve();
        BOOST_TEST(steps.size() == i + 1);  // not inside resolve()
        run();
    }
    BOOST_TEST(f.available());
    wait(std::move(f));
    BOOST_TEST(seen == items, per_element());
}

BOOST_AUTO_TEST_CASE(do_for_each_stops_at_the_first_error) {
    auto error = std::make_exception_ptr(tagged_error(6));
    std::vector<int> items{1, 2, 3, 4};
    std::vector<int> seen;
    auto f = vow::do_for_each(r, items, [&](int x) -> vow::future<void> {
        seen.push_back(x);
        if (x == 2)
            return next_turn(r).then([&] { std::rethrow_exception(error); });
        return next_turn(r);
    });
    BOOST_TEST((wait_error(std::move(f)) == error));
    run();
    BOOST_TEST(seen == (std::vector<int>{1, 2}), per_element());

    // fn throwing at once.
    seen.clear();
    auto g = vow::do_for_each(r, items, [&](int x) {
        seen.push_back(x);
        if (x == 3)
            std::rethrow_exception(error);
    });
    BOOST_TEST((wait_error(std::move(g)) == error));
    BOOST_TEST(seen == (std::vector<int>{1, 2, 3}), per_element());
}

BOOST_AUTO_TEST_CASE(do_for_each_over_an_lvalue_range_works_on_the_callers_elements) {
    std::vector<int> items{1, 2, 3};
    wait(vow::do_for_each(r, items, [&](int& x) {
        x *= 10;
        return next_turn(r);
    }));
    BOOST_TEST(items == (std::vector<int>{10, 20, 30}), per_element());
}

BOOST_AUTO_TEST_CASE(do_for_each_keeps_an_rvalue_range_of_move_only_elements_for_as_long_as_it_runs) {
    auto make_items = [] {
        std::vector<std::unique_ptr<int>> v;
        for (int i = 1; i <= 4; ++i)
            v.push_back(std::make_unique<int>(i));
        return v;
    };
    std::vector<int> seen;
    // The temporary vector is gone when do_for_each returns; the elements
    // are visited on later turns, from the loop's own copy.
    auto f = vow::do_for_each(r, make_items(), [&](std::unique_ptr<int>& p) {
        seen.push_back(*p);
        return next_turn(r);
    });
    BOOST_TEST(seen.size() == 1u);
    wait(std::move(f));
    BOOST_TEST(seen == (std::vector<int>{1, 2, 3, 4}), per_element());

    // A named vector given with std::move: its elements move into the loop.
    auto items = make_items();
    int* first = items.front().get();
    std::vector<int*> visited;
    wait(vow::do_for_each(r, std::move(items), [&](std::unique_ptr<int>& p) {
        visited.push_back(p.get());
        return next_turn(r);
    }));
    BOOST_TEST_REQUIRE(visited.size() == 4u);
    BOOST_TEST(visited.front() == first);
}

BOOST_AUTO_TEST_CASE(do_for_each_over_an_iterator_pair_visits_that_part_only) {
    std::vector<int> items{1, 2, 3, 4, 5};
    std::vector<int> seen;
    wait(vow::do_for_each(r, items.begin() + 1, items.end() - 1, [&](int x) {
        seen.push_back(x);
        return next_turn(r);
    }));
    BOOST_TEST(seen == (std::vector<int>{2, 3, 4}), per_element());
}

BOOST_AUTO_TEST_CASE(do_for_each_over_an_empty_range_resolves_without_calling_fn) {
    std::vector<int> none;
    long calls = 0;
    wait(vow::do_for_each(r, none, [&](int) { return ++calls, next_turn(r); }));
    wait(vow::do_for_each(r, none.begin(), none.end(), [&](int) { return ++calls, next_turn(r); }));
    BOOST_TEST(calls == 0);
}

// ------------------------------------------------------------ keep_doing

BOOST_AUTO_TEST_CASE(keep_doing_resolves_when_stop_is_requested_between_iterations) {
    std::stop_source stop;
    long calls = 0;
    auto f = vow::keep_doing(
        r,
        [&] {
            if (++calls == 3)
                stop.request_stop();
            return next_turn(r);
        },
        stop.get_token());
    wait(std::move(f));
    BOOST_TEST(calls == 3);
}

BOOST_AUTO_TEST_CASE(keep_doing_with_a_stopped_token_never_calls_the_body) {
    std::stop_source stop;
    stop.request_stop();
    long calls = 0;
    wait(vow::keep_doing(r, [&] { return ++calls, next_turn(r); }, stop.get_token()));
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(keep_doing_resolves_when_stopped_while_a_body_future_waits_on_the_same_token) {
    // The body's sleep rejects with cancelled_error because of the stop: the
    // loop ends with success, not with that error.
    std::stop_source stop;
    long calls = 0;
    auto f = vow::keep_doing(
        r,
        [&] {
            ++calls;
            return vow::sleep(r, 1h, stop.get_token());
        },
        stop.get_token());
    r.call_soon([&] { stop.request_stop(); });
    wait(std::move(f));
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(keep_doing_resolves_when_stopped_from_another_thread_while_a_body_future_waits) {
    std::stop_source stop;
    long calls = 0;
    auto f = vow::keep_doing(
        r,
        [&](std::stop_token token) {
            ++calls;
            return vow::sleep(r, 1h, token);
        },
        stop.get_token());
    std::thread stopper([&] { stop.request_stop(); });
    try {
        wait(std::move(f));
    } catch (...) {
        stopper.join();
        throw;
    }
    stopper.join();
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(keep_doing_waits_for_a_body_future_that_ignores_the_token_then_resolves) {
    std::stop_source stop;
    vow::promise<void> step(r);
    long calls = 0;
    auto f = vow::keep_doing(r, [&] { return ++calls, step.get_future(); }, stop.get_token());
    stop.request_stop();
    run();
    BOOST_TEST(!f.available());  // the loop does not interrupt its body's future
    step.resolve();
    wait(std::move(f));
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(keep_doing_passes_its_token_to_a_body_that_takes_one) {
    std::stop_source stop;
    std::vector<bool> stopped_at_call;
    auto f = vow::keep_doing(
        r,
        [&](std::stop_token token) {
            stopped_at_call.push_back(token.stop_requested());
            if (stopped_at_call.size() == 2)
                stop.request_stop();
            BOOST_TEST(token.stop_requested() == (stopped_at_call.size() == 2));  // the loop's own token
            return next_turn(r);
        },
        stop.get_token());
    wait(std::move(f));
    BOOST_TEST(stopped_at_call.size() == 2u);
}

BOOST_AUTO_TEST_CASE(keep_doing_rejects_with_the_body_error_and_calls_it_no_more) {
    std::stop_source stop;
    auto error = std::make_exception_ptr(tagged_error(7));
    long calls = 0;
    auto f = vow::keep_doing(
        r,
        [&]() -> vow::future<void> {
            if (++calls == 3)
                return next_turn(r).then([&] { std::rethrow_exception(error); });
            return next_turn(r);
        },
        stop.get_token());
    BOOST_TEST((wait_error(std::move(f)) == error));
    run();
    BOOST_TEST(calls == 3);

    calls = 0;
    auto g = vow::keep_doing(
        r,
        [&] {
            if (++calls == 2)
                std::rethrow_exception(error);
        },
        stop.get_token());
    BOOST_TEST((wait_error(std::move(g)) == error));
    BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(keep_doing_rejects_with_a_cancelled_error_that_its_own_stop_did_not_cause) {
    std::stop_source stop, other;
    auto f = vow::keep_doing(r, [&] { return vow::sleep(r, 1h, other.get_token()); }, stop.get_token());
    r.call_soon([&] { other.request_stop(); });
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::error_as<vow::cancelled_error>(e) != nullptr);
}

BOOST_AUTO_TEST_CASE(keep_doing_rejects_with_an_error_other_than_cancellation_even_after_stop) {
    std::stop_source stop;
    vow::promise<void> step(r);
    auto error = std::make_exception_ptr(tagged_error(8));
    auto f = vow::keep_doing(r, [&] { return step.get_future(); }, stop.get_token());
    stop.request_stop();
    step.reject(error);
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(keep_doing_with_a_body_that_returns_nothing_is_stopped_by_a_timer) {
    // The body never waits; only the loop's yields let the timer run.
    std::stop_source stop;
    long calls = 0;
    (void)r.call_later(0ms, [&] { stop.request_stop(); });
    wait(vow::keep_doing(r, [&] { ++calls; }, stop.get_token()));
    BOOST_TEST(calls > 0);
}

// ------------------------------------------------------------ the body's lifetime

BOOST_AUTO_TEST_CASE(repeat_destroys_the_body_as_soon_as_the_loop_ends) {
    for (bool fail : {false, true}) {
        BOOST_TEST_CONTEXT((fail ? "ends with an error" : "ends with yes")) {
            auto token = std::make_shared<int>(0);
            long calls = 0;
            auto f = vow::repeat(r, [&, token]() -> vow::future<stop_iteration> {
                if (++calls < 3)
                    return next_turn(r, stop_iteration::no);
                if (fail)
                    return vow::make_exception_future<stop_iteration>(r, tagged_error(9));
                return next_turn(r, stop_iteration::yes);
            });
            BOOST_TEST(token.use_count() == 2);  // the loop holds the body while it runs
            run();
            BOOST_TEST(f.available());
            BOOST_TEST(token.use_count() == 1);  // the loop's future is alive; the body is gone
            if (fail)
                wait_error(std::move(f));
            else
                wait(std::move(f));
        }
    }
}

BOOST_AUTO_TEST_CASE(do_until_destroys_the_predicate_and_the_body_as_soon_as_the_loop_ends) {
    auto token = std::make_shared<int>(0);
    long calls = 0;
    auto f = vow::do_until(
        r, [&, token] { return calls == 3; }, [&, token] { return ++calls, next_turn(r); });
    BOOST_TEST(token.use_count() == 3);
    run();
    BOOST_TEST(f.available());
    BOOST_TEST(token.use_count() == 1);
    wait(std::move(f));
}

BOOST_AUTO_TEST_CASE(do_for_each_destroys_fn_as_soon_as_the_loop_ends) {
    auto token = std::make_shared<int>(0);
    std::vector<int> items{1, 2, 3};
    auto f = vow::do_for_each(r, items, [&, token](int x) -> vow::future<void> {
        if (x == 2)
            return vow::make_exception_future<void>(r, tagged_error(10));
        return next_turn(r);
    });
    run();
    BOOST_TEST(f.available());
    BOOST_TEST(token.use_count() == 1);
    wait_error(std::move(f));
}

BOOST_AUTO_TEST_CASE(keep_doing_destroys_the_body_as_soon_as_the_loop_ends) {
    auto token = std::make_shared<int>(0);
    std::stop_source stop;
    auto f = vow::keep_doing(
        r, [&, token](std::stop_token t) { return vow::sleep(r, 1h, std::move(t)); }, stop.get_token());
    r.call_soon([&] { stop.request_stop(); });
    run();
    BOOST_TEST(f.available());
    BOOST_TEST(token.use_count() == 1);
    wait(std::move(f));
}

BOOST_AUTO_TEST_CASE(a_loop_pending_when_its_reactor_is_destroyed_destroys_its_body) {
    auto token = std::make_shared<int>(0);
    auto other = std::make_unique<vow::reactor>();
    {
        vow::promise<stop_iteration> step(*other);
        auto f = vow::repeat(*other, [&step, token] { return step.get_future(); });
        // Rule 5 of docs/design.md: only the reactor's pending callables may
        // hold its promises and futures when it is destroyed.
        (void)other->call_later(1h, [step = std::move(step), f = std::move(f)] {});
    }
    BOOST_TEST(token.use_count() == 2);
    other.reset();
    BOOST_TEST(token.use_count() == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // loop_test
