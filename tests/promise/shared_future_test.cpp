// shared_future: one result, many handlers. Copyable; every handler reads
// the value as const T&, in registration order, with its own result future.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/shared_future.hpp>

#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(shared_future_test)

using vow::test::tagged_error;

static_assert(std::is_copy_constructible_v<vow::shared_future<int>>);
static_assert(std::is_copy_assignable_v<vow::shared_future<int>>);

BOOST_FIXTURE_TEST_SUITE(shared_future, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(then_may_be_called_many_times_and_each_handler_gets_the_value) {
    vow::promise<int> p(r);
    vow::shared_future<int> s = p.get_future().share();
    auto a = s.then([](const int& n) { return n + 1; });
    auto b = s.then([](int n) { return std::to_string(n); });
    auto c = s.then([] (const int& n) { return n * 2; });
    p.resolve(10);
    BOOST_TEST(wait(std::move(a)) == 11);
    BOOST_TEST(wait(std::move(b)) == "10");
    BOOST_TEST(wait(std::move(c)) == 20);
}

BOOST_AUTO_TEST_CASE(every_handler_reads_the_same_object_by_const_reference) {
    auto s = vow::make_ready_future(r, std::string("one value")).share();
    const std::string* first = nullptr;
    const std::string* second = nullptr;
    auto a = s.then([&](const std::string& v) { first = &v; });
    auto b = s.then([&](const std::string& v) { second = &v; });
    wait(std::move(a));
    wait(std::move(b));
    BOOST_TEST_REQUIRE(first != nullptr);
    BOOST_TEST((first == second));  // no copy per handler
}

BOOST_AUTO_TEST_CASE(handlers_run_in_registration_order_on_the_reactor_thread) {
    vow::promise<void> p(r);
    auto s = p.get_future().share();
    std::vector<int> order;
    std::vector<vow::future<void>> results;
    bool all_on_reactor_thread = true;
    for (int i = 0; i < 5; ++i)
        results.push_back(s.then([&, i] {
            order.push_back(i);
            all_on_reactor_thread = all_on_reactor_thread && std::this_thread::get_id() == reactor_thread;
        }));
    p.resolve();
    BOOST_TEST(order.empty());  // not inside resolve()
    // Handlers registered after the result is in come after, still in order.
    run();
    for (int i = 5; i < 8; ++i)
        results.push_back(s.then([&, i] { order.push_back(i); }));
    BOOST_TEST(order.size() == 5u);  // not inside then()
    for (auto& f : results)
        wait(std::move(f));
    BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
    BOOST_TEST(all_on_reactor_thread);
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_does_not_affect_its_siblings) {
    auto s = vow::make_ready_future(r, 3).share();
    auto error = std::make_exception_ptr(tagged_error(3));
    auto a = s.then([](int n) { return n; });
    auto b = s.then([&](int) -> int { std::rethrow_exception(error); });
    auto c = s.then([](int n) { return n + 1; });
    BOOST_TEST(wait(std::move(a)) == 3);
    BOOST_TEST((wait_error(std::move(b)) == error));
    BOOST_TEST(wait(std::move(c)) == 4);
}

BOOST_AUTO_TEST_CASE(an_error_reaches_every_handlers_future) {
    vow::promise<int> p(r);
    auto s = p.get_future().share();
    auto error = std::make_exception_ptr(tagged_error(13));
    int calls = 0;
    auto a = s.then([&](int n) { return ++calls, n; });
    auto b = s.then([&](int n) { return ++calls, std::to_string(n); });
    p.reject(error);
    auto c = s.then([&](int) { ++calls; });  // registered after the error is in
    BOOST_TEST((wait_error(std::move(a)) == error));
    BOOST_TEST((wait_error(std::move(b)) == error));
    BOOST_TEST((wait_error(std::move(c)) == error));
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(each_handler_can_recover_from_the_error_on_its_own) {
    auto s = vow::make_exception_future<int>(r, tagged_error(5)).share();
    auto a = s.then([](int n) { return n; }).catch_([](const tagged_error& e) { return e.tag; });
    auto b = s.then([](int n) { return n; }).catch_([](std::exception_ptr) { return -1; });
    BOOST_TEST(wait(std::move(a)) == 5);
    BOOST_TEST(wait(std::move(b)) == -1);
}

BOOST_AUTO_TEST_CASE(copies_refer_to_the_same_result) {
    vow::promise<int> p(r);
    auto s = p.get_future().share();
    vow::shared_future<int> copy = s;
    vow::shared_future<int> assigned;
    assigned = copy;
    BOOST_TEST(!s.available());
    p.resolve(1);
    run();  // the shared state takes the result on a later turn
    BOOST_TEST(s.available());
    BOOST_TEST(copy.available());
    BOOST_TEST(assigned.available());
    auto a = s.then([](int n) { return n; });
    auto b = assigned.then([](int n) { return n + 1; });
    BOOST_TEST(wait(std::move(a)) == 1);
    BOOST_TEST(wait(std::move(b)) == 2);
}

BOOST_AUTO_TEST_CASE(handlers_outlive_the_shared_futures_they_were_registered_on) {
    vow::promise<int> p(r);
    vow::future<int> a;
    {
        auto s = p.get_future().share();
        a = s.then([](int n) { return n * 3; });
    }
    p.resolve(4);
    BOOST_TEST(wait(std::move(a)) == 12);
}

BOOST_AUTO_TEST_CASE(a_handler_may_return_a_future_which_is_adopted) {
    auto s = vow::make_ready_future(r, 2).share();
    auto a = s.then([&](int n) { return vow::make_ready_future(r, n * 100); });
    static_assert(std::is_same_v<decltype(a), vow::future<int>>);
    BOOST_TEST(wait(std::move(a)) == 200);
}

BOOST_AUTO_TEST_CASE(a_shared_void_future_calls_handlers_without_arguments) {
    vow::promise<void> p(r);
    auto s = p.get_future().share();
    int calls = 0;
    auto a = s.then([&] { ++calls; });
    auto b = s.then([&] { return ++calls; });
    p.resolve();
    wait(std::move(a));
    BOOST_TEST(wait(std::move(b)) == 2);
    BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(a_move_only_value_can_be_shared) {
    auto s = vow::make_ready_future(r, std::make_unique<int>(7)).share();
    auto a = s.then([](const std::unique_ptr<int>& v) { return *v; });
    auto b = s.then([](const std::unique_ptr<int>& v) { return *v + 1; });
    BOOST_TEST(wait(std::move(a)) == 7);
    BOOST_TEST(wait(std::move(b)) == 8);
}

BOOST_AUTO_TEST_CASE(share_consumes_the_future) {
    auto f = vow::make_ready_future(r, 1);
    auto s = std::move(f).share();
    BOOST_TEST(!f.valid());  // NOLINT(bugprone-use-after-move): checking exactly that
    BOOST_CHECK_THROW((void)std::move(f).share(), vow::future_consumed);
    auto g = vow::make_ready_future(r, 2);
    auto t = std::move(g).share();
    BOOST_TEST(!g.valid());  // NOLINT(bugprone-use-after-move)
    BOOST_TEST(wait(s.then([](int n) { return n; })) == 1);
    BOOST_TEST(wait(t.then([](int n) { return n; })) == 2);
}

BOOST_AUTO_TEST_CASE(then_on_an_empty_shared_future_throws_future_consumed) {
    vow::shared_future<int> empty;
    BOOST_TEST(!empty.valid());
    BOOST_CHECK_THROW((void)empty.then([](int n) { return n; }), vow::future_consumed);
    auto s = vow::make_ready_future(r, 1).share();
    auto moved = std::move(s);
    BOOST_CHECK_THROW((void)s.then([](int n) { return n; }), vow::future_consumed);  // NOLINT(bugprone-use-after-move)
    BOOST_TEST(wait(moved.then([](int n) { return n; })) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // shared_future_test
