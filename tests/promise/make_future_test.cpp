// make_ready_future and make_exception_future: futures settled from the
// start, whose handlers still run on a later turn.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

BOOST_AUTO_TEST_SUITE(make_future_test)

using vow::test::tagged_error;

BOOST_FIXTURE_TEST_SUITE(make_future, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(make_ready_future_with_an_explicit_type_converts_the_value) {
    auto f = vow::make_ready_future<long>(r, 7);
    static_assert(std::is_same_v<decltype(f), vow::future<long>>);
    auto g = vow::make_ready_future<std::string>(r, "text");
    static_assert(std::is_same_v<decltype(g), vow::future<std::string>>);
    BOOST_TEST(f.available());
    BOOST_TEST(!f.failed());
    BOOST_TEST(wait(std::move(f)) == 7L);
    BOOST_TEST(wait(std::move(g)) == "text");
}

BOOST_AUTO_TEST_CASE(make_ready_future_deduces_the_type_from_the_value) {
    auto f = vow::make_ready_future(r, 2.5);
    static_assert(std::is_same_v<decltype(f), vow::future<double>>);
    const std::string s = "copied";
    auto g = vow::make_ready_future(r, s);
    static_assert(std::is_same_v<decltype(g), vow::future<std::string>>, "the value is decayed");
    BOOST_TEST(wait(std::move(f)) == 2.5);
    BOOST_TEST(wait(std::move(g)) == "copied");
}

BOOST_AUTO_TEST_CASE(make_ready_future_without_a_value_is_a_fulfilled_future_void) {
    auto f = vow::make_ready_future(r);
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    auto g = vow::make_ready_future<void>(r);
    static_assert(std::is_same_v<decltype(g), vow::future<void>>);
    BOOST_TEST(f.available());
    BOOST_TEST(!f.failed());
    wait(std::move(f));
    wait(std::move(g));
}

BOOST_AUTO_TEST_CASE(make_ready_future_takes_a_move_only_value) {
    auto f = vow::make_ready_future(r, std::make_unique<int>(5));
    static_assert(std::is_same_v<decltype(f), vow::future<std::unique_ptr<int>>>);
    auto v = wait(std::move(f));
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(*v == 5);
}

BOOST_AUTO_TEST_CASE(make_exception_future_from_an_exception_object) {
    auto f = vow::make_exception_future<int>(r, tagged_error(31));
    static_assert(std::is_same_v<decltype(f), vow::future<int>>);
    BOOST_TEST(f.available());
    BOOST_TEST(f.failed());
    auto got = wait_error(std::move(f));
    try {
        std::rethrow_exception(got);
    } catch (const tagged_error& e) {
        BOOST_TEST(e.tag == 31);
    } catch (...) {
        BOOST_FAIL("the error lost its type");
    }
}

BOOST_AUTO_TEST_CASE(make_exception_future_from_an_exception_ptr_keeps_that_exception) {
    auto error = std::make_exception_ptr(tagged_error(1));
    auto f = vow::make_exception_future<std::string>(r, error);
    auto g = vow::make_exception_future<void>(r, error);
    BOOST_TEST((wait_error(std::move(f)) == error));
    BOOST_TEST((wait_error(std::move(g)) == error));
}

BOOST_AUTO_TEST_CASE(make_exception_future_with_a_null_exception_ptr_throws_invalid_argument) {
    BOOST_CHECK_THROW((void)vow::make_exception_future<int>(r, std::exception_ptr()), vow::invalid_argument);
    BOOST_CHECK_THROW((void)vow::make_exception_future<void>(r, std::exception_ptr()), vow::invalid_argument);
    run();  // nothing was created, so nothing is reported
}

BOOST_AUTO_TEST_CASE(handlers_on_a_ready_future_run_on_a_later_turn) {
    bool ran = false;
    auto f = vow::make_ready_future(r, 1).then([&](int n) {
        ran = true;
        return n;
    });
    BOOST_TEST(!ran);
    bool caught = false;
    auto g = vow::make_exception_future<int>(r, tagged_error(0)).catch_([&](std::exception_ptr) {
        caught = true;
        return 0;
    });
    BOOST_TEST(!caught);
    BOOST_TEST(wait(std::move(f)) == 1);
    BOOST_TEST(wait(std::move(g)) == 0);
    BOOST_TEST(ran);
    BOOST_TEST(caught);
}

BOOST_AUTO_TEST_CASE(a_ready_future_belongs_to_the_given_reactor) {
    vow::reactor other;
    auto f = vow::make_ready_future(other, 1);
    BOOST_TEST(&f.get_reactor() == &other);
    BOOST_TEST(vow::run_until_complete(other, std::move(f)) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // make_future_test
