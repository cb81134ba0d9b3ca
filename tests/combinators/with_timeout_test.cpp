// vow::with_timeout: settle like the source, or reject with
// vow::timeout_error when the time runs out first. Behaviours ported from
// CPython's test_wait_for: the slower source times out, the faster one
// passes, late results are dropped, the source is cancelled on timeout.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(with_timeout_test)

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

BOOST_FIXTURE_TEST_SUITE(with_timeout, fixture)

BOOST_AUTO_TEST_CASE(a_slower_source_times_out_with_timeout_error) {
    vow::promise<int> never(r);
    auto start = std::chrono::steady_clock::now();
    auto f = vow::with_timeout(never.get_future(), 5ms);
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), vow::timeout_error);
    BOOST_TEST((std::chrono::steady_clock::now() - start >= 5ms));
}

BOOST_AUTO_TEST_CASE(a_timeout_error_is_a_runtime_error_that_names_the_limit) {
    vow::promise<int> never(r);
    try {
        (void)vow::run_until_complete(r, vow::with_timeout(never.get_future(), 2ms));
        BOOST_ERROR("no timeout");
    } catch (const std::runtime_error& e) {
        BOOST_TEST(dynamic_cast<const vow::timeout_error*>(&e) != nullptr);
        BOOST_TEST(std::string(e.what()).find("2") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(a_faster_source_passes_its_value_and_frees_the_timer) {
    auto f = vow::with_timeout(later(r, 1ms, 5), 1h);
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 5);
    run(std::chrono::seconds(5));  // returns only if the hour-long timer is gone
}

BOOST_AUTO_TEST_CASE(a_faster_source_passes_its_error_with_its_type) {
    auto f = vow::with_timeout(vow::make_exception_future<int>(r, custom_error("source")), 1h);
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), custom_error);
    run(std::chrono::seconds(5));
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_ready_source_wins_over_a_long_limit) {
    BOOST_TEST(vow::run_until_complete(r, vow::with_timeout(vow::make_ready_future(r, 3), 1h)) == 3);
    vow::run_until_complete(r, vow::with_timeout(vow::make_ready_future(r), 1h));
    run(std::chrono::seconds(5));
}

BOOST_AUTO_TEST_CASE(a_late_value_after_the_timeout_is_dropped) {
    vow::promise<std::string> p(r);
    int calls = 0;
    bool timed_out = false;
    auto chain = vow::with_timeout(p.get_future(), 1ms)
                     .then([&](std::string) { ++calls; })
                     .catch_([&](const vow::timeout_error&) {
                         ++calls;
                         timed_out = true;
                     });
    run();  // the timeout fires; `p` is still pending
    BOOST_TEST(timed_out);
    p.resolve("late");
    run();
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(a_late_error_after_the_timeout_is_not_reported_as_unhandled) {
    vow::promise<int> p(r);
    auto f = vow::with_timeout(p.get_future(), 1ms);
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), vow::timeout_error);
    p.reject(std::runtime_error("late error"));
    run();
    BOOST_TEST(unhandled.empty(), "unhandled: " << (unhandled.empty() ? "" : unhandled.front()));

    // The same with a source whose promise breaks after the timeout.
    auto breaking = std::make_unique<vow::promise<int>>(r);
    auto g = vow::with_timeout(breaking->get_future(), 1ms);
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(g)), vow::timeout_error);
    breaking.reset();
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(on_timeout_stop_is_requested_and_a_cancellable_sleep_source_is_cancelled) {
    std::stop_source stop;
    auto f = vow::with_timeout(vow::sleep(r, 1h, stop.get_token()), 5ms, stop);
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), vow::timeout_error);
    BOOST_TEST(stop.stop_requested());
    // The sleep rejects with cancelled_error (dropped: it is late) and frees
    // its hour-long timer, so the loop becomes idle.
    run(std::chrono::seconds(5));
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(stop_is_not_requested_when_the_source_wins) {
    std::stop_source stop;
    auto f = vow::with_timeout(vow::sleep(r, 1ms, stop.get_token()), 1h, stop);
    vow::run_until_complete(r, std::move(f));
    BOOST_TEST(!stop.stop_requested());
    run(std::chrono::seconds(5));
}

