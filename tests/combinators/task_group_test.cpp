// vow::task_group: tasks that start, fail and stop together. join() waits
// for every task; the first error stops the others and is join's error;
// cancelled_error is never an error; later errors are reported, never lost;
// a destroyed group stops its tasks and keeps them alive until they settle.
#include <boost/test/unit_test.hpp>
#include <promise_fixture.hpp>

#include <vow/vow.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(task_group_test)

using namespace std::chrono_literals;
using vow::test::tagged_error;

namespace {

// A task that waits for its token's stop (an hour otherwise) and ends with
// the sleep's vow::cancelled_error.
auto sleeper(vow::reactor& r) {
    return [&r](std::stop_token stop) { return vow::sleep(r, 1h, std::move(stop)); };
}

// A future that fulfils with `value` after `delay`, whatever stop says.
template <class T>
vow::future<T> later(vow::reactor& r, vow::reactor::duration delay, T value) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), v = std::move(value)]() mutable { p.resolve(std::move(v)); });
    return f;
}

// A future that rejects with `error` after `delay`, whatever stop says.
template <class T>
vow::future<T> later_error(vow::reactor& r, vow::reactor::duration delay, std::exception_ptr error) {
    vow::promise<T> p(r);
    auto f = p.get_future();
    (void)r.call_later(delay, [p = std::move(p), error]() mutable { p.reject(error); });
    return f;
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(task_group, vow::test::promise_fixture)

// --- spawn ---

BOOST_AUTO_TEST_CASE(spawn_calls_the_task_inside_the_call_with_the_group_token) {
    vow::task_group tg(r);
    std::optional<std::stop_token> seen;
    auto f = tg.spawn([&](std::stop_token stop) {
        seen = stop;
        return vow::make_ready_future(r, 1);
    });
    BOOST_REQUIRE(seen.has_value());
    BOOST_TEST((*seen == tg.get_token()));
    BOOST_TEST(seen->stop_possible());
    BOOST_TEST(!seen->stop_requested());
    BOOST_TEST(wait(std::move(f)) == 1);
    wait(tg.join());
}

BOOST_AUTO_TEST_CASE(a_task_without_a_stop_token_parameter_is_called_with_nothing) {
    vow::task_group tg(r);
    int calls = 0;
    tg.spawn([&] {
        ++calls;
        return vow::make_ready_future(r);
    });
    BOOST_TEST(calls == 1);
    wait(tg.join());
}

BOOST_AUTO_TEST_CASE(spawn_returns_a_spawned_future_of_the_task_value_type) {
    vow::task_group tg(r);
    auto i = tg.spawn([&](std::stop_token) { return vow::make_ready_future(r, 1); });
    auto s = tg.spawn([&] { return vow::make_ready_future(r, std::string("s")); });
    auto v = tg.spawn([&] { return vow::make_ready_future(r); });
    static_assert(std::is_same_v<decltype(i), vow::spawned<int>>);
    static_assert(std::is_same_v<decltype(s), vow::spawned<std::string>>);
    static_assert(std::is_same_v<decltype(v), vow::spawned<void>>);
    static_assert(std::is_base_of_v<vow::future<int>, vow::spawned<int>>);
    wait(tg.join());
    BOOST_TEST(wait(std::move(i)) == 1);
    BOOST_TEST(wait(std::move(s)) == "s");
    wait(std::move(v));
}

BOOST_AUTO_TEST_CASE(a_kept_spawned_future_gets_the_task_value) {
    vow::task_group tg(r);
    vow::future<std::unique_ptr<int>> kept = tg.spawn([&] { return later(r, 1ms, std::make_unique<int>(42)); });
    auto value = wait(std::move(kept));
    BOOST_REQUIRE(value);
    BOOST_TEST(*value == 42);
    wait(tg.join());
}

BOOST_AUTO_TEST_CASE(a_dropped_spawned_future_discards_the_value_and_the_task_still_counts) {
    vow::task_group tg(r);
    bool done = false;
    tg.spawn([&] { return later(r, 2ms, std::string("dropped")).then([&](std::string) { done = true; }); });
    BOOST_TEST(tg.running() == 1u);
    wait(tg.join());
    BOOST_TEST(done);
    BOOST_TEST(tg.running() == 0u);
}

BOOST_AUTO_TEST_CASE(running_counts_the_tasks_spawned_and_not_yet_settled) {
    vow::task_group tg(r);
    BOOST_TEST(tg.running() == 0u);
    // b settles only when told to: two timers 2 ms apart both fired before
    // the first wait returned on a loaded machine (under ThreadSanitizer).
    vow::promise<int> pb(r);
    auto a = tg.spawn([&] { return later(r, 1ms, 1); });
    auto b = tg.spawn([&] { return pb.get_future(); });
    BOOST_TEST(tg.running() == 2u);
    BOOST_TEST(wait(std::move(a)) == 1);
    BOOST_TEST(tg.running() == 1u);
    pb.resolve(2);
    BOOST_TEST(wait(std::move(b)) == 2);
    BOOST_TEST(tg.running() == 0u);
    wait(tg.join());
}

// --- join ---

BOOST_AUTO_TEST_CASE(join_with_no_tasks_resolves_on_a_later_turn) {
    vow::task_group tg(r);
    bool ran = false;
    auto j = tg.join().then([&] { ran = true; });
    BOOST_TEST(!ran);  // never inside the call
    wait(std::move(j));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(join_resolves_only_once_the_slowest_task_has_settled) {
    vow::task_group tg(r);
    std::vector<int> finished;
    for (int i : {3, 1, 2})
        tg.spawn([&, i] { return vow::sleep(r, std::chrono::milliseconds(i)).then([&, i] { finished.push_back(i); }); });
    int settled_with = -1;
    auto j = tg.join().then([&] { settled_with = static_cast<int>(finished.size()); });
    wait(std::move(j));
    BOOST_TEST(settled_with == 3);
    BOOST_TEST(tg.running() == 0u);
}

// Tasks that settle one after another, each while others are still
// running: join must see every one exactly once, however they interleave.
BOOST_AUTO_TEST_CASE(join_counts_each_task_once_when_tasks_settle_in_turn) {
    vow::task_group tg(r);
    std::vector<vow::promise<int>> ps;
    for (int i = 0; i < 3; ++i)
        ps.emplace_back(r);
    for (auto& p : ps)
        tg.spawn([f = p.get_future()]() mutable { return std::move(f); });
    bool joined = false;
    auto j = tg.join().then([&] { joined = true; });
    for (std::size_t i = 0; i < ps.size(); ++i) {
        BOOST_TEST(!joined);
        BOOST_TEST(tg.running() == ps.size() - i);
        ps[i].resolve(int(i));
        run();
    }
    BOOST_TEST(joined);
    BOOST_TEST(tg.running() == 0u);
    wait(std::move(j));
}

BOOST_AUTO_TEST_CASE(join_may_be_called_more_than_once_and_every_future_settles_alike) {
    vow::task_group tg(r);
    tg.spawn([&] { return later(r, 1ms, 0); });
    auto a = tg.join();
    auto b = tg.join();
    wait(std::move(a));
    wait(std::move(b));
    wait(tg.join());  // after it settled: at once, on a later turn
}

BOOST_AUTO_TEST_CASE(every_join_future_rejects_with_the_first_error) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(1));
    tg.spawn([&] { return later_error<int>(r, 1ms, error); });
    auto a = tg.join();
    auto b = tg.join();
    BOOST_TEST((wait_error(std::move(a)) == error));
    BOOST_TEST((wait_error(std::move(b)) == error));
    BOOST_TEST((wait_error(tg.join()) == error));
}

