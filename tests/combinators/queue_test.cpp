// vow::queue: a bounded FIFO whose push waits while full and whose pop
// waits while empty (CPython's test_queues).
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(queue_test)

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

    // Runs the reactor until `f` settles, which must be a rejection: its error.
    template <class T>
    std::exception_ptr error_of(vow::future<T> f) {
        try {
            (void)vow::run_until_complete(r, std::move(f));
        } catch (...) {
            return std::current_exception();
        }
        BOOST_FAIL("the future fulfilled; it should have rejected");
        return nullptr;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(queue, fixture)

BOOST_AUTO_TEST_CASE(values_come_out_in_push_order) {
    vow::queue<int> q(r, 10);
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(q.push(i).available());
    BOOST_TEST(q.size() == 5u);
    std::vector<int> out;
    for (int i = 0; i < 5; ++i)
        out.push_back(vow::run_until_complete(r, q.pop()));
    BOOST_TEST(out == (std::vector<int>{0, 1, 2, 3, 4}), per_element());
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(pop_waits_while_the_queue_is_empty) {
    vow::queue<std::string> q(r, 1);
    std::optional<std::string> got;
    auto chain = q.pop().then([&](std::string v) { got = std::move(v); });
    run();  // idle: nothing to pop
    BOOST_TEST(!got.has_value());
    (void)q.push("hello");
    run();
    BOOST_TEST(got.value_or("nothing") == "hello");
}

BOOST_AUTO_TEST_CASE(push_waits_while_the_queue_is_full) {
    vow::queue<int> q(r, 2);
    auto a = q.push(1), b = q.push(2), c = q.push(3);
    BOOST_TEST(a.available());
    BOOST_TEST(b.available());
    BOOST_TEST(!c.available());
    BOOST_TEST(q.full());
    BOOST_TEST(q.size() == 2u);
    BOOST_TEST(vow::run_until_complete(r, q.pop()) == 1);
    vow::run_until_complete(r, std::move(c));  // there was room again
    BOOST_TEST(q.size() == 2u);
    BOOST_TEST(vow::run_until_complete(r, q.pop()) == 2);
    BOOST_TEST(vow::run_until_complete(r, q.pop()) == 3);
}

BOOST_AUTO_TEST_CASE(waiting_pops_are_served_in_the_order_they_came) {
    vow::queue<int> q(r, 3);
    std::vector<std::string> got;
    std::vector<vow::future<void>> chains;
    for (int i = 0; i < 3; ++i)
        chains.push_back(q.pop().then([&, i](int v) { got.push_back(std::to_string(i) + ":" + std::to_string(v)); }));
    for (int v = 10; v < 13; ++v)
        (void)q.push(v);
    run();
    BOOST_TEST(got == (std::vector<std::string>{"0:10", "1:11", "2:12"}), per_element());
}

BOOST_AUTO_TEST_CASE(waiting_pushes_enter_in_the_order_they_came) {
    vow::queue<int> q(r, 1);
    std::vector<int> admitted;
    std::vector<vow::future<void>> chains;
    (void)q.push(0);
    for (int i = 1; i <= 3; ++i)
        chains.push_back(q.push(i).then([&, i] { admitted.push_back(i); }));
    std::vector<int> out;
    for (int i = 0; i < 4; ++i)
        out.push_back(vow::run_until_complete(r, q.pop()));
    run();
    BOOST_TEST(out == (std::vector<int>{0, 1, 2, 3}), per_element());
    BOOST_TEST(admitted == (std::vector<int>{1, 2, 3}), per_element());
}

BOOST_AUTO_TEST_CASE(a_waiting_pop_gets_a_pushed_value_directly) {
    vow::queue<int> q(r, 1);
    auto popped = q.pop();
    auto pushed = q.push(5);
    BOOST_TEST(pushed.available());  // handed over, not buffered
    BOOST_TEST(q.size() == 0u);
    BOOST_TEST(vow::run_until_complete(r, std::move(popped)) == 5);
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(a_capacity_of_zero_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::queue<int>(r, 0), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(move_only_values_pass_through_the_buffer_and_the_waiters) {
    vow::queue<std::unique_ptr<int>> q(r, 1);
    auto waiting_pop = q.pop();
    (void)q.push(std::make_unique<int>(1));       // straight to the waiting pop
    (void)q.push(std::make_unique<int>(2));       // buffered
    auto parked = q.push(std::make_unique<int>(3));  // parked until there is room
    BOOST_TEST(*vow::run_until_complete(r, std::move(waiting_pop)) == 1);
    BOOST_TEST(*vow::run_until_complete(r, q.pop()) == 2);
    vow::run_until_complete(r, std::move(parked));
    auto last = q.try_pop();
    BOOST_REQUIRE(last.has_value());
    BOOST_TEST(**last == 3);
}

BOOST_AUTO_TEST_CASE(try_push_leaves_the_value_untouched_when_full) {
    vow::queue<std::unique_ptr<int>> q(r, 1);
    auto first = std::make_unique<int>(1);
    auto second = std::make_unique<int>(2);
    BOOST_TEST(q.try_push(first));
    BOOST_TEST(!first);  // moved in
    BOOST_TEST(!q.try_push(second));
    BOOST_REQUIRE(second);
    BOOST_TEST(*second == 2);
}

BOOST_AUTO_TEST_CASE(try_pop_on_an_empty_queue_returns_nothing) {
    vow::queue<int> q(r, 2);
    BOOST_TEST(!q.try_pop().has_value());
    int v = 4;
    BOOST_TEST(q.try_push(v));
    BOOST_TEST(q.try_pop().value_or(-1) == 4);
    BOOST_TEST(q.capacity() == 2u);
}

BOOST_AUTO_TEST_CASE(a_producer_and_a_consumer_pass_everything_in_order_through_a_small_queue) {
    vow::queue<int> q(r, 3);
    constexpr int n = 200;
    std::vector<int> consumed;
    std::function<vow::future<void>(int)> produce = [&](int i) -> vow::future<void> {
        if (i == n)
            return vow::make_ready_future(r);
        return q.push(i).then([&, i] { return produce(i + 1); });
    };
    std::function<vow::future<void>()> consume = [&]() -> vow::future<void> {
        return q.pop().then([&](int v) -> vow::future<void> {
            consumed.push_back(v);
            if (v == n - 1)
                return vow::make_ready_future(r);
            return consume();
        });
    };
    vow::run_until_complete(r, vow::all(produce(0), consume()));
    bool in_order = consumed.size() == std::size_t(n);
    for (int i = 0; in_order && i < n; ++i)
        in_order = consumed[std::size_t(i)] == i;
    BOOST_TEST(in_order);
}

BOOST_AUTO_TEST_CASE(destroying_it_rejects_parked_operations_with_broken_promise) {
    auto q = std::make_unique<vow::queue<int>>(r, 1);
    auto pop = q->pop();
    auto q2 = std::make_unique<vow::queue<int>>(r, 1);
    (void)q2->push(1);
    auto push = q2->push(2);
    q.reset();
    q2.reset();
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(pop)), vow::broken_promise);
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(push)), vow::broken_promise);
}