BOOST_AUTO_TEST_CASE(a_future_void_times_out_too) {
    vow::promise<void> never(r);
    BOOST_CHECK_THROW(vow::run_until_complete(r, vow::with_timeout(never.get_future(), 1ms)), vow::timeout_error);
}

BOOST_AUTO_TEST_CASE(a_zero_limit_times_out_on_a_later_turn_not_inside_the_call) {
    vow::promise<int> never(r);
    auto f = vow::with_timeout(never.get_future(), 0ms);
    BOOST_TEST(!f.available());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), vow::timeout_error);
}

// The source and the time limit expire together, in every order the loop
// can see them: each limited future still settles exactly once, and nothing
// is reported as unhandled.
BOOST_AUTO_TEST_CASE(a_timeout_racing_completion_settles_exactly_once) {
    constexpr int rounds = 400;
    std::vector<int> settles(rounds, 0);
    int values = 0, timeouts = 0, errors = 0;
    std::vector<vow::future<void>> chains;
    for (int i = 0; i < rounds; ++i) {
        auto limit = std::chrono::microseconds(100 * (i % 4));
        auto settle = [i](vow::promise<int>& p) {
            if (i % 2)
                p.resolve(i);
            else
                p.reject(std::runtime_error("source"));
        };
        vow::future<int> limited;
        switch (i / 2 % 4) {
        case 0: {  // the source's timer is armed first, with the same delay
            vow::promise<int> p(r);
            auto f = p.get_future();
            (void)r.call_later(limit, [p = std::move(p), settle]() mutable { settle(p); });
            limited = vow::with_timeout(std::move(f), limit);
            break;
        }
        case 1: {  // armed after the time limit
            vow::promise<int> p(r);
            limited = vow::with_timeout(p.get_future(), limit);
            (void)r.call_later(limit, [p = std::move(p), settle]() mutable { settle(p); });
            break;
        }
        case 2: {  // settled one turn after a timer with the same deadline
            vow::promise<int> p(r);
            limited = vow::with_timeout(p.get_future(), limit);
            (void)r.call_later(limit, [this, p = std::move(p), settle]() mutable {
                r.call_soon([p = std::move(p), settle]() mutable { settle(p); });
            });
            break;
        }
        default:  // already settled
            limited = vow::with_timeout(i % 2 ? vow::make_ready_future(r, i)
                                              : vow::make_exception_future<int>(r, std::runtime_error("source")),
                                        limit);
        }
        chains.push_back(std::move(limited)
                             .then([&, i](int v) {
                                 ++settles[std::size_t(i)];
                                 ++values;
                                 BOOST_TEST(v == i);
                             })
                             .catch_([&, i](std::exception_ptr e) {
                                 ++settles[std::size_t(i)];
                                 try {
                                     std::rethrow_exception(e);
                                 } catch (const vow::timeout_error&) {
                                     ++timeouts;
                                 } catch (const std::runtime_error& ex) {
                                     ++errors;
                                     BOOST_TEST(std::string(ex.what()) == "source");
                                 }
                             }));
    }
    run();
    int wrong = 0;
    for (int s : settles)
        wrong += s != 1;
    BOOST_TEST(wrong == 0);
    BOOST_TEST(values + timeouts + errors == rounds);
    BOOST_TEST(unhandled.empty(), "unhandled: " << (unhandled.empty() ? "" : unhandled.front()));
}

