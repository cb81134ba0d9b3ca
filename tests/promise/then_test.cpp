// future::then: runs a handler on the value, adopts a returned future,
// turns a throw into a rejection, lets an error pass by. The core cases run
// with a source that is already settled, settles on the next turn, and
// settles from a timer (Promises/A+ 2.2).
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

BOOST_AUTO_TEST_SUITE(then_test)

using namespace std::chrono_literals;
using vow::test::settle_mode;
using vow::test::tagged_error;
namespace data = boost::unit_test::data;

static_assert(!std::is_copy_constructible_v<vow::future<int>>, "a future is move-only");
static_assert(!std::is_copy_assignable_v<vow::future<int>>, "a future is move-only");
static_assert(std::is_nothrow_move_constructible_v<vow::future<int>>);
static_assert(std::is_nothrow_move_assignable_v<vow::future<int>>);

BOOST_FIXTURE_TEST_SUITE(then, vow::test::promise_fixture)

// --- Promises/A+ core cases, in the three settle modes ---

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, then_passes_the_value_to_the_handler,
                       data::make(vow::test::all_settle_modes), mode) {
    int seen = 0;
    std::thread::id ran_on;
    auto f = fulfilled<int>(mode, 41).then([&](int n) {
        seen = n;
        ran_on = std::this_thread::get_id();
        return n + 1;
    });
    BOOST_TEST(seen == 0);  // not inside then()
    BOOST_TEST(wait(std::move(f)) == 42);
    BOOST_TEST(seen == 41);
    BOOST_TEST((ran_on == reactor_thread));
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_rejection_skips_the_handler_and_passes_through_unchanged,
                       data::make(vow::test::all_settle_modes), mode) {
    auto error = std::make_exception_ptr(tagged_error(7));
    bool called = false;
    auto f = rejected<int>(mode, error).then([&](int n) {
        called = true;
        return n;
    });
    auto got = wait_error(std::move(f));
    BOOST_TEST(!called);
    BOOST_TEST((got == error));  // the same exception object, not a copy
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, then_on_a_void_future_calls_the_handler_without_arguments,
                       data::make(vow::test::all_settle_modes), mode) {
    int calls = 0;
    auto f = fulfilled<void>(mode).then([&] { ++calls; });
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    wait(std::move(f));
    BOOST_TEST(calls == 1);
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_throwing_handler_rejects_with_that_same_exception,
                       data::make(vow::test::all_settle_modes), mode) {
    auto error = std::make_exception_ptr(tagged_error(3));
    auto f = fulfilled<int>(mode, 1).then([error](int) -> int { std::rethrow_exception(error); });
    BOOST_TEST((wait_error(std::move(f)) == error));
}

// --- what the handler returns ---

BOOST_AUTO_TEST_CASE(a_thrown_exception_object_arrives_with_its_type_and_fields) {
    auto f = vow::make_ready_future(r, 5).then([](int n) -> std::string { throw tagged_error(n * 10); });
    auto got = wait_error(std::move(f));
    try {
        std::rethrow_exception(got);
    } catch (const tagged_error& e) {
        BOOST_TEST(e.tag == 50);
    } catch (...) {
        BOOST_FAIL("the error lost its type");
    }
}

BOOST_AUTO_TEST_CASE(a_returned_future_is_adopted_not_nested) {
    vow::promise<int> inner(r);
    auto inner_future = inner.get_future();
    auto f = vow::make_ready_future(r, 1).then([&](int) { return std::move(inner_future); });
    static_assert(std::is_same_v<decltype(f), vow::future<int>>, "future<future<int>> is flattened");
    (void)r.call_later(5ms, [&] { inner.resolve(99); });
    BOOST_TEST(wait(std::move(f)) == 99);
}

BOOST_AUTO_TEST_CASE(the_result_waits_for_a_pending_returned_future) {
    vow::promise<std::string> inner(r);
    auto inner_future = inner.get_future();
    auto f = vow::make_ready_future(r).then([&] { return std::move(inner_future); });
    // Several turns pass; the handler has run and returned a pending future.
    for (int i = 0; i < 5; ++i)
        r.run_once(false);
    BOOST_TEST(!f.available());
    inner.resolve("late");
    BOOST_TEST(wait(std::move(f)) == "late");
}

