// vow::queue: a bounded FIFO whose push waits while full and whose pop
// waits while empty (CPython's test_queues).
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(queue_test)

using namespace std::chrono_literals;
using boost::test_tools::per_element;

namespace {

std::string message_of(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        return ex.what();
    } catch (...) {
        return "a non-std exception";
    }
}

struct fixture : vow::test::reactor_fixture {
    std::vector<std::string> unhandled;
    vow::unhandled_rejection_handler previous = vow::set_unhandled_rejection_handler(
        [this](std::exception_ptr e, const std::source_location&) { unhandled.push_back(message_of(e)); });
    fixture() = default;
    fixture(const fixture&) = delete;
    fixture& operator=(const fixture&) = delete;
    ~fixture() { vow::set_unhandled_rejection_handler(std::move(previous)); }
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

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // queue_test