BOOST_AUTO_TEST_CASE(a_task_spawned_during_join_before_it_settles_is_waited_for) {
    vow::task_group tg(r);
    bool second_done = false;
    int joined_after = 0;
    // The first task spawns the second from its continuation, while join waits.
    tg.spawn([&] {
        return later(r, 1ms, 0).then([&](int) {
            tg.spawn([&] { return later(r, 2ms, 0).then([&](int) { second_done = true; }); });
        });
    });
    auto j = tg.join().then([&] { joined_after = second_done ? 2 : 1; });
    // And one more from outside, also while join waits.
    auto third = tg.spawn([&] { return later(r, 1ms, 3); });
    wait(std::move(j));
    BOOST_TEST(joined_after == 2);
    BOOST_TEST(wait(std::move(third)) == 3);
}

BOOST_AUTO_TEST_CASE(spawn_after_join_settled_throws_usage_error_without_calling_the_task) {
    vow::task_group tg(r);
    wait(tg.join());
    int calls = 0;
    BOOST_CHECK_THROW(tg.spawn([&] {
        ++calls;
        return vow::make_ready_future(r);
    }),
                      vow::usage_error);
    BOOST_TEST(calls == 0);
}

// --- the first error ---

BOOST_AUTO_TEST_CASE(the_first_error_stops_the_others_and_is_what_join_rejects_with) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(1));
    auto a = tg.spawn(sleeper(r));
    auto b = tg.spawn(sleeper(r));
    tg.spawn([&] { return later_error<void>(r, 1ms, error); });
    auto j = tg.join();
    BOOST_TEST((wait_error(std::move(j)) == error));
    BOOST_TEST(tg.stop_requested());
    BOOST_TEST(tg.get_token().stop_requested());
    // The others ended with the cancelled_error their stop asked for; that
    // is no error of the group's, and nothing is reported.
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(a))) != nullptr);
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(b))) != nullptr);
    run();
}

