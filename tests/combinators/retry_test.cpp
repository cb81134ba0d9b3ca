// vow::retry: call an async operation again until it succeeds, waiting
// longer between attempts.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(retry_test)

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

struct transient : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct fatal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A short, deterministic policy: no jitter, 1 ms then 2 ms then 4 ms...
vow::retry_policy quick(std::size_t attempts) {
    vow::retry_policy p;
    p.max_attempts = attempts;
    p.initial_delay = 1ms;
    p.multiplier = 2.0;
    p.jitter = 0.0;
    return p;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(retry, fixture)

BOOST_AUTO_TEST_CASE(succeeds_after_k_failures_with_the_right_attempt_count) {
    int attempts = 0;
    auto f = vow::retry(r, quick(5), [&] {
        ++attempts;
        if (attempts <= 2)
            return vow::make_exception_future<int>(r, transient("attempt " + std::to_string(attempts)));
        return vow::make_ready_future(r, 42);
    });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 42);
    BOOST_TEST(attempts == 3);
    run();
    BOOST_TEST(unhandled.empty(), "the failed attempts' errors were consumed by retry");
}

BOOST_AUTO_TEST_CASE(the_first_attempt_starts_inside_the_call_and_success_does_not_wait) {
    int attempts = 0;
    auto f = vow::retry(r, quick(3), [&] {
        ++attempts;
        return vow::make_ready_future(r, std::string("first time"));
    });
    BOOST_TEST(attempts == 1);
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == "first time");
    BOOST_TEST(attempts == 1);
}

BOOST_AUTO_TEST_CASE(gives_up_after_max_attempts_with_the_last_error) {
    int attempts = 0;
    auto f = vow::retry(r, quick(4), [&] {
        ++attempts;
        return vow::make_exception_future<int>(r, transient("attempt " + std::to_string(attempts)));
    });
    std::string error;
    try {
        (void)vow::run_until_complete(r, std::move(f));
    } catch (const transient& e) {
        error = e.what();
    }
    BOOST_TEST(error == "attempt 4");
    BOOST_TEST(attempts == 4);
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_single_attempt_policy_passes_the_error_through) {
    int attempts = 0;
    auto f = vow::retry(r, quick(1), [&] {
        ++attempts;
        return vow::make_exception_future<void>(r, fatal("once"));
    });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), fatal);
    BOOST_TEST(attempts == 1);
}

BOOST_AUTO_TEST_CASE(retry_if_returning_false_stops_at_once) {
    int attempts = 0;
    std::vector<std::size_t> asked;
    auto policy = quick(10);
    policy.initial_delay = 1h;  // a retry would hang the test: there must be none
    policy.retry_if = [&](const std::exception_ptr& e, std::size_t attempt) {
        asked.push_back(attempt);
        BOOST_TEST(message_of(e) == "no");
        return false;
    };
    auto f = vow::retry(r, policy, [&] {
        ++attempts;
        return vow::make_exception_future<int>(r, fatal("no"));
    });
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), fatal);
    BOOST_TEST(attempts == 1);
    BOOST_TEST(asked == (std::vector<std::size_t>{1}), per_element());
}

BOOST_AUTO_TEST_CASE(retry_if_chooses_by_error_and_sees_each_attempt_number) {
    int attempts = 0;
    std::vector<std::size_t> asked;
    auto policy = quick(10);
    policy.retry_if = [&](const std::exception_ptr& e, std::size_t attempt) {
        asked.push_back(attempt);
        try {
            std::rethrow_exception(e);
        } catch (const transient&) {
            return true;
        } catch (...) {
            return false;
        }
    };
    auto f = vow::retry(r, policy, [&] {
        ++attempts;
        if (attempts < 3)
            return vow::make_exception_future<int>(r, transient("again"));
        return vow::make_exception_future<int>(r, fatal("stop"));
    });
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), fatal);
    BOOST_TEST(attempts == 3);
    BOOST_TEST(asked == (std::vector<std::size_t>{1, 2, 3}), per_element());
}

