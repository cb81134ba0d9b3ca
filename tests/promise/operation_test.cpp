// vow::pending_operation: a promise that its owner, a deadline or a stop
// request settles, exactly once, the others disarmed.
#include <boost/test/unit_test.hpp>
#include <expect_abort.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/operation.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>

BOOST_AUTO_TEST_SUITE(operation_test)

using namespace std::chrono_literals;
using vow::expiry;
using vow::pending_operation;
using vow::test::message_of;

namespace {

// What the expiry function saw. Captured by shared_ptr so that a test can
// count the copies the timer and the stop link still hold.
struct expiries {
    int calls = 0;
    std::optional<expiry> why;
};

auto recording(std::shared_ptr<expiries> seen, const char* name = "test::read") {
    return [seen, name](expiry why) {
        ++seen->calls;
        seen->why = why;
        return vow::expired_error(why, name);
    };
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(operation, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(the_owners_value_settles_it_and_disarms_the_deadline_and_the_stop_link) {
    auto seen = std::make_shared<expiries>();
    std::stop_source stop;
    pending_operation<int> op(r);
    auto f = op.get_future();
    op.arm(10ms, {}, stop.get_token(), recording(seen));
    BOOST_TEST(seen.use_count() == 3);   // ours, the timer's and the link's copies
    op.resolve(42);
    BOOST_TEST(!op.pending());
    BOOST_TEST(seen.use_count() == 1);   // both copies destroyed at once
    BOOST_TEST(wait(std::move(f)) == 42);
    stop.request_stop();
    (void)r.call_later(30ms, [] {});   // past the deadline
    run();
    BOOST_TEST(seen->calls == 0);
}

BOOST_AUTO_TEST_CASE(the_owners_error_settles_it) {
    auto seen = std::make_shared<expiries>();
    pending_operation<std::string> op(r);
    auto f = op.get_future();
    op.arm(1h, {}, {}, recording(seen));
    op.reject(std::make_exception_ptr(std::runtime_error("refused")));
    BOOST_TEST(message_of(wait_error(std::move(f))) == "refused");
    BOOST_TEST(seen->calls == 0);
}

BOOST_AUTO_TEST_CASE(a_settled_operation_leaves_nothing_that_keeps_the_loop_running) {
    pending_operation<void> op(r);
    auto f = op.get_future();
    op.arm(1h, {}, {}, recording(std::make_shared<expiries>()));
    op.resolve();
    wait(std::move(f));
    run();   // the hour-long timer is gone: returns at once (the fixture fails a run that does not)
    BOOST_TEST(!op.pending());
}

BOOST_AUTO_TEST_CASE(the_deadline_rejects_with_timeout_error_through_the_expiry_function) {
    auto seen = std::make_shared<expiries>();
    std::stop_source stop;
    pending_operation<int> op(r);
    auto f = op.get_future();
    op.arm(5ms, {}, stop.get_token(), recording(seen));
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::error_as<vow::timeout_error>(e) != nullptr);
    BOOST_TEST(message_of(e) == "vow::test::read: timed out");
    BOOST_TEST(seen->calls == 1);
    BOOST_TEST((seen->why == expiry::timeout));
    BOOST_TEST(!op.pending());
    BOOST_TEST(seen.use_count() == 1);   // the link's copy went with the timer's
    stop.request_stop();                  // too late: nothing more happens
    run();
    BOOST_TEST(seen->calls == 1);
}

BOOST_AUTO_TEST_CASE(the_earlier_of_timeout_and_deadline_counts) {
    auto seen = std::make_shared<expiries>();
    pending_operation<void> a(r), b(r);
    auto fa = a.get_future();
    auto fb = b.get_future();
    auto start = vow::reactor::clock::now();
    a.arm(1h, start + 5ms, {}, recording(seen));
    b.arm(5ms, start + 1h, {}, recording(seen));
    BOOST_TEST(vow::error_as<vow::timeout_error>(wait_error(std::move(fa))) != nullptr);
    BOOST_TEST(vow::error_as<vow::timeout_error>(wait_error(std::move(fb))) != nullptr);
    BOOST_TEST(seen->calls == 2);
}

BOOST_AUTO_TEST_CASE(a_deadline_in_the_past_expires_on_a_later_turn_never_inside_arm) {
    auto seen = std::make_shared<expiries>();
    pending_operation<void> op(r);
    auto f = op.get_future();
    op.arm({}, vow::reactor::clock::now() - 1s, {}, recording(seen));
    BOOST_TEST(op.pending());
    BOOST_TEST(seen->calls == 0);
    BOOST_TEST(vow::error_as<vow::timeout_error>(wait_error(std::move(f))) != nullptr);
}

BOOST_AUTO_TEST_CASE(a_stop_request_from_another_thread_rejects_with_cancelled_error) {
    auto seen = std::make_shared<expiries>();
    std::stop_source stop;
    pending_operation<int> op(r);
    auto f = op.get_future();
    op.arm(1h, {}, stop.get_token(), recording(seen, "test::accept"));
    std::thread([&] { stop.request_stop(); }).join();
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::error_as<vow::cancelled_error>(e) != nullptr);
    BOOST_TEST(message_of(e) == "vow::test::accept: cancelled: stop was requested on its stop_token");
    BOOST_TEST((seen->why == expiry::cancelled));
    BOOST_TEST(seen.use_count() == 1);   // the timer's copy is gone too
}

BOOST_AUTO_TEST_CASE(a_stop_requested_before_arm_expires_on_a_later_turn) {
    auto seen = std::make_shared<expiries>();
    std::stop_source stop;
    stop.request_stop();
    pending_operation<void> op(r);
    auto f = op.get_future();
    op.arm({}, {}, stop.get_token(), recording(seen));
    BOOST_TEST(op.pending());
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(f))) != nullptr);
    BOOST_TEST(seen->calls == 1);
}