BOOST_AUTO_TEST_CASE(the_first_error_is_join_s_error_also_when_the_kept_future_observes_it) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(2));
    auto kept = tg.spawn([&] { return later_error<int>(r, 1ms, error); });
    auto other = tg.spawn(sleeper(r));
    BOOST_TEST((wait_error(std::move(kept)) == error));
    BOOST_TEST((wait_error(tg.join()) == error));
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(other))) != nullptr);
    run();  // delivered twice, handled twice: nothing to report
}

BOOST_AUTO_TEST_CASE(a_dropped_spawned_future_that_fails_is_not_reported_the_group_owns_its_error) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(3));
    tg.spawn([&] { return later_error<int>(r, 1ms, error); });
    run();
    BOOST_TEST(unhandled.empty());
    BOOST_TEST((wait_error(tg.join()) == error));
}

BOOST_AUTO_TEST_CASE(a_second_error_is_reported_as_unhandled_with_where_its_task_was_spawned) {
    vow::task_group tg(r);
    auto first = std::make_exception_ptr(tagged_error(1));
    auto second = std::make_exception_ptr(tagged_error(2));
    tg.spawn([&] { return later_error<int>(r, 1ms, first); });
    // Ignores the stop and fails later with an error of its own.
    const std::uint_least32_t line = __LINE__; tg.spawn([&] { return later_error<int>(r, 5ms, second); });
    BOOST_TEST((wait_error(tg.join()) == first));
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == second));
    BOOST_TEST(unhandled[0].line == line);
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_task_that_throws_inside_spawn_fails_the_group_and_spawn_does_not_throw) {
    vow::task_group tg(r);
    auto other = tg.spawn(sleeper(r));
    vow::spawned<int> thrown;
    BOOST_CHECK_NO_THROW(thrown = tg.spawn([](std::stop_token) -> vow::future<int> { throw tagged_error(7); }));
    BOOST_TEST(thrown.valid());
    auto e = wait_error(std::move(thrown));
    BOOST_REQUIRE(vow::error_as<tagged_error>(e));
    BOOST_TEST(vow::error_as<tagged_error>(e)->tag == 7);
    BOOST_TEST((wait_error(tg.join()) == e));
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(other))) != nullptr);
}

BOOST_AUTO_TEST_CASE(a_task_returning_an_empty_future_fails_with_future_consumed) {
    vow::task_group tg(r);
    auto other = tg.spawn(sleeper(r));
    vow::spawned<int> empty;
    BOOST_CHECK_NO_THROW(empty = tg.spawn([] { return vow::future<int>(); }));
    BOOST_TEST(vow::error_as<vow::future_consumed>(wait_error(std::move(empty))) != nullptr);
    BOOST_TEST(vow::error_as<vow::future_consumed>(wait_error(tg.join())) != nullptr);
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(other))) != nullptr);
}

// A value whose move throws once `armed`: the move out of the task's
// future, after the value is in, fails.
struct fragile {
    static inline bool armed = false;
    int v;
    explicit fragile(int x) : v(x) {}
    fragile(fragile&& o) : v(o.v) {
        if (armed)
            throw tagged_error(8);
    }
    fragile& operator=(fragile&&) = delete;
};

