// promise: hands out its future once, settles it once (resolve, reject, or
// broken_promise when destroyed unsettled). Settling from other threads is
// in threading_test.cpp.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/promise.hpp>

#include <exception>
#include <memory>
#include <source_location>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

BOOST_AUTO_TEST_SUITE(promise_test)

using vow::test::message_of;
using vow::test::tagged_error;

static_assert(!std::is_copy_constructible_v<vow::promise<int>>, "a promise is move-only");
static_assert(std::is_nothrow_move_constructible_v<vow::promise<int>>);

BOOST_FIXTURE_TEST_SUITE(promise, vow::test::promise_fixture)

// --- get_future ---

BOOST_AUTO_TEST_CASE(get_future_a_second_time_throws_future_already_retrieved) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    BOOST_CHECK_THROW((void)p.get_future(), vow::future_already_retrieved);
    p.resolve(1);
    BOOST_TEST(wait(std::move(f)) == 1);
}

BOOST_AUTO_TEST_CASE(the_future_belongs_to_the_promises_reactor) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    BOOST_TEST(&f.get_reactor() == &r);
    p.resolve(0);
    BOOST_TEST(wait(std::move(f)) == 0);
}

BOOST_AUTO_TEST_CASE(a_future_retrieved_after_settling_holds_the_result) {
    vow::promise<int> p(r);
    p.resolve(5);
    auto f = p.get_future();
    BOOST_TEST(f.available());
    BOOST_TEST(wait(std::move(f)) == 5);
}

// --- resolve and reject ---

BOOST_AUTO_TEST_CASE(resolve_fulfils_the_future_with_the_value) {
    vow::promise<std::string> p(r);
    auto f = p.get_future();
    p.resolve("hello");
    BOOST_TEST(wait(std::move(f)) == "hello");
}

BOOST_AUTO_TEST_CASE(resolve_builds_the_value_from_its_arguments) {
    vow::promise<std::string> p(r);
    auto f = p.get_future();
    p.resolve(3, 'x');
    BOOST_TEST(wait(std::move(f)) == "xxx");
}

BOOST_AUTO_TEST_CASE(resolve_without_arguments_fulfils_a_void_future) {
    vow::promise<void> p(r);
    auto f = p.get_future();
    p.resolve();
    BOOST_TEST(f.available());
    BOOST_TEST(!f.failed());
    wait(std::move(f));
}

BOOST_AUTO_TEST_CASE(resolve_takes_a_move_only_value) {
    vow::promise<std::unique_ptr<int>> p(r);
    auto f = p.get_future();
    p.resolve(std::make_unique<int>(3));
    auto v = wait(std::move(f));
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(*v == 3);
}

BOOST_AUTO_TEST_CASE(reject_with_an_exception_ptr_rejects_with_that_same_exception) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    auto error = std::make_exception_ptr(tagged_error(1));
    p.reject(error);
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(reject_with_an_exception_object_rejects_with_its_type_and_fields) {
    vow::promise<void> p(r);
    auto f = p.get_future();
    p.reject(tagged_error(21));
    auto got = wait_error(std::move(f));
    try {
        std::rethrow_exception(got);
    } catch (const tagged_error& e) {
        BOOST_TEST(e.tag == 21);
    } catch (...) {
        BOOST_FAIL("the error lost its type");
    }
}

BOOST_AUTO_TEST_CASE(reject_with_a_null_exception_ptr_throws_invalid_argument_and_stays_pending) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    BOOST_CHECK_THROW(p.reject(std::exception_ptr()), vow::invalid_argument);
    BOOST_CHECK_THROW((void)p.try_reject(std::exception_ptr()), vow::invalid_argument);
    BOOST_TEST(!f.available());
    p.resolve(2);
    BOOST_TEST(wait(std::move(f)) == 2);
}

// --- settling twice ---

BOOST_AUTO_TEST_CASE(settling_twice_throws_promise_already_satisfied) {
    {
        vow::promise<int> p(r);
        auto f = p.get_future();
        p.resolve(1);
        BOOST_CHECK_THROW(p.resolve(2), vow::promise_already_satisfied);
        BOOST_CHECK_THROW(p.reject(tagged_error(0)), vow::promise_already_satisfied);
        BOOST_TEST(wait(std::move(f)) == 1);
    }
    {
        vow::promise<int> p(r);
        auto f = p.get_future();
        auto error = std::make_exception_ptr(tagged_error(1));
        p.reject(error);
        BOOST_CHECK_THROW(p.resolve(2), vow::promise_already_satisfied);
        BOOST_CHECK_THROW(p.reject(std::make_exception_ptr(tagged_error(2))), vow::promise_already_satisfied);
        BOOST_TEST((wait_error(std::move(f)) == error));
    }
    {
        vow::promise<void> p(r);
        auto f = p.get_future();
        p.resolve();
        BOOST_CHECK_THROW(p.resolve(), vow::promise_already_satisfied);
        wait(std::move(f));
    }
}