BOOST_AUTO_TEST_CASE(a_rejected_returned_future_rejects_the_result_with_its_error) {
    auto error = std::make_exception_ptr(tagged_error(11));
    auto f = vow::make_ready_future(r, 1).then([&](int) { return vow::make_exception_future<double>(r, error); });
    static_assert(std::is_same_v<decltype(f), vow::future<double>>);
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(a_handler_may_return_a_future_void) {
    bool inner_ran = false;
    auto f = vow::make_ready_future(r, 1).then([&](int) {
        return vow::make_ready_future(r).then([&] { inner_ran = true; });
    });
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    wait(std::move(f));
    BOOST_TEST(inner_ran);
}

BOOST_AUTO_TEST_CASE(the_type_may_change_along_a_chain) {
    std::string seen;
    auto f = vow::make_ready_future(r, 42)
                 .then([](int n) { return std::to_string(n); })
                 .then([&](std::string s) { seen = std::move(s); })
                 .then([] { return 2.5; });
    static_assert(std::is_same_v<decltype(f), vow::future<double>>);
    BOOST_TEST(wait(std::move(f)) == 2.5);
    BOOST_TEST(seen == "42");
}

BOOST_AUTO_TEST_CASE(move_only_values_flow_through_a_chain) {
    vow::promise<std::unique_ptr<int>> p(r);
    auto f = p.get_future()
                 .then([](std::unique_ptr<int> v) {
                     *v += 1;
                     return v;
                 })
                 .then([](std::unique_ptr<int>&& v) { return std::make_unique<std::string>(std::to_string(*v)); });
    p.resolve(std::make_unique<int>(6));
    auto out = wait(std::move(f));
    BOOST_TEST_REQUIRE(out != nullptr);
    BOOST_TEST(*out == "7");
}

BOOST_AUTO_TEST_CASE(a_type_without_a_default_constructor_is_a_fine_value) {
    struct no_default {
        explicit no_default(int x) : v(x) {}
        int v;
    };
    auto f = vow::make_ready_future(r, no_default(3)).then([](no_default d) { return no_default(d.v * 2); });
    BOOST_TEST(wait(std::move(f)).v == 6);
}

BOOST_AUTO_TEST_CASE(an_error_skips_every_then_down_to_the_end_of_the_chain) {
    auto error = std::make_exception_ptr(tagged_error(1));
    int calls = 0;
    auto f = vow::make_exception_future<int>(r, error)
                 .then([&](int n) { return ++calls, n; })
                 .then([&](int n) { return ++calls, std::to_string(n); })
                 .then([&](const std::string&) { ++calls; });
    BOOST_TEST((wait_error(std::move(f)) == error));
    BOOST_TEST(calls == 0);
}

// --- the handler's life ---

BOOST_AUTO_TEST_CASE(the_handler_is_destroyed_right_after_it_runs) {
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> watch = token;
    bool released_before_next = false;
    auto f = vow::make_ready_future(r, 1)
                 .then([token = std::move(token)](int n) { return n + *token; })
                 .then([&](int n) {
                     released_before_next = watch.expired();
                     return n;
                 });
    BOOST_TEST(wait(std::move(f)) == 1);
    BOOST_TEST(released_before_next);
}

BOOST_AUTO_TEST_CASE(an_lvalue_handler_is_copied_and_the_original_left_alone) {
    int calls = 0;
    auto handler = [&calls](int n) {
        ++calls;
        return n * 2;
    };
    auto f = vow::make_ready_future(r, 2).then(handler);
    auto g = vow::make_ready_future(r, 3).then(handler);
    BOOST_TEST(wait(std::move(f)) == 4);
    BOOST_TEST(wait(std::move(g)) == 6);
    BOOST_TEST(calls == 2);
}

// --- consuming the future ---

BOOST_AUTO_TEST_CASE(then_on_an_rvalue_consumes_the_future) {
    auto f = vow::make_ready_future(r, 1);
    auto g = std::move(f).then([](int n) { return n + 1; });
    BOOST_TEST(!f.valid());  // NOLINT(bugprone-use-after-move): checking exactly that
    BOOST_CHECK_THROW((void)std::move(f).then([](int n) { return n; }), vow::future_consumed);
    BOOST_TEST(wait(std::move(g)) == 2);
}

BOOST_AUTO_TEST_CASE(every_operation_on_an_empty_future_throws_future_consumed) {
    vow::future<int> empty;
    BOOST_TEST(!empty.valid());
    BOOST_TEST(!empty.available());
    BOOST_TEST(!empty.failed());
    BOOST_CHECK_THROW((void)std::move(empty).then([](int n) { return n; }), vow::future_consumed);
    BOOST_CHECK_THROW((void)std::move(empty).catch_([](std::exception_ptr) { return 0; }), vow::future_consumed);
    BOOST_CHECK_THROW((void)std::move(empty).finally([] {}), vow::future_consumed);
    BOOST_CHECK_THROW((void)std::move(empty).share(), vow::future_consumed);
    BOOST_CHECK_THROW((void)empty.get_reactor(), vow::future_consumed);
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(empty)), vow::future_consumed);
}

BOOST_AUTO_TEST_CASE(a_moved_from_future_is_empty_and_its_move_target_works) {
    auto f = vow::make_ready_future(r, 8);
    vow::future<int> g = std::move(f);
    BOOST_TEST(!f.valid());  // NOLINT(bugprone-use-after-move)
    BOOST_CHECK_THROW((void)std::move(f).then([](int n) { return n; }), vow::future_consumed);
    vow::future<int> h;
    h = std::move(g);
    BOOST_TEST(&h.get_reactor() == &r);
    BOOST_TEST(wait(std::move(h)) == 8);
}

BOOST_AUTO_TEST_CASE(available_and_failed_tell_the_state_without_consuming) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    BOOST_TEST(f.valid());
    BOOST_TEST(!f.available());
    BOOST_TEST(!f.failed());
    p.reject(tagged_error(1));
    BOOST_TEST(f.available());
    BOOST_TEST(f.failed());
    BOOST_CHECK_THROW(wait(std::move(f)), tagged_error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // then_test