BOOST_AUTO_TEST_CASE(a_task_value_that_cannot_be_moved_out_fails_the_task_and_the_group_sees_it) {
    vow::task_group tg(r);
    vow::promise<fragile> kept_p(r), dropped_p(r);
    auto kept = tg.spawn([&] { return kept_p.get_future(); });
    tg.spawn([&] { return dropped_p.get_future(); });  // its value goes nowhere; its failure must
    dropped_p.resolve(fragile(1));
    kept_p.resolve(fragile(2));
    fragile::armed = true;
    auto first = wait_error(tg.join());
    auto second = wait_error(std::move(kept));
    fragile::armed = false;
    BOOST_TEST(vow::error_as<tagged_error>(first) != nullptr);
    BOOST_TEST(vow::error_as<tagged_error>(second) != nullptr);
    // Two failures: the first is join's, the second is reported.
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == second));
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(spawn_after_a_task_failed_throws_usage_error) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(1));
    tg.spawn([&] { return vow::make_exception_future<void>(r, error); });
    run();
    BOOST_TEST(tg.stop_requested());
    BOOST_CHECK_THROW(tg.spawn([&] { return vow::make_ready_future(r); }), vow::usage_error);
    BOOST_TEST((wait_error(tg.join()) == error));
}

BOOST_AUTO_TEST_CASE(tasks_that_ignore_the_stop_token_are_still_waited_for) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(1));
    bool stubborn_done = false;
    auto stubborn = tg.spawn([&](std::stop_token) {
        return later(r, 10ms, 5).then([&](int v) {
            stubborn_done = true;
            return v;
        });
    });
    tg.spawn([&] { return later_error<void>(r, 1ms, error); });
    bool done_at_join = false;
    auto j = tg.join().catch_([&](std::exception_ptr e) {
        done_at_join = stubborn_done;
        std::rethrow_exception(e);
    });
    BOOST_TEST((wait_error(std::move(j)) == error));
    BOOST_TEST(done_at_join);
    BOOST_TEST(wait(std::move(stubborn)) == 5);  // its value, though the group failed
}

BOOST_AUTO_TEST_CASE(a_cancelled_error_is_never_the_group_s_error) {
    vow::task_group tg(r);
    // A task that ends with cancelled_error on its own, without any stop.
    tg.spawn([&] { return vow::make_exception_future<void>(r, vow::cancelled_error("by itself")); });
    run();
    BOOST_TEST(!tg.stop_requested());
    wait(tg.join());
}

// --- cancel ---

BOOST_AUTO_TEST_CASE(cancel_requests_stop_and_join_resolves_when_the_tasks_end_cancelled) {
    vow::task_group tg(r);
    auto a = tg.spawn(sleeper(r));
    tg.spawn(sleeper(r));
    auto j = tg.join();
    BOOST_TEST(!tg.stop_requested());
    tg.cancel();
    BOOST_TEST(tg.stop_requested());
    wait(std::move(j));
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(a))) != nullptr);
    run(5s);  // the hour-long sleeps are gone
}

BOOST_AUTO_TEST_CASE(after_cancel_join_resolves_with_tasks_that_succeed_anyway) {
    vow::task_group tg(r);
    auto v = tg.spawn([&](std::stop_token) { return later(r, 2ms, 9); });
    tg.cancel();
    wait(tg.join());
    BOOST_TEST(wait(std::move(v)) == 9);
}

BOOST_AUTO_TEST_CASE(after_cancel_a_real_error_is_still_join_s_error) {
    vow::task_group tg(r);
    auto error = std::make_exception_ptr(tagged_error(4));
    tg.spawn([&](std::stop_token) { return later_error<int>(r, 1ms, error); });
    tg.cancel();
    BOOST_TEST((wait_error(tg.join()) == error));
}

BOOST_AUTO_TEST_CASE(cancel_is_idempotent_and_works_on_an_empty_group) {
    vow::task_group tg(r);
    tg.cancel();
    tg.cancel();
    BOOST_TEST(tg.stop_requested());
    wait(tg.join());
}

BOOST_AUTO_TEST_CASE(spawn_after_cancel_throws_usage_error_without_calling_the_task) {
    vow::task_group tg(r);
    tg.cancel();
    int calls = 0;
    BOOST_CHECK_THROW(tg.spawn([&] {
        ++calls;
        return vow::make_ready_future(r);
    }),
                      vow::usage_error);
    BOOST_TEST(calls == 0);
    try {
        tg.spawn([&] { return vow::make_ready_future(r); });
    } catch (const vow::usage_error& e) {
        BOOST_TEST(std::string(e.what()).find("cancel") != std::string::npos, e.what());
    }
}

// --- destruction ---

