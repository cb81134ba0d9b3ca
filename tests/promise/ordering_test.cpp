// Always asynchronous (Promises/A+ 2.2.4): a continuation never runs inside
// then() or resolve(); it runs on the reactor thread, on a later turn, in
// the order its source settled, also when that happened on another thread.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/shared_future.hpp>

#include <cstddef>
#include <string>
#include <thread>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(ordering_test)

using boost::test_tools::per_element;
using strings = std::vector<std::string>;

BOOST_FIXTURE_TEST_SUITE(ordering, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(a_continuation_never_runs_inside_then) {
    // Each source is settled before its handler is attached, the case where
    // running the handler at once would be tempting.
    bool ran = false;
    auto f = vow::make_ready_future(r, 1).then([&](int n) { return ran = true, n; });
    BOOST_TEST(!ran);
    wait(std::move(f));
    BOOST_TEST(ran);

    ran = false;
    auto g = vow::make_exception_future<int>(r, vow::test::tagged_error(0)).catch_([&](std::exception_ptr) {
        return ran = true, 0;
    });
    BOOST_TEST(!ran);
    wait(std::move(g));
    BOOST_TEST(ran);

    ran = false;
    auto h = vow::make_ready_future(r).finally([&] { ran = true; });
    BOOST_TEST(!ran);
    wait(std::move(h));
    BOOST_TEST(ran);

    ran = false;
    auto s = vow::make_ready_future(r, 1).share();
    run();
    BOOST_TEST(s.available());
    auto k = s.then([&](int n) { return ran = true, n; });
    BOOST_TEST(!ran);
    wait(std::move(k));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_continuation_never_runs_inside_resolve) {
    vow::promise<int> p(r);
    vow::promise<void> q(r);
    bool ran = false;
    auto f = p.get_future().then([&](int n) { return ran = true, n; });
    auto g = q.get_future().catch_([&](std::exception_ptr) { ran = true; });
    p.resolve(1);
    BOOST_TEST(!ran);
    q.reject(vow::test::tagged_error(0));
    BOOST_TEST(!ran);
    wait(std::move(f));
    wait(std::move(g));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_continuation_settled_inside_a_handler_runs_after_that_handler_returns) {
    vow::promise<void> inner(r);
    strings order;
    auto g = inner.get_future().then([&] { order.push_back("inner continuation"); });
    auto f = vow::make_ready_future(r).then([&] {
        inner.resolve();
        order.push_back("handler after resolve");
        auto nested = vow::make_ready_future(r).then([&] { order.push_back("nested continuation"); });
        order.push_back("handler after then");
        return nested;
    });
    wait(std::move(f));
    wait(std::move(g));
    BOOST_TEST(order == (strings{"handler after resolve", "handler after then", "inner continuation",
                                 "nested continuation"}),
               per_element());
}

BOOST_AUTO_TEST_CASE(continuations_run_in_the_order_their_sources_settled) {
    constexpr int n = 6;
    std::vector<vow::promise<void>> promises;
    std::vector<vow::future<void>> done;
    std::vector<int> order;
    promises.reserve(n);
    for (int i = 0; i < n; ++i) {
        promises.emplace_back(r);
        done.push_back(promises.back().get_future().then([&order, i] { order.push_back(i); }));
    }
    for (int i : {3, 0, 5, 1, 4, 2})
        promises[std::size_t(i)].resolve();
    for (auto& f : done)
        wait(std::move(f));
    BOOST_TEST(order == (std::vector<int>{3, 0, 5, 1, 4, 2}), per_element());
}

BOOST_AUTO_TEST_CASE(a_continuation_runs_after_callbacks_queued_before_its_source_settled) {
    vow::promise<void> p(r);
    strings order;
    auto f = p.get_future().then([&] { order.push_back("continuation"); });
    r.call_soon([&] { order.push_back("queued before"); });
    p.resolve();
    r.call_soon([&] { order.push_back("queued after"); });
    wait(std::move(f));
    run();
    BOOST_TEST(order == (strings{"queued before", "continuation", "queued after"}), per_element());
}

BOOST_AUTO_TEST_CASE(continuations_of_promises_resolved_on_a_worker_run_in_resolution_order) {
    vow::promise<void> a(r), b(r);
    strings order;
    std::thread::id a_ran_on, b_ran_on;
    auto fa = a.get_future().then([&] {
        order.push_back("A");
        a_ran_on = std::this_thread::get_id();
    });
    auto fb = b.get_future().then([&] {
        order.push_back("B");
        b_ran_on = std::this_thread::get_id();
    });
    std::thread worker([&] {
        a.resolve();
        b.resolve();
    });
    wait(std::move(fb));
    wait(std::move(fa));
    worker.join();
    BOOST_TEST(order == (strings{"A", "B"}), per_element());
    BOOST_TEST((a_ran_on == reactor_thread));
    BOOST_TEST((b_ran_on == reactor_thread));
}

BOOST_AUTO_TEST_CASE(many_promises_resolved_on_a_worker_keep_their_order) {
    // Reverse index order, so that order of creation cannot pass for
    // order of settling.
    constexpr int n = 5000;
    std::vector<vow::promise<int>> promises;
    std::vector<vow::future<void>> done;
    std::vector<int> order;
    promises.reserve(n);
    for (int i = 0; i < n; ++i) {
        promises.emplace_back(r);
        done.push_back(promises.back().get_future().then([&order](int v) { order.push_back(v); }));
    }
    std::thread worker([&] {
        for (int i = n - 1; i >= 0; --i)
            promises[std::size_t(i)].resolve(i);
    });
    wait_all(done);
    worker.join();
    BOOST_TEST_REQUIRE(order.size() == std::size_t(n));
    for (int k = 0; k < n; ++k)
        BOOST_TEST_REQUIRE(order[std::size_t(k)] == n - 1 - k);
}

BOOST_AUTO_TEST_CASE(two_chains_advance_one_step_per_turn_each) {
    // FIFO fairness: neither chain runs ahead of the other.
    strings order;
    auto step = [&](std::string name) {
        return [&order, name](int n) {
            order.push_back(name + std::to_string(n));
            return n + 1;
        };
    };
    auto a = vow::make_ready_future(r, 1).then(step("a")).then(step("a")).then(step("a"));
    auto b = vow::make_ready_future(r, 1).then(step("b")).then(step("b")).then(step("b"));
    wait(std::move(a));
    wait(std::move(b));
    BOOST_TEST(order == (strings{"a1", "b1", "a2", "b2", "a3", "b3"}), per_element());
}

BOOST_AUTO_TEST_CASE(errors_and_values_keep_the_same_order) {
    vow::promise<int> a(r), b(r), c(r);
    strings order;
    auto fa = a.get_future().then([&](int) { order.push_back("a"); });
    auto fb = b.get_future().catch_([&](std::exception_ptr) { order.push_back("b"); return 0; });
    auto fc = c.get_future().finally([&] { order.push_back("c"); });
    c.resolve(0);
    b.reject(vow::test::tagged_error(0));
    a.resolve(0);
    wait(std::move(fa));
    wait(std::move(fb));
    wait(std::move(fc));
    BOOST_TEST(order == (strings{"c", "b", "a"}), per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // ordering_test
