// Teardown: destroying a reactor whose pending callables still hold
// promises, futures and chains frees all of it, runs no continuation, and
// reports no unhandled rejection (docs/design.md, Ownership rule 5).
//
// Each test makes its own reactor so that it can destroy it mid-test, with
// the fixture still recording unhandled rejections. Run under ASan to see
// that nothing leaks.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/shared_future.hpp>
#include <vow/promise/sleep.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <thread>
#include <utility>

BOOST_AUTO_TEST_SUITE(destroy_frees_pending_chains_test)

using namespace std::chrono_literals;
using vow::test::tagged_error;

namespace {

// A value that counts its live instances, to see that teardown destroys
// values stored in states and in queued tasks.
struct counted {
    static inline int live = 0;
    int v;
    explicit counted(int x) noexcept : v(x) { ++live; }
    counted(counted&& o) noexcept : v(o.v) { ++live; }
    counted(const counted& o) noexcept : v(o.v) { ++live; }
    counted& operator=(const counted&) = default;
    ~counted() { --live; }
};

// What a test's handlers did: incremented `ran` (must stay 0) and, through
// the shared token they capture, show whether they were destroyed.
struct probe {
    std::shared_ptr<int> ran = std::make_shared<int>(0);
    auto counter() const { return ran; }
    bool all_destroyed() const { return ran.use_count() == 1; }
};

struct fixture : vow::test::promise_fixture {
    std::unique_ptr<vow::reactor> other = std::make_unique<vow::reactor>();
    probe handlers;

    // Keeps `args` alive in a callable of `other` that never runs.
    template <class... A>
    void park(A&&... args) {
        (void)other->call_later(1h, [... held = std::forward<A>(args)] {});
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(teardown, fixture)

BOOST_AUTO_TEST_CASE(a_pending_promise_and_its_chain_are_freed_without_running_or_reporting) {
    vow::promise<int> p(*other);
    auto ran = handlers.counter();
    auto f = p.get_future()
                 .then([ran](int n) { return ++*ran, n; })
                 .catch_([ran](std::exception_ptr) { return ++*ran, 0; })
                 .finally([ran] { ++*ran; });
    park(std::move(p));
    park(std::move(f));
    ran.reset();
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_pending_promise_whose_future_is_held_elsewhere_is_not_reported) {
    // The promise breaks as its callable is destroyed; the future that
    // would then hold broken_promise dies in the same teardown.
    vow::promise<int> p(*other);
    auto f = p.get_future();
    park(std::move(p));
    park(std::move(f));
    other.reset();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_future_held_before_its_promise_is_not_reported) {
    // The same, with the callables queued the other way round.
    vow::promise<int> p(*other);
    auto f = p.get_future();
    park(std::move(f));
    park(std::move(p));
    other.reset();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_queued_continuation_is_dropped_unrun_and_its_value_freed) {
    auto ran = handlers.counter();
    vow::promise<counted> p(*other);
    auto f = p.get_future().then([ran](counted c) { return ++*ran, c.v; });
    p.resolve(counted(1));  // the fire is queued, not run
    ran.reset();
    BOOST_TEST(counted::live == 1);
    park(std::move(p), std::move(f));
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(counted::live == 0);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_queued_error_is_dropped_unrun_and_not_reported) {
    auto ran = handlers.counter();
    vow::promise<int> p(*other);
    auto f = p.get_future().then([ran](int n) { return ++*ran, n; });
    p.reject(tagged_error(1));
    ran.reset();
    park(std::move(p), std::move(f));
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_value_posted_from_another_thread_is_freed_unpublished) {
    auto ran = handlers.counter();
    vow::promise<counted> p(*other);
    auto f = p.get_future().then([ran](counted c) { return ++*ran, c.v; });
    ran.reset();
    std::thread([p = std::move(p)]() mutable { p.resolve(counted(2)); }).join();
    BOOST_TEST(counted::live == 1);  // constructed in place, its publish posted
    park(std::move(f));
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(counted::live == 0);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_promise_destroyed_on_another_thread_before_teardown_is_freed_silently) {
    auto ran = handlers.counter();
    vow::promise<int> p(*other);
    auto f = p.get_future().then([ran](int n) { return ++*ran, n; });
    ran.reset();
    std::thread([p = std::move(p)]() mutable { auto gone = std::move(p); }).join();
    park(std::move(f));
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_pending_adoption_is_freed) {
    auto ran = handlers.counter();
    vow::promise<int> outer(*other), inner(*other);
    auto inner_future = inner.get_future();
    auto f = outer.get_future()
                 .then([ran, g = std::move(inner_future)](int) mutable { return ++*ran, std::move(g); })
                 .then([ran](int n) { return ++*ran, n; });
    outer.resolve(1);
    // Run the first handler, so the node adopts the inner future.
    while (*ran == 0)
        other->run_once(false);
    BOOST_TEST(*ran == 1);
    ran.reset();
    park(std::move(outer), std::move(f));
    park(std::move(inner));
    other.reset();
    BOOST_TEST(*handlers.ran == 1);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_finally_waiting_for_its_future_is_freed_with_the_value_it_holds) {
    auto ran = handlers.counter();
    vow::promise<void> cleanup(*other);
    auto cleanup_future = cleanup.get_future();
    auto f = vow::make_ready_future(*other, counted(3))
                 .finally([ran, g = std::move(cleanup_future)]() mutable { return ++*ran, std::move(g); })
                 .then([ran](counted c) { return ++*ran, c.v; });
    while (*ran == 0)
        other->run_once(false);
    ran.reset();
    BOOST_TEST(counted::live == 1);
    park(std::move(f));
    park(std::move(cleanup));
    other.reset();
    BOOST_TEST(*handlers.ran == 1);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(counted::live == 0);
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_shared_future_with_waiting_handlers_is_freed) {
    auto ran = handlers.counter();
    vow::promise<int> p(*other);
    auto s = p.get_future().share();
    auto a = s.then([ran](int n) { return ++*ran, n; });
    auto b = s.then([ran](const int& n) { return ++*ran, n; });
    ran.reset();
    park(std::move(p));
    park(std::move(s), std::move(a), std::move(b));
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_pending_sleep_is_freed) {
    auto ran = handlers.counter();
    auto f = vow::sleep(*other, 1h).then([ran] { ++*ran; });
    ran.reset();
    park(std::move(f));
    other.reset();
    BOOST_TEST(*handlers.ran == 0);
    BOOST_TEST(handlers.all_destroyed());
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // destroy_frees_pending_chains_test
