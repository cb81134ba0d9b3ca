// future::discard: ends a chain on purpose. The operation goes on, its value
// is ignored, and an error it ends with is still reported as unhandled,
// with the place the discarded future was created.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

BOOST_AUTO_TEST_SUITE(discard_test)

using vow::test::tagged_error;

BOOST_FIXTURE_TEST_SUITE(discard, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(discard_is_noexcept_and_leaves_the_future_empty) {
    auto f = vow::make_ready_future(r, 1);
    static_assert(noexcept(std::move(f).discard()));
    std::move(f).discard();
    BOOST_TEST(!f.valid());
    BOOST_CHECK_THROW((void)std::move(f).then([](int) {}), vow::future_consumed);
}

BOOST_AUTO_TEST_CASE(discarding_an_empty_future_does_nothing) {
    vow::future<int> f;
    std::move(f).discard();
    std::move(f).discard();
    BOOST_TEST(!f.valid());
}

BOOST_AUTO_TEST_CASE(the_operation_of_a_discarded_chain_goes_on) {
    vow::promise<int> p(r);
    int seen = 0;
    p.get_future().then([&](int v) { seen = v; }).discard();
    run();
    BOOST_TEST(seen == 0);
    p.resolve(7);
    run();
    BOOST_TEST(seen == 7);
}

BOOST_AUTO_TEST_CASE(a_discarded_value_is_not_reported) {
    vow::make_ready_future(r, std::string("ignored")).discard();
    vow::promise<void> p(r);
    p.get_future().discard();
    p.resolve();
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(an_error_after_discard_is_reported_once_with_where_the_future_was_created) {
    auto error = std::make_exception_ptr(tagged_error(1));
    vow::promise<int> p(r);
    const std::uint_least32_t line = __LINE__; p.get_future().then([](int v) { return v + 1; }).discard();
    BOOST_TEST(unhandled.empty());
    p.reject(error);
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    BOOST_TEST(unhandled[0].line == line);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(an_error_already_in_is_reported_at_discard) {
    auto error = std::make_exception_ptr(tagged_error(2));
    auto f = vow::make_exception_future<int>(r, error);
    std::move(f).discard();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(an_error_handled_before_discard_is_not_reported) {
    int handled = 0;
    vow::make_exception_future<int>(r, tagged_error(3)).catch_([&](const tagged_error&) { ++handled; return 0; }).discard();
    run();
    BOOST_TEST(handled == 1);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // discard_test