BOOST_AUTO_TEST_CASE(a_source_that_settled_before_the_limit_wins_even_if_its_fire_is_still_queued) {
    vow::promise<int> p(r);
    auto g = p.get_future();
    (void)r.call_later(1ms, [&] { p.resolve(5); });
    std::stop_source stop;
    auto f = vow::with_timeout(std::move(g), 2ms, stop);
    r.call_soon([] { std::this_thread::sleep_for(10ms); });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 5);
    BOOST_TEST(!stop.stop_requested());
}

BOOST_AUTO_TEST_CASE(a_negative_limit_throws_invalid_argument) {
    vow::promise<int> p(r);
    BOOST_CHECK_THROW((void)vow::with_timeout(p.get_future(), -1ms), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(a_consumed_future_throws_future_consumed) {
    BOOST_CHECK_THROW((void)vow::with_timeout(vow::future<int>(), 1ms), vow::future_consumed);
}

BOOST_AUTO_TEST_SUITE_END()

// with_timeout(r, limit, fn): the operation gets a stop token, is stopped
// when time runs out, and has settled before timeout_error arrives.
BOOST_FIXTURE_TEST_SUITE(with_timeout_fn, vow::test::promise_fixture)

using vow::test::tagged_error;

BOOST_AUTO_TEST_CASE(fn_is_called_inside_the_call_with_a_token_not_yet_stopped) {
    std::optional<std::stop_token> seen;
    int calls = 0;
    auto f = vow::with_timeout(r, 1h, [&](std::stop_token stop) {
        ++calls;
        seen = stop;
        return vow::make_ready_future(r, 1);
    });
    BOOST_TEST(calls == 1);
    BOOST_REQUIRE(seen.has_value());
    BOOST_TEST(seen->stop_possible());
    BOOST_TEST(!seen->stop_requested());
    BOOST_TEST(wait(std::move(f)) == 1);
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(a_value_in_time_passes_stop_is_never_requested_and_the_timer_is_freed) {
    std::stop_token token;
    auto f = vow::with_timeout(r, 1h, [&](std::stop_token stop) {
        token = stop;
        return later(r, 1ms, std::string("in time"));
    });
    static_assert(std::is_same_v<decltype(f), vow::future<std::string>>);
    BOOST_TEST(wait(std::move(f)) == "in time");
    BOOST_TEST(!token.stop_requested());
    run(5s);  // returns only if the hour-long timer is gone
}

BOOST_AUTO_TEST_CASE(a_future_void_operation_in_time_resolves) {
    int done = 0;
    wait(vow::with_timeout(r, 1h, [&](std::stop_token stop) {
        return vow::sleep(r, 1ms, std::move(stop)).then([&] { ++done; });
    }));
    BOOST_TEST(done == 1);
    run(5s);
}

BOOST_AUTO_TEST_CASE(the_operation_s_own_error_passes_through_unchanged) {
    auto error = std::make_exception_ptr(tagged_error(1));
    std::stop_token token;
    auto f = vow::with_timeout(r, 1h, [&](std::stop_token stop) {
        token = stop;
        vow::promise<int> p(r);
        auto g = p.get_future();
        (void)r.call_later(1ms, [p = std::move(p), error]() mutable { p.reject(error); });
        return g;
    });
    BOOST_TEST((wait_error(std::move(f)) == error));
    BOOST_TEST(!token.stop_requested());
    run(5s);
}

BOOST_AUTO_TEST_CASE(fn_throwing_rejects_the_result_with_its_error_and_frees_the_timer) {
    auto f = vow::with_timeout(r, 1h, [](std::stop_token) -> vow::future<int> { throw tagged_error(2); });
    auto e = wait_error(std::move(f));
    BOOST_REQUIRE(vow::error_as<tagged_error>(e));
    BOOST_TEST(vow::error_as<tagged_error>(e)->tag == 2);
    run(5s);
}

BOOST_AUTO_TEST_CASE(fn_returning_an_empty_future_rejects_with_future_consumed_and_frees_the_timer) {
    auto f = vow::with_timeout(r, 1h, [](std::stop_token) { return vow::future<int>(); });
    BOOST_TEST(vow::error_as<vow::future_consumed>(wait_error(std::move(f))) != nullptr);
    run(5s);
}

BOOST_AUTO_TEST_CASE(on_timeout_stop_is_requested_and_a_cancellable_operation_ends_with_timeout_error) {
    std::stop_token token;
    auto f = vow::with_timeout(r, 2ms, [&](std::stop_token stop) {
        token = stop;
        return vow::sleep(r, 1h, std::move(stop));
    });
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::error_as<vow::timeout_error>(e) != nullptr, vow::error_message(e));
    BOOST_TEST(token.stop_requested());
    run(5s);  // the hour-long sleep was cancelled; its cancelled_error is not reported
}

BOOST_AUTO_TEST_CASE(timeout_error_waits_until_an_operation_that_ignores_stop_has_settled) {
    bool op_settled = false, settled_first = false, stop_seen = false;
    std::stop_token token;
    auto f = vow::with_timeout(r, 1ms, [&](std::stop_token stop) {
                 token = stop;
                 return later(r, 20ms, 7).then([&](int v) {
                     op_settled = true;
                     stop_seen = token.stop_requested();
                     return v;
                 });
             }).catch_([&](std::exception_ptr e) -> int {
        settled_first = op_settled;
        std::rethrow_exception(e);
    });
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::error_as<vow::timeout_error>(e) != nullptr, vow::error_message(e));
    BOOST_TEST(settled_first);  // no work of the operation outlives the call
    BOOST_TEST(stop_seen);      // stop was asked for before the operation ended
}

BOOST_AUTO_TEST_CASE(a_late_value_after_the_timeout_is_discarded) {
    int calls = 0;
    auto f = vow::with_timeout(r, 1ms, [&](std::stop_token) { return later(r, 10ms, std::string("late")); })
                 .then([&](std::string) { ++calls; })
                 .catch_([&](const vow::timeout_error&) { calls += 10; });
    wait(std::move(f));
    BOOST_TEST(calls == 10);
}

BOOST_AUTO_TEST_CASE(a_late_cancelled_or_timeout_error_after_the_timeout_is_not_reported) {
    for (int kind = 0; kind < 2; ++kind) {
        auto late = kind == 0 ? std::make_exception_ptr(vow::cancelled_error("late cancel"))
                              : std::make_exception_ptr(vow::timeout_error("late timeout"));
        auto f = vow::with_timeout(r, 1ms, [&](std::stop_token) {
            vow::promise<int> p(r);
            auto g = p.get_future();
            (void)r.call_later(5ms, [p = std::move(p), late]() mutable { p.reject(late); });
            return g;
        });
        auto e = wait_error(std::move(f));
        BOOST_TEST(vow::error_as<vow::timeout_error>(e) != nullptr);
        BOOST_TEST((e != late));  // the result's own timeout_error, not the operation's
        run();
    }
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_late_other_error_after_the_timeout_is_reported_where_with_timeout_was_called) {
    auto late = std::make_exception_ptr(tagged_error(3));
    const std::uint_least32_t line = __LINE__; auto f = vow::with_timeout(r, 1ms, [&](std::stop_token) {
        vow::promise<int> p(r);
        auto g = p.get_future();
        (void)r.call_later(5ms, [p = std::move(p), late]() mutable { p.reject(late); });
        return g;
    });
    BOOST_TEST(vow::error_as<vow::timeout_error>(wait_error(std::move(f))) != nullptr);
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == late));
    BOOST_TEST(unhandled[0].line == line);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(an_operation_already_settled_wins_over_a_zero_limit) {
    for (int i = 0; i < 50; ++i) {
        auto f = vow::with_timeout(r, 0ms, [&](std::stop_token) { return vow::make_ready_future(r, i); });
        BOOST_TEST(wait(std::move(f)) == i);
    }
}