BOOST_AUTO_TEST_CASE(fn_throwing_counts_as_a_failed_attempt) {
    int attempts = 0;
    auto f = vow::retry(r, quick(3), [&]() -> vow::future<int> {
        if (++attempts < 3)
            throw transient("thrown");
        return vow::make_ready_future(r, attempts);
    });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 3);
}

BOOST_AUTO_TEST_CASE(delays_grow_so_the_total_wait_is_at_least_the_sum_of_the_minimum_delays) {
    // Delays 4, 8, 16 ms, each possibly shortened by jitter to half: at least
    // 2 + 4 + 8 = 14 ms between the call and the last attempt's failure.
    vow::retry_policy policy;
    policy.max_attempts = 4;
    policy.initial_delay = 4ms;
    policy.multiplier = 2.0;
    policy.jitter = 0.5;
    std::vector<std::chrono::steady_clock::time_point> calls;
    auto start = std::chrono::steady_clock::now();
    auto f = vow::retry(r, policy, [&] {
        calls.push_back(std::chrono::steady_clock::now());
        return vow::make_exception_future<void>(r, transient("fail"));
    });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), transient);
    BOOST_REQUIRE(calls.size() == 4u);
    BOOST_TEST((calls.back() - start >= 14ms));
    for (std::size_t i = 1; i < calls.size(); ++i)
        BOOST_TEST((calls[i] > calls[i - 1]));
}

BOOST_AUTO_TEST_CASE(the_delay_is_capped_by_max_delay) {
    // A huge multiplier with a small cap: the test finishes quickly only if
    // the cap applies (a lower bound is checked, the finish is the proof).
    vow::retry_policy policy;
    policy.max_attempts = 4;
    policy.initial_delay = 1ms;
    policy.multiplier = 1000.0;
    policy.max_delay = 3ms;
    policy.jitter = 0.0;
    int attempts = 0;
    auto start = std::chrono::steady_clock::now();
    auto f = vow::retry(r, policy, [&] {
        ++attempts;
        return vow::make_exception_future<int>(r, transient("x"));
    });
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), transient);
    BOOST_TEST(attempts == 4);
    BOOST_TEST((std::chrono::steady_clock::now() - start >= 7ms));  // 1 + 3 + 3
}

BOOST_AUTO_TEST_CASE(an_invalid_policy_throws_invalid_argument_without_calling_fn) {
    int calls = 0;
    auto fn = [&] {
        ++calls;
        return vow::make_ready_future(r, 1);
    };
    auto bad = [&](auto change) {
        auto p = quick(3);
        change(p);
        BOOST_CHECK_THROW((void)vow::retry(r, p, fn), vow::invalid_argument);
    };
    bad([](vow::retry_policy& p) { p.max_attempts = 0; });
    bad([](vow::retry_policy& p) { p.multiplier = 0.5; });
    bad([](vow::retry_policy& p) { p.multiplier = std::numeric_limits<double>::quiet_NaN(); });
    bad([](vow::retry_policy& p) { p.jitter = -0.1; });
    bad([](vow::retry_policy& p) { p.jitter = 1.5; });
    bad([](vow::retry_policy& p) { p.jitter = std::numeric_limits<double>::quiet_NaN(); });
    bad([](vow::retry_policy& p) { p.initial_delay = -1ms; });
    bad([](vow::retry_policy& p) { p.max_delay = -1ms; });
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(a_stop_token_cancels_the_wait_between_attempts) {
    std::stop_source stop;
    auto policy = quick(5);
    policy.initial_delay = 1h;
    int attempts = 0;
    auto f = vow::retry(
        r, policy,
        [&] {
            ++attempts;
            // Ask for stop once the first attempt has failed and the wait began.
            (void)r.call_later(1ms, [&] { stop.request_stop(); });
            return vow::make_exception_future<int>(r, transient("fail"));
        },
        stop.get_token());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), vow::cancelled_error);
    BOOST_TEST(attempts == 1);
    run(std::chrono::seconds(5));  // the hour-long wait was freed
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_stop_already_requested_gives_cancelled_error_after_the_first_failure) {
    std::stop_source stop;
    stop.request_stop();
    int attempts = 0;
    auto f = vow::retry(
        r, quick(5),
        [&] {
            ++attempts;
            return vow::make_exception_future<int>(r, transient("fail"));
        },
        stop.get_token());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), vow::cancelled_error);
    BOOST_TEST(attempts == 1);
}