BOOST_AUTO_TEST_CASE(try_resolve_and_try_reject_return_false_once_settled) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    BOOST_TEST(p.try_resolve(1));
    BOOST_TEST(!p.try_resolve(2));
    BOOST_TEST(!p.try_reject(tagged_error(0)));
    BOOST_TEST(!p.try_reject(std::make_exception_ptr(tagged_error(0))));
    BOOST_TEST(wait(std::move(f)) == 1);

    vow::promise<int> q(r);
    auto g = q.get_future();
    BOOST_TEST(q.try_reject(tagged_error(5)));
    BOOST_TEST(!q.try_resolve(2));
    BOOST_TEST(!q.try_reject(tagged_error(6)));
    BOOST_CHECK_THROW(wait(std::move(g)), tagged_error);
}

BOOST_AUTO_TEST_CASE(a_value_that_fails_to_construct_leaves_the_promise_pending) {
    struct picky {
        explicit picky(int v) : n(v) {
            if (v < 0)
                throw std::invalid_argument("negative");
        }
        int n;
    };
    vow::promise<picky> p(r);
    auto f = p.get_future();
    BOOST_CHECK_THROW(p.resolve(-1), std::invalid_argument);
    BOOST_TEST(!f.available());
    BOOST_TEST(p.try_resolve(4));
    BOOST_TEST(wait(std::move(f)).n == 4);
}

// --- broken promises ---

BOOST_AUTO_TEST_CASE(a_promise_destroyed_unsettled_rejects_with_broken_promise_naming_where_it_was_created) {
    // Not optional::emplace or make_unique: the promise records the location of
    // the expression that constructs it, which would be inside the library.
    const auto created = std::source_location::current(); std::unique_ptr<vow::promise<int>> p(new vow::promise<int>(r));
    auto f = p->get_future();
    p.reset();
    auto got = wait_error(std::move(f));
    try {
        std::rethrow_exception(got);
    } catch (const vow::broken_promise& e) {
        std::string what = e.what();
        BOOST_TEST_INFO("what(): " << what);
        BOOST_TEST(what.find(std::string(created.file_name()) + ":" + std::to_string(created.line())) !=
                   std::string::npos);
    } catch (...) {
        BOOST_FAIL("expected vow::broken_promise, got: " << message_of(got));
    }
}

BOOST_AUTO_TEST_CASE(a_promise_destroyed_after_settling_leaves_the_result_alone) {
    vow::future<int> f;
    {
        vow::promise<int> p(r);
        f = p.get_future();
        p.resolve(6);
    }
    BOOST_TEST(wait(std::move(f)) == 6);
}

BOOST_AUTO_TEST_CASE(a_promise_may_be_resolved_after_its_future_is_gone) {
    vow::promise<int> p(r);
    { auto f = p.get_future(); }
    p.resolve(1);  // nobody listens: fine
    run();
}

// --- moving promises ---

BOOST_AUTO_TEST_CASE(a_moved_promise_settles_the_same_future) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    vow::promise<int> q = std::move(p);
    BOOST_TEST(!p.valid());  // NOLINT(bugprone-use-after-move)
    BOOST_TEST(q.valid());
    BOOST_CHECK_THROW((void)q.get_future(), vow::future_already_retrieved);  // the flag moved along
    q.resolve(10);
    BOOST_TEST(wait(std::move(f)) == 10);
}

BOOST_AUTO_TEST_CASE(a_moved_from_promise_throws_usage_error) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    vow::promise<int> q(std::move(p));
    BOOST_CHECK_THROW(p.resolve(1), vow::usage_error);       // NOLINT(bugprone-use-after-move)
    BOOST_CHECK_THROW(p.reject(tagged_error(0)), vow::usage_error);
    BOOST_CHECK_THROW((void)p.get_future(), vow::usage_error);
    q.resolve(3);
    BOOST_TEST(wait(std::move(f)) == 3);
}

BOOST_AUTO_TEST_CASE(move_assigning_over_a_pending_promise_breaks_that_promise) {
    vow::promise<int> p(r);
    auto f = p.get_future();
    vow::promise<int> q(r);
    auto g = q.get_future();
    p = std::move(q);  // p's old state has lost its producer
    p.resolve(4);
    BOOST_CHECK_THROW(wait(std::move(f)), vow::broken_promise);
    BOOST_TEST(wait(std::move(g)) == 4);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // promise_test