// The operation settles from a timer due before the limit's, and both are
// due when the loop next looks (a callback blocks it past both): the
// operation's fire is still queued when the limit's timer runs.
BOOST_AUTO_TEST_CASE(an_operation_that_settled_before_the_limit_wins_even_if_its_fire_is_still_queued) {
    vow::promise<int> p(r);
    auto g = p.get_future();
    (void)r.call_later(1ms, [&] { p.resolve(5); });
    std::stop_token token;
    auto f = vow::with_timeout(r, 2ms, [&](std::stop_token stop) {
        token = stop;
        return std::move(g);
    });
    r.call_soon([] { std::this_thread::sleep_for(10ms); });
    BOOST_TEST(wait(std::move(f)) == 5);
    BOOST_TEST(!token.stop_requested());
}

BOOST_AUTO_TEST_CASE(a_zero_limit_requests_stop_on_a_later_turn_not_inside_the_call) {
    std::stop_token token;
    auto f = vow::with_timeout(r, 0ms, [&](std::stop_token stop) {
        token = stop;
        return vow::sleep(r, 1h, std::move(stop));
    });
    BOOST_TEST(!token.stop_requested());
    BOOST_TEST(vow::error_as<vow::timeout_error>(wait_error(std::move(f))) != nullptr);
    BOOST_TEST(token.stop_requested());
}