// ------------------------------------------------------------------ close

BOOST_AUTO_TEST_CASE(close_still_delivers_the_values_already_queued_then_pop_rejects_with_queue_closed) {
    vow::queue<int> q(r, 5);
    for (int i = 0; i < 3; ++i)
        (void)q.push(i);
    q.close();
    BOOST_TEST(q.size() == 3u);
    std::vector<int> out;
    for (int i = 0; i < 3; ++i)
        out.push_back(vow::run_until_complete(r, q.pop()));
    BOOST_TEST(out == (std::vector<int>{0, 1, 2}), per_element());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, q.pop()), vow::queue_closed);
    // And for every later pop too.
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, q.pop()), vow::queue_closed);
}

BOOST_AUTO_TEST_CASE(every_pop_waiting_at_close_rejects_with_queue_closed) {
    vow::queue<int> q(r, 1);
    std::vector<vow::future<int>> pops;
    for (int i = 0; i < 3; ++i)
        pops.push_back(q.pop());
    q.close();
    for (auto& f : pops) {
        auto e = error_of(std::move(f));
        BOOST_CHECK_THROW(std::rethrow_exception(e), vow::queue_closed);
        BOOST_TEST(message_of(e) == "vow::queue::pop: the queue is closed and empty");
    }
}

BOOST_AUTO_TEST_CASE(a_push_waiting_at_close_rejects_with_queue_closed_and_its_value_is_dropped) {
    vow::queue<std::shared_ptr<int>> q(r, 1);
    auto value = std::make_shared<int>(7);
    (void)q.push(std::make_shared<int>(1));
    auto parked = q.push(value);
    BOOST_REQUIRE(!parked.available());
    BOOST_TEST(value.use_count() == 2);  // ours, and the parked push's
    q.close();
    BOOST_TEST(value.use_count() == 1);  // dropped at close, not on a later turn
    auto e = error_of(std::move(parked));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::queue_closed);
    BOOST_TEST(message_of(e).find("closed while this push waited") != std::string::npos);
    // The value that made it in is still delivered.
    BOOST_TEST(*vow::run_until_complete(r, q.pop()) == 1);
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, q.pop()), vow::queue_closed);
}