BOOST_AUTO_TEST_CASE(destroying_the_group_stops_its_tasks_and_keeps_them_alive_until_they_settle) {
    vow::future<void> stopped;
    vow::future<int> stubborn;
    {
        vow::task_group tg(r);
        stopped = tg.spawn(sleeper(r));
        stubborn = tg.spawn([&](std::stop_token) { return later(r, 2ms, 11); });
    }
    BOOST_TEST(vow::error_as<vow::cancelled_error>(wait_error(std::move(stopped))) != nullptr);
    BOOST_TEST(wait(std::move(stubborn)) == 11);
    run(5s);
}

BOOST_AUTO_TEST_CASE(destroying_the_group_with_dropped_tasks_in_flight_leaks_nothing) {
    int ended = 0;
    {
        vow::task_group tg(r);
        for (int i = 0; i < 3; ++i)
            tg.spawn([&](std::stop_token stop) {
                return vow::sleep(r, 1h, std::move(stop)).catch_([&](const vow::cancelled_error&) { ++ended; });
            });
        tg.spawn([&] { return later(r, 1ms, 0).then([&](int) { ++ended; }); });
    }
    run(5s);  // under ASan, any leaked node or group fails the test
    BOOST_TEST(ended == 4);
}

BOOST_AUTO_TEST_CASE(a_first_error_no_join_delivered_is_reported_once_when_the_group_and_its_tasks_are_gone) {
    auto error = std::make_exception_ptr(tagged_error(5));
    std::uint_least32_t line = 0;
    {
        line = __LINE__; vow::task_group tg(r);
        tg.spawn([&] { return later_error<int>(r, 1ms, error); });
    }
    BOOST_TEST(unhandled.empty());  // the task is still running
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    BOOST_TEST(unhandled[0].line == line);  // where the group was created
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_first_error_no_join_delivered_is_reported_when_the_group_is_destroyed_after_it) {
    auto error = std::make_exception_ptr(tagged_error(6));
    {
        vow::task_group tg(r);
        tg.spawn([&] { return vow::make_exception_future<int>(r, error); });
        run();
        BOOST_TEST(unhandled.empty());  // join() may still deliver it
    }
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    unhandled.clear();
}

BOOST_AUTO_TEST_CASE(a_first_error_join_delivered_is_not_reported_again_when_the_group_is_destroyed) {
    auto error = std::make_exception_ptr(tagged_error(7));
    {
        vow::task_group tg(r);
        tg.spawn([&] { return later_error<void>(r, 1ms, error); });
        BOOST_TEST((wait_error(tg.join()) == error));
    }
    run();
    BOOST_TEST(unhandled.empty());
}

BOOST_AUTO_TEST_CASE(a_join_future_outlives_the_group_and_settles_when_the_tasks_end) {
    vow::future<void> j;
    bool done = false;
    {
        vow::task_group tg(r);
        tg.spawn([&](std::stop_token) { return later(r, 2ms, 0).then([&](int) { done = true; }); });
        j = tg.join();
    }
    wait(std::move(j));
    BOOST_TEST(done);
}

BOOST_AUTO_TEST_CASE(destroying_the_reactor_with_tasks_in_flight_breaks_them_quietly) {
    int ran = 0;
    {
        vow::reactor other;
        vow::task_group tg(other);
        for (int i = 0; i < 3; ++i)
            tg.spawn([&] { return vow::sleep(other, 1h).then([&] { ++ran; }); });
        auto ready = tg.spawn([&] { return vow::make_ready_future(other, 1); });  // its fire is queued, never run
        BOOST_TEST(tg.running() == 4u);
    }  // the group, then the reactor: its queued fires and timers are destroyed unrun
    BOOST_TEST(ran == 0);
}

// --- scale ---

BOOST_AUTO_TEST_CASE(ten_thousand_tasks_join_and_every_kept_value_arrives) {
    constexpr int n = 10'000;
    vow::task_group tg(r);
    std::vector<vow::future<int>> kept;
    kept.reserve(n);
    for (int i = 0; i < n; ++i) {
        if (i % 2)
            kept.push_back(tg.spawn([&, i] { return vow::make_ready_future(r, i); }));
        else
            tg.spawn([&, i](std::stop_token stop) { return vow::sleep(r, 0ms, std::move(stop)).then([i] { return i; }); });
    }
    BOOST_TEST(tg.running() == std::size_t(n));
    wait(tg.join());
    BOOST_TEST(tg.running() == 0u);
    long long sum = 0;
    for (auto& f : kept)
        sum += wait(std::move(f));
    BOOST_TEST(sum == 25'000'000LL);  // 1 + 3 + ... + 9999
}

