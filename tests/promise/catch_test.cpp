// future::catch_: recovers from an error, of any type (std::exception_ptr)
// or of one type and those derived from it; lets a value and other errors
// pass by untouched. The core cases run in the three settle modes.
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

BOOST_AUTO_TEST_SUITE(catch_test)

using namespace std::chrono_literals;
using vow::test::derived_error;
using vow::test::settle_mode;
using vow::test::tagged_error;
namespace data = boost::unit_test::data;

BOOST_FIXTURE_TEST_SUITE(catch_, vow::test::promise_fixture)

// --- Promises/A+ core cases, in the three settle modes ---

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, catch_with_exception_ptr_handles_any_error,
                       data::make(vow::test::all_settle_modes), mode) {
    auto error = std::make_exception_ptr(tagged_error(4));
    std::exception_ptr seen;
    std::thread::id ran_on;
    auto f = rejected<int>(mode, error).catch_([&](std::exception_ptr e) {
        seen = e;
        ran_on = std::this_thread::get_id();
        return -1;
    });
    static_assert(std::is_same_v<decltype(f), vow::future<int>>);
    BOOST_TEST(!seen);  // not inside catch_()
    BOOST_TEST(wait(std::move(f)) == -1);
    BOOST_TEST((seen == error));
    BOOST_TEST((ran_on == reactor_thread));
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_value_passes_through_and_the_handler_is_not_called,
                       data::make(vow::test::all_settle_modes), mode) {
    bool called = false;
    auto f = fulfilled<std::string>(mode, "kept").catch_([&](std::exception_ptr) {
        called = true;
        return std::string("replaced");
    });
    BOOST_TEST(wait(std::move(f)) == "kept");
    BOOST_TEST(!called);
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_typed_handler_catches_its_type,
                       data::make(vow::test::all_settle_modes), mode) {
    auto f = rejected<int>(mode, std::make_exception_ptr(tagged_error(12))).catch_([](const tagged_error& e) {
        return e.tag;
    });
    BOOST_TEST(wait(std::move(f)) == 12);
}

BOOST_DATA_TEST_CASE_F(vow::test::promise_fixture, a_typed_handler_lets_other_errors_pass_through_unchanged,
                       data::make(vow::test::all_settle_modes), mode) {
    auto error = std::make_exception_ptr(std::logic_error("not a tagged_error"));
    bool called = false;
    auto f = rejected<int>(mode, error).catch_([&](const tagged_error&) {
        called = true;
        return 0;
    });
    BOOST_TEST((wait_error(std::move(f)) == error));
    BOOST_TEST(!called);
}

// --- which errors a typed handler takes ---

BOOST_AUTO_TEST_CASE(a_typed_handler_catches_derived_types) {
    auto f = vow::make_exception_future<int>(r, derived_error(5)).catch_([](const tagged_error& e) {
        return dynamic_cast<const derived_error*>(&e) ? e.tag : -1;
    });
    BOOST_TEST(wait(std::move(f)) == 5);
}

BOOST_AUTO_TEST_CASE(a_handler_for_std_exception_catches_every_standard_error) {
    auto f = vow::make_exception_future<std::string>(r, std::out_of_range("far"))
                 .catch_([](const std::exception& e) { return std::string(e.what()); });
    BOOST_TEST(wait(std::move(f)) == "far");
}

BOOST_AUTO_TEST_CASE(a_handler_taking_the_error_by_value_catches_its_type) {
    auto f = vow::make_exception_future<int>(r, tagged_error(9)).catch_([](tagged_error e) { return e.tag; });
    BOOST_TEST(wait(std::move(f)) == 9);
}

BOOST_AUTO_TEST_CASE(exception_ptr_handlers_see_non_standard_exceptions) {
    auto f = vow::make_exception_future<int>(r, std::make_exception_ptr(17)).catch_([](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (int n) {
            return n;
        }
    });
    BOOST_TEST(wait(std::move(f)) == 17);
}

BOOST_AUTO_TEST_CASE(handlers_for_non_standard_types_catch_them) {
    auto f = vow::make_exception_future<int>(r, std::make_exception_ptr(23)).catch_([](const int& n) { return n; });
    BOOST_TEST(wait(std::move(f)) == 23);
}