// --- the attempt number ---

BOOST_AUTO_TEST_CASE(fn_taking_the_attempt_number_gets_1_then_one_more_per_retry) {
    std::vector<std::size_t> seen;
    auto f = vow::retry(r, quick(5), [&](std::size_t attempt) {
        seen.push_back(attempt);
        if (attempt < 4)
            return vow::make_exception_future<std::size_t>(r, transient("again"));
        return vow::make_ready_future(r, attempt);
    });
    BOOST_TEST(seen == (std::vector<std::size_t>{1}), per_element());  // the first call is inside retry
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 4u);
    BOOST_TEST(seen == (std::vector<std::size_t>{1, 2, 3, 4}), per_element());
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(the_attempt_number_fn_gets_is_the_one_retry_if_sees_for_its_error) {
    std::vector<std::size_t> called, asked;
    auto policy = quick(10);
    policy.retry_if = [&](const std::exception_ptr& e, std::size_t attempt) {
        asked.push_back(attempt);
        BOOST_TEST(message_of(e) == "attempt " + std::to_string(attempt));
        return attempt < 3;
    };
    auto f = vow::retry(r, policy, [&](std::size_t attempt) {
        called.push_back(attempt);
        return vow::make_exception_future<void>(r, transient("attempt " + std::to_string(attempt)));
    });
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(f)), transient);
    BOOST_TEST(called == (std::vector<std::size_t>{1, 2, 3}), per_element());
    BOOST_TEST(asked == called, per_element());
}

BOOST_AUTO_TEST_CASE(the_attempt_number_goes_on_after_an_attempt_that_threw) {
    std::vector<std::size_t> seen;
    auto f = vow::retry(r, quick(3), [&](std::size_t attempt) -> vow::future<std::string> {
        seen.push_back(attempt);
        if (attempt == 1)
            throw transient("thrown");
        return vow::make_ready_future(r, "attempt " + std::to_string(attempt));
    });
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == "attempt 2");
    BOOST_TEST(seen == (std::vector<std::size_t>{1, 2}), per_element());
}

BOOST_AUTO_TEST_CASE(the_last_attempt_is_numbered_max_attempts) {
    std::size_t last = 0;
    auto f = vow::retry(r, quick(3), [&](std::size_t attempt) {
        last = attempt;
        return vow::make_exception_future<int>(r, transient("fail"));
    });
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(f)), transient);
    BOOST_TEST(last == 3u);
}

BOOST_AUTO_TEST_CASE(a_functor_taking_the_number_as_another_integer_type_gets_it_too) {
    std::vector<int> seen;
    auto f = vow::retry(r, quick(3), [&](int attempt) {
        seen.push_back(attempt);
        if (attempt == 1)
            return vow::make_exception_future<void>(r, transient("once"));
        return vow::make_ready_future(r);
    });
    vow::run_until_complete(r, std::move(f));
    BOOST_TEST(seen == (std::vector<int>{1, 2}), per_element());
}

BOOST_AUTO_TEST_CASE(fn_taking_the_attempt_number_is_destroyed_once_the_result_has_settled) {
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watch = token;
    auto f = vow::retry(r, quick(2), [&, keep = std::move(token)](std::size_t attempt) {
        if (attempt == 1)
            return vow::make_exception_future<int>(r, transient("x"));
        return vow::make_ready_future(r, *keep + 5);
    });
    BOOST_TEST(!watch.expired());
    BOOST_TEST(vow::run_until_complete(r, std::move(f)) == 5);
    run();
    BOOST_TEST(watch.expired());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // retry_test