BOOST_AUTO_TEST_CASE(the_expiry_function_may_destroy_the_operation) {
    std::optional<pending_operation<int>> op;
    op.emplace(r);
    auto f = op->get_future();
    op->arm(1ms, {}, {}, [&](expiry why) {
        op.reset();   // the owner's cleanup: under ASan a use after free would show
        return vow::expired_error(why, "test::read");
    });
    BOOST_TEST(vow::error_as<vow::timeout_error>(wait_error(std::move(f))) != nullptr);
    BOOST_TEST(!op);
}

BOOST_AUTO_TEST_CASE(an_owner_may_word_its_own_error_and_a_null_one_gets_the_default) {
    pending_operation<void> a(r), b(r);
    auto fa = a.get_future();
    auto fb = b.get_future();
    a.arm(1ms, {}, {}, [](expiry) { return std::make_exception_ptr(std::runtime_error("no answer in time")); });
    b.arm(1ms, {}, {}, [](expiry) { return std::exception_ptr(); });
    BOOST_TEST(message_of(wait_error(std::move(fa))) == "no answer in time");
    auto e = wait_error(std::move(fb));
    BOOST_TEST(vow::error_as<vow::timeout_error>(e) != nullptr);
    BOOST_TEST(message_of(e) == "vow::pending_operation: timed out");
}

BOOST_AUTO_TEST_CASE(it_settles_once_later_settles_and_arms_throw_usage_error) {
    pending_operation<int> op(r);
    auto f = op.get_future();
    op.resolve(1);
    BOOST_CHECK_THROW(op.resolve(2), vow::usage_error);
    BOOST_CHECK_THROW(op.reject(std::make_exception_ptr(std::runtime_error("x"))), vow::usage_error);
    BOOST_CHECK_THROW(op.arm(1ms, {}, {}, recording(std::make_shared<expiries>())), vow::usage_error);
    BOOST_TEST(wait(std::move(f)) == 1);

    pending_operation<int> expired(r);
    auto g = expired.get_future();
    expired.arm(1ms, {}, {}, recording(std::make_shared<expiries>()));
    (void)wait_error(std::move(g));
    try {
        expired.resolve(3);
        BOOST_FAIL("resolve after expiry did not throw");
    } catch (const vow::usage_error& e) {
        BOOST_TEST(std::string(e.what()) ==
                   "vow::pending_operation::resolve: the operation has already settled (or expired)");
    }
}

BOOST_AUTO_TEST_CASE(destroying_an_unsettled_operation_breaks_its_promise_and_disarms_it) {
    auto seen = std::make_shared<expiries>();
    std::stop_source stop;
    vow::future<int> f;
    {
        pending_operation<int> op(r);
        f = op.get_future();
        op.arm(1ms, {}, stop.get_token(), recording(seen));
    }
    BOOST_TEST(seen.use_count() == 1);
    BOOST_TEST(vow::error_as<vow::broken_promise>(wait_error(std::move(f))) != nullptr);
    stop.request_stop();
    run();
    BOOST_TEST(seen->calls == 0);
}

BOOST_AUTO_TEST_CASE(a_throwing_expiry_function_breaks_the_promise_and_is_reported) {
    pending_operation<int> op(r);
    auto f = op.get_future();
    op.arm(1ms, {}, {}, [](expiry) -> std::exception_ptr { throw std::runtime_error("cleanup failed"); });
    BOOST_TEST(vow::error_as<vow::broken_promise>(wait_error(std::move(f))) != nullptr);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0].find("cleanup failed") != std::string::npos);
    reported.clear();
}

BOOST_AUTO_TEST_CASE(nothing_armed_is_just_a_promise) {
    pending_operation<std::string> op(r);
    auto f = op.get_future();
    r.call_soon([&] { op.resolve("done"); });
    BOOST_TEST(wait(std::move(f)) == "done");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(arming_off_the_reactors_thread_aborts, *vow::test::death_tests()) {
    vow::test::expect_abort(
        [] {
            vow::reactor* r = nullptr;
            pending_operation<int>* op = nullptr;
            std::thread([&] {
                r = new vow::reactor;
                op = new pending_operation<int>(*r);
            }).join();
            op->arm(1s, {}, {}, [](expiry why) { return vow::expired_error(why, "x"); });
        },
        {"pending_operation::arm", vow::test::thread_rule});
}

BOOST_AUTO_TEST_SUITE_END()  // operation_test