BOOST_AUTO_TEST_CASE(a_negative_limit_throws_invalid_argument_without_calling_fn) {
    int calls = 0;
    BOOST_CHECK_THROW((void)vow::with_timeout(r, -1ms,
                                              [&](std::stop_token) {
                                                  ++calls;
                                                  return vow::make_ready_future(r);
                                              }),
                      vow::invalid_argument);
    BOOST_TEST(calls == 0);
}

// The operation and the time limit end together, in every order the loop
// can see them: each result settles exactly once, with the value, the
// operation's error or timeout_error, and only a non-cancel error that lost
// to the timer is reported.
BOOST_AUTO_TEST_CASE(a_timeout_racing_completion_settles_exactly_once) {
    constexpr int rounds = 400;
    std::vector<int> settles(rounds, 0);
    int values = 0, timeouts = 0, errors = 0;
    std::vector<vow::future<void>> chains;
    for (int i = 0; i < rounds; ++i) {
        auto limit = std::chrono::microseconds(100 * (i % 4));
        chains.push_back(vow::with_timeout(r, limit,
                                           [&, i, limit](std::stop_token stop) -> vow::future<int> {
                                               switch (i / 2 % 3) {
                                               case 0:  // settles at the limit, whatever stop says
                                                   return i % 2 ? later(r, limit, i)
                                                                : vow::sleep(r, limit).then([]() -> int {
                                                                      throw vow::cancelled_error("source");
                                                                  });
                                               case 1:  // obeys stop
                                                   return vow::sleep(r, limit, std::move(stop)).then([i] { return i; });
                                               default:  // already settled
                                                   return vow::make_ready_future(r, i);
                                               }
                                           })
                             .then([&, i](int v) {
                                 ++settles[std::size_t(i)];
                                 ++values;
                                 BOOST_TEST(v == i);
                             })
                             .catch_([&, i](std::exception_ptr e) {
                                 ++settles[std::size_t(i)];
                                 if (vow::error_as<vow::timeout_error>(e))
                                     ++timeouts;
                                 else if (vow::error_as<vow::cancelled_error>(e))
                                     ++errors;
                                 else
                                     BOOST_ERROR("unexpected error: " << vow::error_message(e));
                             }));
    }
    run();
    int wrong = 0;
    for (int s : settles)
        wrong += s != 1;
    BOOST_TEST(wrong == 0);
    BOOST_TEST(values + timeouts + errors == rounds);
    for (auto& c : chains)
        BOOST_TEST(c.available());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // with_timeout_test