BOOST_AUTO_TEST_CASE(the_first_matching_handler_of_a_chain_recovers) {
    std::string trail;
    auto f = vow::make_exception_future<int>(r, derived_error(2))
                 .catch_([&](const std::logic_error&) { return trail += "logic ", 0; })
                 .catch_([&](const tagged_error& e) { return trail += "tagged ", e.tag; })
                 .catch_([&](std::exception_ptr) { return trail += "any ", -1; });
    BOOST_TEST(wait(std::move(f)) == 2);
    BOOST_TEST(trail == "tagged ");
}

// --- what the handler returns ---

BOOST_AUTO_TEST_CASE(a_handler_may_return_a_future_which_is_adopted) {
    vow::promise<int> inner(r);
    auto inner_future = inner.get_future();
    auto f = vow::make_exception_future<int>(r, tagged_error(0)).catch_([&](std::exception_ptr) {
        return std::move(inner_future);
    });
    static_assert(std::is_same_v<decltype(f), vow::future<int>>);
    (void)r.call_later(2ms, [&] { inner.resolve(77); });
    BOOST_TEST(wait(std::move(f)) == 77);
}

BOOST_AUTO_TEST_CASE(a_handler_returning_a_rejected_future_rejects_with_its_error) {
    auto second = std::make_exception_ptr(tagged_error(2));
    auto f = vow::make_exception_future<int>(r, tagged_error(1)).catch_([&](const tagged_error&) {
        return vow::make_exception_future<int>(r, second);
    });
    BOOST_TEST((wait_error(std::move(f)) == second));
}

BOOST_AUTO_TEST_CASE(a_throwing_handler_replaces_the_error_with_its_own) {
    auto second = std::make_exception_ptr(tagged_error(2));
    auto f = vow::make_exception_future<int>(r, std::runtime_error("first")).catch_([&](std::exception_ptr) -> int {
        std::rethrow_exception(second);
    });
    BOOST_TEST((wait_error(std::move(f)) == second));
}

BOOST_AUTO_TEST_CASE(a_typed_handler_may_rethrow_the_error_it_caught) {
    auto error = std::make_exception_ptr(tagged_error(6));
    auto f = vow::make_exception_future<int>(r, error).catch_([](const tagged_error&) -> int { throw; });
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(a_handler_may_return_a_value_convertible_to_t) {
    auto f = vow::make_exception_future<long>(r, tagged_error(0)).catch_([](std::exception_ptr) { return 3; });
    static_assert(std::is_same_v<decltype(f), vow::future<long>>);
    BOOST_TEST(wait(std::move(f)) == 3L);
}

BOOST_AUTO_TEST_CASE(a_void_future_recovers_with_a_void_handler) {
    bool recovered = false;
    auto f = vow::make_exception_future<void>(r, tagged_error(0)).catch_([&](const tagged_error&) {
        recovered = true;
    });
    static_assert(std::is_same_v<decltype(f), vow::future<void>>);
    wait(std::move(f));
    BOOST_TEST(recovered);
}

BOOST_AUTO_TEST_CASE(a_move_only_value_passes_through_a_catch) {
    auto f = vow::make_ready_future(r, std::make_unique<int>(4)).catch_([](std::exception_ptr) {
        return std::unique_ptr<int>();
    });
    auto v = wait(std::move(f));
    BOOST_TEST_REQUIRE(v != nullptr);
    BOOST_TEST(*v == 4);
}

BOOST_AUTO_TEST_CASE(a_chain_continues_after_a_recovery) {
    auto f = vow::make_ready_future(r, 1)
                 .then([](int) -> int { throw tagged_error(40); })
                 .catch_([](const tagged_error& e) { return e.tag; })
                 .then([](int n) { return n + 2; });
    BOOST_TEST(wait(std::move(f)) == 42);
}

// --- consuming the future ---

BOOST_AUTO_TEST_CASE(catch_on_an_rvalue_consumes_the_future) {
    auto f = vow::make_exception_future<int>(r, tagged_error(1));
    auto g = std::move(f).catch_([](std::exception_ptr) { return 1; });
    BOOST_TEST(!f.valid());  // NOLINT(bugprone-use-after-move)
    BOOST_CHECK_THROW((void)std::move(f).catch_([](std::exception_ptr) { return 1; }), vow::future_consumed);
    BOOST_TEST(wait(std::move(g)) == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // catch_test
