// No stack growth: long chains and deep recursions of futures complete (and
// are freed) through the reactor's queue, not through nested calls.
//
// The chain is ten million steps long in a plain build. Under a sanitizer
// it is one million: ASan and TSan make every step many times slower and
// fatter, and a million frames would overflow the stack just as surely.
#include <boost/test/unit_test.hpp>
#include <build_kind.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <utility>

BOOST_AUTO_TEST_SUITE(depth_test)

namespace {

// Under valgrind every step is fifty times slower again; a hundred thousand
// still proves the point, since a recursive implementation would need that
// many frames.
using vow::test::under_valgrind;
const long chain_length = under_valgrind() ? 100'000 : vow::test::sanitized_build ? 1'000'000 : 10'000'000;
const long recursion_depth = under_valgrind() ? 100'000 : 1'000'000;

// Sums n + (n-1) + ... + 1 by recursion: each step's handler returns the
// future of the next step, so the outermost future adopts a million nested
// ones.
vow::future<long> sum_down(vow::reactor& r, long n, long acc) {
    return vow::make_ready_future(r, n).then([&r, acc](long k) {
        return k == 0 ? vow::make_ready_future(r, acc) : sum_down(r, k - 1, acc + k);
    });
}

// The same, but each step waits for a promise settled on a later turn.
vow::future<long> sum_down_pending(vow::reactor& r, long n, long acc) {
    vow::promise<long> p(r);
    auto f = p.get_future();
    r.call_soon([p = std::move(p), n]() mutable { p.resolve(n); });
    return std::move(f).then([&r, acc](long k) {
        return k == 0 ? vow::make_ready_future(r, acc) : sum_down_pending(r, k - 1, acc + k);
    });
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(depth, vow::test::promise_fixture)

BOOST_AUTO_TEST_CASE(a_long_chain_of_thens_on_a_pending_promise_completes_without_stack_growth) {
    BOOST_TEST_MESSAGE("chain length " << chain_length);
    vow::promise<long> p(r);
    vow::future<long> f = p.get_future();
    for (long i = 0; i < chain_length; ++i)
        f = std::move(f).then([](long n) { return n + 1; });
    p.resolve(0);
    BOOST_TEST(wait(std::move(f), std::chrono::minutes(5)) == chain_length);
}

BOOST_AUTO_TEST_CASE(an_error_passes_down_a_long_chain_without_stack_growth) {
    vow::promise<long> p(r);
    vow::future<long> f = p.get_future();
    for (long i = 0; i < recursion_depth; ++i)
        f = std::move(f).then([](long n) { return n + 1; });
    auto error = std::make_exception_ptr(vow::test::tagged_error(1));
    p.reject(error);
    BOOST_TEST((wait_error(std::move(f), std::chrono::minutes(5)) == error));
}

BOOST_AUTO_TEST_CASE(a_million_futures_each_returning_the_next_complete_without_stack_growth) {
    auto f = sum_down(r, recursion_depth, 0);
    BOOST_TEST(wait(std::move(f), std::chrono::minutes(5)) == recursion_depth * (recursion_depth + 1) / 2);
}

BOOST_AUTO_TEST_CASE(a_million_pending_futures_each_returning_the_next_complete_without_stack_growth) {
    auto f = sum_down_pending(r, recursion_depth, 0);
    BOOST_TEST(wait(std::move(f), std::chrono::minutes(5)) == recursion_depth * (recursion_depth + 1) / 2);
}

BOOST_AUTO_TEST_CASE(destroying_a_reactor_with_a_long_pending_chain_frees_it_without_recursion) {
    auto calls = std::make_shared<long>(0);
    auto other = std::make_unique<vow::reactor>();
    {
        vow::promise<long> p(*other);
        vow::future<long> f = p.get_future();
        for (long i = 0; i < recursion_depth; ++i)
            f = std::move(f).then([calls](long n) { return ++*calls, n + 1; });
        // Rule 5 of docs/design.md: only the reactor's pending callables may
        // hold its promises and futures when it is destroyed.
        (void)other->call_later(std::chrono::hours(1), [p = std::move(p), f = std::move(f)] {});
    }
    other.reset();
    BOOST_TEST(*calls == 0);
    BOOST_TEST(calls.use_count() == 1);  // every handler was destroyed
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // depth_test