BOOST_AUTO_TEST_CASE(push_after_close_rejects_with_queue_closed) {
    vow::queue<int> q(r, 5);
    q.close();
    auto f = q.push(1);
    BOOST_TEST(f.failed());  // decided at once: nothing to wait for
    auto e = error_of(std::move(f));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::queue_closed);
    BOOST_TEST(message_of(e).find("vow::queue::push: the queue is closed") == 0u);
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(try_push_after_close_returns_false_and_leaves_the_value_untouched) {
    vow::queue<std::unique_ptr<int>> q(r, 5);
    q.close();
    auto v = std::make_unique<int>(3);
    BOOST_TEST(!q.try_push(v));
    BOOST_REQUIRE(v);
    BOOST_TEST(*v == 3);
    BOOST_TEST(q.empty());
}

BOOST_AUTO_TEST_CASE(try_pop_after_close_returns_the_values_left_then_nothing) {
    vow::queue<int> q(r, 5);
    (void)q.push(1);
    (void)q.push(2);
    q.close();
    BOOST_TEST(q.try_pop().value_or(-1) == 1);
    BOOST_TEST(q.try_pop().value_or(-1) == 2);
    BOOST_TEST(!q.try_pop().has_value());
    BOOST_TEST(!q.try_pop().has_value());
}

BOOST_AUTO_TEST_CASE(close_is_idempotent_and_closed_reports_it) {
    vow::queue<int> q(r, 2);
    BOOST_TEST(!q.closed());
    (void)q.push(4);
    auto parked = q.pop();  // served at once: the queue holds a value
    q.close();
    BOOST_TEST(q.closed());
    q.close();
    BOOST_TEST(q.closed());
    BOOST_TEST(vow::run_until_complete(r, std::move(parked)) == 4);
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, q.pop()), vow::queue_closed);
}

BOOST_AUTO_TEST_CASE(a_pop_that_already_has_its_value_keeps_it_when_the_queue_closes) {
    vow::queue<int> q(r, 1);
    // A pop that parked, then got a value; its continuation has not run yet.
    auto handed = q.pop();
    (void)q.push(1);
    // A pop that was ready at once.
    (void)q.push(2);
    auto ready = q.pop();
    BOOST_TEST(ready.available());
    q.close();
    BOOST_TEST(vow::run_until_complete(r, std::move(handed)) == 1);
    BOOST_TEST(vow::run_until_complete(r, std::move(ready)) == 2);
}

BOOST_AUTO_TEST_CASE(a_waiter_cancelled_before_close_rejects_with_cancelled_error_not_queue_closed) {
    vow::queue<int> q(r, 1);
    std::stop_source stop_pop, stop_push;
    auto pop = q.pop(stop_pop.get_token());
    stop_pop.request_stop();
    run();  // the stop reaches the loop: the pop leaves the line
    vow::queue<int> full(r, 1);
    (void)full.push(0);
    auto push = full.push(1, stop_push.get_token());
    stop_push.request_stop();
    run();
    q.close();
    full.close();
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(pop)), vow::cancelled_error);
    BOOST_CHECK_THROW(vow::run_until_complete(r, std::move(push)), vow::cancelled_error);
    BOOST_TEST(vow::run_until_complete(r, full.pop()) == 0);
}

BOOST_AUTO_TEST_CASE(a_stop_requested_after_close_leaves_the_queue_closed_rejection_alone) {
    vow::queue<int> q(r, 1);
    std::stop_source stop;
    auto pop = q.pop(stop.get_token());
    q.close();
    stop.request_stop();  // too late: the pop already left the line
    run();
    auto e = error_of(std::move(pop));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::queue_closed);
}