BOOST_AUTO_TEST_CASE(ten_thousand_tasks_are_all_stopped_by_one_error) {
    constexpr int n = 10'000;
    vow::task_group tg(r);
    int cancelled = 0;
    for (int i = 0; i < n; ++i)
        tg.spawn([&](std::stop_token stop) {
            return vow::sleep(r, 1h, std::move(stop)).catch_([&](const vow::cancelled_error& e) {
                ++cancelled;
                throw e;  // still ends with cancelled_error: not an error of the group's
            });
        });
    auto error = std::make_exception_ptr(tagged_error(1));
    tg.spawn([&] { return later_error<void>(r, 1ms, error); });
    BOOST_TEST((wait_error(tg.join()) == error));
    BOOST_TEST(cancelled == n);
    run(5s);
}

// --- a chat client's writer ---

// A client connection as two tasks: a reader, and a writer parked in
// queue::pop() between lines. The writer must end when the group stops,
// not wait for a line that never comes.
struct chat_client {
    explicit chat_client(vow::reactor& rr) : r(rr) {}
    vow::reactor& r;
    vow::queue<std::string> outgoing{r, 16};
    std::vector<std::string> written;

    vow::future<void> writer(std::stop_token stop) {
        return vow::keep_doing(
            r,
            [this](std::stop_token st) {
                return outgoing.pop(st).then([this](std::string line) { written.push_back(std::move(line)); });
            },
            std::move(stop));
    }
};

BOOST_AUTO_TEST_CASE(a_writer_loop_parked_in_queue_pop_ends_when_the_group_is_cancelled) {
    chat_client c(r);
    vow::task_group tg(r);
    auto w = tg.spawn([&](std::stop_token stop) { return c.writer(std::move(stop)); });
    (void)c.outgoing.push("hello\n");
    (void)c.outgoing.push("bye\n");
    run();  // the writer wrote both and is parked in pop()
    BOOST_TEST(c.written == (std::vector<std::string>{"hello\n", "bye\n"}), boost::test_tools::per_element());
    BOOST_TEST(tg.running() == 1u);
    tg.cancel();
    wait(tg.join());
    wait(std::move(w));  // keep_doing ends quietly on its token's cancelled_error
}

BOOST_AUTO_TEST_CASE(a_writer_loop_parked_in_queue_pop_ends_when_the_group_is_destroyed) {
    chat_client c(r);
    vow::future<void> w;
    {
        vow::task_group tg(r);
        w = tg.spawn([&](std::stop_token stop) { return c.writer(std::move(stop)); });
        (void)c.outgoing.push("hi\n");
        run();
    }
    wait(std::move(w));
    BOOST_TEST(c.written.size() == 1u);
    run(5s);
}

BOOST_AUTO_TEST_CASE(a_writer_loop_parked_in_queue_pop_ends_when_the_reader_fails) {
    chat_client c(r);
    vow::task_group tg(r);
    auto reset = std::make_exception_ptr(std::runtime_error("connection reset by peer"));
    auto w = tg.spawn([&](std::stop_token stop) { return c.writer(std::move(stop)); });
    // The reader gets two lines (echoed to the writer), then the peer resets.
    tg.spawn([&](std::stop_token) {
        return later(r, 1ms, std::string("one\n"))
            .then([&](std::string line) { return c.outgoing.push(std::move(line)); })
            .then([&] { return later_error<void>(r, 1ms, reset); });
    });
    BOOST_TEST((wait_error(tg.join()) == reset));
    wait(std::move(w));
    BOOST_TEST(c.written == (std::vector<std::string>{"one\n"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_writer_loop_ends_on_queue_closed_when_a_stop_callback_closes_the_queue) {
    // A writer that pops without a token, ended by closing its queue on stop.
    vow::queue<std::string> q(r, 4);
    vow::task_group tg(r);
    std::stop_callback close_on_stop(tg.get_token(), [&] { q.close(); });
    int lines = 0;
    tg.spawn([&] {
        return vow::repeat(r, [&] {
            return q.pop()
                .then([&](std::string) {
                    ++lines;
                    return vow::stop_iteration::no;
                })
                .catch_([](const vow::queue_closed&) { return vow::stop_iteration::yes; });
        });
    });
    (void)q.push("x");
    run();
    tg.cancel();
    wait(tg.join());
    BOOST_TEST(lines == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // task_group_test
