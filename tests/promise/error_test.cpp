// vow/error.hpp's helpers: error_message and error_as look into the
// std::exception_ptr that catch_ handlers, result<T> and all_settled hand
// you, without a try/catch at every call site.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/error.hpp>
#include <vow/promise/make_future.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <utility>

BOOST_AUTO_TEST_SUITE(error_test)

using vow::test::derived_error;
using vow::test::tagged_error;

BOOST_AUTO_TEST_CASE(error_message_of_a_std_exception_is_its_what) {
    BOOST_TEST(vow::error_message(std::make_exception_ptr(std::runtime_error("disk full"))) == "disk full");
    BOOST_TEST(vow::error_message(std::make_exception_ptr(vow::timeout_error("too slow"))) == "too slow");
    BOOST_TEST(vow::error_message(std::make_exception_ptr(tagged_error(4))) == "tagged error 4");
}

BOOST_AUTO_TEST_CASE(error_message_of_a_non_std_exception_says_so) {
    BOOST_TEST(vow::error_message(std::make_exception_ptr(42)) == "a non-std exception");
    BOOST_TEST(vow::error_message(std::make_exception_ptr(std::string("not an exception"))) == "a non-std exception");
}

BOOST_AUTO_TEST_CASE(error_message_of_a_null_exception_ptr_is_no_error) {
    BOOST_TEST(vow::error_message(nullptr) == "no error");
    BOOST_TEST(vow::error_message(std::exception_ptr()) == "no error");
}

BOOST_AUTO_TEST_CASE(error_as_finds_the_exception_as_its_own_type_and_as_every_base) {
    auto e = std::make_exception_ptr(vow::timeout_error("late"));
    const vow::timeout_error* t = vow::error_as<vow::timeout_error>(e);
    BOOST_REQUIRE(t != nullptr);
    BOOST_TEST(std::string(t->what()) == "late");
    BOOST_TEST(vow::error_as<std::runtime_error>(e) != nullptr);
    BOOST_TEST(vow::error_as<std::exception>(e) != nullptr);
}

BOOST_AUTO_TEST_CASE(error_as_gives_the_very_object_the_exception_ptr_holds) {
    auto e = std::make_exception_ptr(derived_error(9));
    const tagged_error* t = vow::error_as<tagged_error>(e);  // a base of the thrown type
    BOOST_REQUIRE(t != nullptr);
    BOOST_TEST(t->tag == 9);
    BOOST_TEST(dynamic_cast<const derived_error*>(t) != nullptr);  // not a sliced copy
}

BOOST_AUTO_TEST_CASE(error_as_is_null_for_another_type_a_derived_type_or_a_non_std_exception) {
    auto e = std::make_exception_ptr(tagged_error(1));
    BOOST_TEST(vow::error_as<vow::cancelled_error>(e) == nullptr);
    BOOST_TEST(vow::error_as<derived_error>(e) == nullptr);  // tagged_error is not a derived_error
    BOOST_TEST(vow::error_as<std::logic_error>(e) == nullptr);
    BOOST_TEST(vow::error_as<std::exception>(std::make_exception_ptr(42)) == nullptr);
}

BOOST_AUTO_TEST_CASE(error_as_of_a_null_exception_ptr_is_null) {
    static_assert(noexcept(vow::error_as<std::exception>(std::exception_ptr())));
    BOOST_TEST(vow::error_as<std::exception>(std::exception_ptr()) == nullptr);
    BOOST_TEST(vow::error_as<tagged_error>(nullptr) == nullptr);
}

BOOST_FIXTURE_TEST_CASE(both_read_the_error_a_future_rejected_with, vow::test::promise_fixture) {
    auto e = wait_error(vow::make_exception_future<int>(r, vow::queue_closed("closed")));
    BOOST_TEST(vow::error_as<vow::queue_closed>(e) != nullptr);
    BOOST_TEST(vow::error_message(e) == "closed");
}

BOOST_AUTO_TEST_SUITE_END()  // error_test