BOOST_AUTO_TEST_CASE(close_wins_over_a_stop_that_has_not_reached_the_loop_yet_and_the_pop_settles_once) {
    // request_stop posts the cancellation to the loop; close() runs before
    // that post, so the pop rejects with queue_closed and the post finds
    // nothing left to cancel.
    vow::queue<int> q(r, 1);
    std::stop_source stop;
    auto pop = q.pop(stop.get_token());
    stop.request_stop();
    q.close();
    auto e = error_of(std::move(pop));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::queue_closed);
    run();
}

BOOST_AUTO_TEST_CASE(a_token_still_cancels_a_pop_on_a_queue_that_is_never_closed_after_another_was) {
    // Closing one queue touches no other queue's waiters or their tokens.
    vow::queue<int> closed_one(r, 1);
    vow::queue<int> open_one(r, 1);
    std::stop_source stop;
    auto pop = open_one.pop(stop.get_token());
    closed_one.close();
    run();
    BOOST_TEST(!pop.available());
    stop.request_stop();
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(pop)), vow::cancelled_error);
}

BOOST_AUTO_TEST_CASE(close_from_a_pop_continuation_rejects_the_pops_still_waiting) {
    vow::queue<int> q(r, 1);
    std::vector<std::string> got;
    auto first = q.pop().then([&](int v) {
        got.push_back("value " + std::to_string(v));
        q.close();
    });
    std::vector<vow::future<void>> rest;
    for (int i = 0; i < 2; ++i)
        rest.push_back(q.pop()
                           .then([&](int v) { got.push_back("unexpected " + std::to_string(v)); })
                           .catch_([&](const vow::queue_closed&) { got.push_back("closed"); }));
    (void)q.push(1);  // handed to the first pop; its continuation closes the queue
    vow::run_until_complete(r, std::move(first));
    for (auto& f : rest)
        vow::run_until_complete(r, std::move(f));
    BOOST_TEST(got == (std::vector<std::string>{"value 1", "closed", "closed"}), per_element());
    BOOST_CHECK_THROW(vow::run_until_complete(r, q.push(2)), vow::queue_closed);
}

BOOST_AUTO_TEST_CASE(close_from_a_pop_continuation_on_a_queue_with_values_left_still_delivers_them) {
    vow::queue<int> q(r, 3);
    for (int i = 0; i < 3; ++i)
        (void)q.push(i);
    std::vector<int> got;
    vow::run_until_complete(r, q.pop().then([&](int v) {
        got.push_back(v);
        q.close();
    }));
    got.push_back(vow::run_until_complete(r, q.pop()));
    got.push_back(vow::run_until_complete(r, q.pop()));
    BOOST_TEST(got == (std::vector<int>{0, 1, 2}), per_element());
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, q.pop()), vow::queue_closed);
}

BOOST_AUTO_TEST_CASE(a_consumer_loop_ends_on_queue_closed_after_every_value_a_push_reported_queued) {
    vow::queue<int> q(r, 2);
    constexpr int n = 100;
    std::vector<int> consumed;
    bool ended = false;
    std::function<vow::future<void>(int)> produce = [&](int i) -> vow::future<void> {
        if (i == n) {
            q.close();
            return vow::make_ready_future(r);
        }
        return q.push(i).then([&, i] { return produce(i + 1); });
    };
    std::function<vow::future<void>()> consume = [&]() -> vow::future<void> {
        return q.pop()
            .then([&](int v) -> vow::future<void> {
                consumed.push_back(v);
                return consume();
            })
            .catch_([&](const vow::queue_closed&) { ended = true; });
    };
    vow::run_until_complete(r, vow::all(consume(), produce(0)));
    BOOST_TEST(ended);
    BOOST_TEST(consumed.size() == std::size_t(n));
    bool in_order = consumed.size() == std::size_t(n);
    for (int i = 0; in_order && i < n; ++i)
        in_order = consumed[std::size_t(i)] == i;
    BOOST_TEST(in_order);
}

BOOST_AUTO_TEST_CASE(destroying_a_closed_queue_rejects_nothing_more) {
    auto q = std::make_unique<vow::queue<int>>(r, 1);
    auto pop = q->pop();
    q->close();
    q.reset();  // the pop was already rejected by close: no broken_promise now
    BOOST_CHECK_THROW((void)vow::run_until_complete(r, std::move(pop)), vow::queue_closed);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // queue_test
