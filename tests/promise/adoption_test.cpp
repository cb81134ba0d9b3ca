// Adoption collapses (rule 6 of vow/promise/detail/state.hpp): a handler that
// returns a pending future does not leave its node waiting in between; the
// node's consumer moves onto the returned future, or, with no consumer yet,
// the node forwards the first one that comes. So a recursion
// `f(n) = x.then([] { return f(n - 1); })` settles with the bottom's result,
// keeps Promises/A+ ordering, and holds one level in memory, not n.
//
// The memory cases measure the peak resident set (tests/support/
// memory_probe.hpp) and run in the plain build only; elsewhere they are
// skipped with the reason in the log.
#include <boost/test/unit_test.hpp>
#include <build_kind.hpp>
#include <memory_probe.hpp>
#include <promise_fixture.hpp>

#include <vow/error.hpp>
#include <vow/promise/all.hpp>
#include <vow/promise/future.hpp>
#include <vow/promise/make_future.hpp>
#include <vow/promise/promise.hpp>
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/shared_future.hpp>
#include <vow/promise/sleep.hpp>
#include <vow/promise/with_timeout.hpp>

#include <chrono>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(adoption_test)

using namespace std::chrono_literals;
using vow::test::tagged_error;

namespace {

// A million levels in the plain and sanitizer builds; under valgrind, where
// every step is fifty times slower, a hundred thousand still needs as many
// frames or nodes as a non-collapsing implementation would keep.
const long depth = vow::test::under_valgrind() ? 100'000 : 1'000'000;

// The growth a million collapsed levels must stay under. One node per level
// would be about 100 MB (a then node is about 100 bytes, plus its source).
constexpr long memory_bound_kib = 32 * 1024;

// How each level's source settles before its handler runs: already, on the
// next turn (a promise resolved by call_soon), or from a zero-delay timer
// (vow::sleep; a turn of the reactor's poll per level, so the slowest).
enum class step { ready, next_turn, timer };

vow::future<void> step_future(vow::reactor& r, step s) {
    if (s == step::ready)
        return vow::make_ready_future(r);
    if (s == step::timer)
        return vow::sleep(r, 0ms);
    vow::promise<void> p(r);
    auto f = p.get_future();
    r.call_soon([p = std::move(p)]() mutable { p.resolve(); });
    return f;
}

// f(n) = step.then([] { return f(n - 1); }): each level's handler returns the
// next level's future, adding n to the sum it carries; the handler of level 0
// returns bottom(sum), so the top settles with whatever the bottom does.
template <class Bottom>
vow::future<long> descend(vow::reactor& r, step s, long n, long sum, Bottom& bottom) {
    return step_future(r, s).then([&r, s, n, sum, &bottom]() -> vow::future<long> {
        if (n == 0)
            return bottom(sum);
        return descend(r, s, n - 1, sum + n, bottom);
    });
}

// The same shape for future<void>, counting the levels that ran.
vow::future<void> descend_void(vow::reactor& r, step s, long n, long& levels) {
    return step_future(r, s).then([&r, s, n, &levels]() -> vow::future<void> {
        ++levels;
        if (n == 0)
            return vow::make_ready_future(r);
        return descend_void(r, s, n - 1, levels);
    });
}

long sum_to(long n) { return n * (n + 1) / 2; }

}  // namespace

BOOST_FIXTURE_TEST_SUITE(adoption, vow::test::promise_fixture)

// ------------------------------------------------------------ values and errors

BOOST_AUTO_TEST_CASE(a_value_passes_through_an_adopted_pending_future) {
    vow::promise<int> p(r);
    auto f = vow::make_ready_future(r).then([&] { return p.get_future(); }).then([](int n) { return n + 1; });
    run();
    BOOST_TEST(!f.available());
    p.resolve(41);
    BOOST_TEST(wait(std::move(f)) == 42);
}

BOOST_AUTO_TEST_CASE(a_void_completion_passes_through_an_adopted_pending_future) {
    vow::promise<void> p(r);
    bool ran = false;
    auto f = vow::make_ready_future(r, 1).then([&](int) { return p.get_future(); }).then([&] { ran = true; });
    run();
    BOOST_TEST(!ran);
    p.resolve();
    wait(std::move(f));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(an_error_passes_through_an_adopted_pending_future_and_skips_the_thens_after_it) {
    vow::promise<int> p(r);
    bool skipped_ran = false;
    auto error = std::make_exception_ptr(tagged_error(3));
    auto f = vow::make_ready_future(r)
                 .then([&] { return p.get_future(); })
                 .then([&](int n) { return skipped_ran = true, n; })
                 .catch_([&](std::exception_ptr e) { return e == error ? 7 : -1; });
    run();
    p.reject(error);
    BOOST_TEST(wait(std::move(f)) == 7);
    BOOST_TEST(!skipped_ran);
}

BOOST_AUTO_TEST_CASE(an_error_of_an_adopted_future_void_arrives_as_the_same_exception) {
    vow::promise<void> p(r);
    auto error = std::make_exception_ptr(tagged_error(4));
    auto f = vow::make_ready_future(r).then([&] { return p.get_future(); });
    run();
    p.reject(error);
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(catch_returning_a_pending_future_settles_with_it) {
    vow::promise<int> recovered(r);
    auto f = vow::make_exception_future<int>(r, tagged_error(1)).catch_([&](const tagged_error&) {
        return recovered.get_future();
    });
    run();
    BOOST_TEST(!f.available());
    recovered.resolve(5);
    BOOST_TEST(wait(std::move(f)) == 5);

    vow::promise<void> failing(r);
    auto error = std::make_exception_ptr(tagged_error(2));
    auto g = vow::make_exception_future<void>(r, tagged_error(1)).catch_([&](std::exception_ptr) {
        return failing.get_future();
    });
    run();
    failing.reject(error);
    BOOST_TEST((wait_error(std::move(g)) == error));
}

BOOST_AUTO_TEST_CASE(finally_returning_a_pending_future_waits_for_it_then_passes_the_original_result_on) {
    vow::promise<void> cleanup(r);
    auto f = vow::make_ready_future(r, 7).finally([&] { return cleanup.get_future(); });
    run();
    BOOST_TEST(!f.available());  // finally adopts: it waits for its handler's future
    cleanup.resolve();
    BOOST_TEST(wait(std::move(f)) == 7);

    vow::promise<void> cleanup2(r);
    auto error = std::make_exception_ptr(tagged_error(8));
    auto g = vow::make_exception_future<int>(r, error).finally([&] { return cleanup2.get_future(); });
    run();
    BOOST_TEST(!g.available());
    cleanup2.resolve();
    BOOST_TEST((wait_error(std::move(g)) == error));
}

BOOST_AUTO_TEST_CASE(finally_returning_a_future_that_rejects_replaces_the_result_with_that_error) {
    vow::promise<void> cleanup(r);
    auto error = std::make_exception_ptr(tagged_error(9));
    auto f = vow::make_ready_future(r, 7).finally([&] { return cleanup.get_future(); });
    run();
    cleanup.reject(error);
    BOOST_TEST((wait_error(std::move(f)) == error));
}

BOOST_AUTO_TEST_CASE(finally_inside_a_collapsing_recursion_still_runs_once_per_level) {
    // A finally between levels keeps its node (it must pass on the result it
    // held), but the then levels around it still collapse.
    long cleanups = 0;
    std::function<vow::future<long>(long)> level = [&](long n) -> vow::future<long> {
        return vow::make_ready_future(r).then([&, n]() -> vow::future<long> {
            if (n == 0)
                return vow::make_ready_future(r, 100L);
            return level(n - 1).finally([&] { ++cleanups; });
        });
    };
    BOOST_TEST(wait(level(10)) == 100);
    BOOST_TEST(cleanups == 10);
}

// ------------------------------------------------------------ deep recursion

BOOST_AUTO_TEST_CASE(a_recursion_of_a_million_pending_levels_resolves_with_the_bottoms_value) {
    BOOST_TEST_MESSAGE("depth " << depth);
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    BOOST_TEST(wait(descend(r, step::next_turn, depth, 0, bottom), 5min) == sum_to(depth));
}

BOOST_AUTO_TEST_CASE(a_recursion_of_a_million_ready_levels_resolves_with_the_bottoms_value) {
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    BOOST_TEST(wait(descend(r, step::ready, depth, 0, bottom), 5min) == sum_to(depth));
}

BOOST_AUTO_TEST_CASE(a_recursion_of_a_million_void_levels_completes) {
    long levels = 0;
    wait(descend_void(r, step::next_turn, depth, levels), 5min);
    BOOST_TEST(levels == depth + 1);
}

BOOST_AUTO_TEST_CASE(a_recursion_of_void_levels_on_sleep_completes) {
    // Ten thousand: each level waits for a pass of the reactor's poll.
    long levels = 0;
    wait(descend_void(r, step::timer, 10'000, levels));
    BOOST_TEST(levels == 10'001);
}

BOOST_AUTO_TEST_CASE(an_error_thrown_at_the_bottom_of_a_million_levels_reaches_the_top) {
    auto error = std::make_exception_ptr(tagged_error(11));
    auto bottom = [&](long) -> vow::future<long> { std::rethrow_exception(error); };
    BOOST_TEST((wait_error(descend(r, step::next_turn, depth, 0, bottom), 5min) == error));
}

BOOST_AUTO_TEST_CASE(an_error_a_pending_bottom_rejects_with_reaches_the_top_through_a_catch) {
    vow::promise<long> p(r);
    auto error = std::make_exception_ptr(tagged_error(12));
    auto bottom = [&](long) { return p.get_future(); };
    auto f = descend(r, step::next_turn, 1000, 0, bottom).catch_([&](const tagged_error& e) { return long{e.tag}; });
    run();
    BOOST_TEST(!f.available());
    p.reject(error);
    BOOST_TEST(wait(std::move(f)) == 12);
}

// ------------------------------------------------------------ when the consumer comes

BOOST_AUTO_TEST_CASE(a_consumer_attached_before_the_adoption_gets_the_result) {
    vow::promise<int> p(r);
    auto f = vow::make_ready_future(r).then([&] { return p.get_future(); });
    auto g = std::move(f).then([](int n) { return n * 2; });  // the handler has not run yet
    run();
    p.resolve(21);
    BOOST_TEST(wait(std::move(g)) == 42);
}

BOOST_AUTO_TEST_CASE(a_consumer_attached_after_the_adoption_gets_the_result) {
    vow::promise<int> p(r);
    auto f = vow::make_ready_future(r).then([&] { return p.get_future(); });
    run();  // the handler has run: f forwards to p's future
    BOOST_TEST(!f.available());
    auto g = std::move(f).then([](int n) { return n * 2; });
    p.resolve(21);
    BOOST_TEST(wait(std::move(g)) == 42);
}

BOOST_AUTO_TEST_CASE(a_consumer_attached_after_several_levels_collapsed_gets_the_result) {
    vow::promise<long> p(r);
    auto bottom = [&](long sum) { return p.get_future().then([sum](long v) { return v + sum; }); };
    auto f = descend(r, step::next_turn, 50, 0, bottom);
    run();  // every level has run; the chain waits on p
    BOOST_TEST(!f.available());
    auto g = std::move(f).then([](long v) { return v + 1; });
    p.resolve(1000);
    BOOST_TEST(wait(std::move(g)) == 1000 + sum_to(50) + 1);
}

BOOST_AUTO_TEST_CASE(a_consumer_attached_in_the_turn_the_adopted_future_settles_runs_once) {
    // p's fire is queued with the forwarding node as its continuation when
    // the consumer arrives: the consumer takes the node's place, and the
    // value reaches it once.
    vow::promise<int> p(r);
    auto f = vow::make_ready_future(r).then([&] { return p.get_future(); });
    run();
    p.resolve(5);
    int calls = 0;
    auto g = std::move(f).then([&](int n) { return ++calls, n; });
    BOOST_TEST(wait(std::move(g)) == 5);
    run();
    BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(a_consumer_attached_after_the_adopted_future_settled_gets_the_result) {
    vow::promise<int> p(r);
    auto f = vow::make_ready_future(r).then([&] { return p.get_future(); });
    run();
    p.resolve(5);
    run();
    BOOST_TEST(f.available());
    BOOST_TEST(wait(std::move(f)) == 5);
}

BOOST_AUTO_TEST_CASE(an_adopted_error_nobody_consumes_is_reported_once) {
    vow::promise<int> p(r);
    auto error = std::make_exception_ptr(tagged_error(13));
    {
        auto f = vow::make_ready_future(r).then([&] { return p.get_future(); });
        run();
    }  // dropped while forwarding to p's future
    p.reject(error);
    run();
    BOOST_TEST_REQUIRE(unhandled.size() == 1u);
    BOOST_TEST((unhandled[0].error == error));
    unhandled.clear();
}

// ------------------------------------------------------------ observers

BOOST_AUTO_TEST_CASE(run_until_complete_follows_a_collapsing_chain) {
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    BOOST_TEST(vow::run_until_complete(r, descend(r, step::next_turn, 1000, 0, bottom)) == sum_to(1000));
}

BOOST_AUTO_TEST_CASE(run_until_complete_waits_for_another_thread_settling_the_bottom_of_a_collapsed_chain) {
    // When the loop goes idle, run_until_complete follows the upstream links
    // from where its waker was moved to, finds the live promise at the bottom,
    // and waits for the other thread instead of throwing stalled_error.
    vow::promise<long> p(r);
    std::promise<void> reached;
    bool reached_bottom = false;
    std::thread resolver([&p, reached = reached.get_future()]() mutable {
        reached.wait();
        p.resolve(9);
    });
    auto bottom = [&](long sum) {
        auto f = p.get_future().then([sum](long v) { return v + sum; });
        reached_bottom = true;
        reached.set_value();
        return f;
    };
    long v = -1;
    try {
        v = vow::run_until_complete(r, descend(r, step::next_turn, 100, 0, bottom));
    } catch (...) {
        if (!reached_bottom)
            reached.set_value();  // let the thread finish before the failure is reported
        resolver.join();
        throw;
    }
    resolver.join();
    BOOST_TEST(v == 9 + sum_to(100));
}

BOOST_AUTO_TEST_CASE(a_shared_future_observes_an_adopted_future) {
    vow::promise<long> p(r);
    auto bottom = [&](long) { return p.get_future(); };
    vow::shared_future<long> s = descend(r, step::next_turn, 100, 0, bottom).share();
    auto a = s.then([](const long& v) { return v + 1; });
    run();
    auto b = s.then([](const long& v) { return v + 2; });
    p.resolve(10);
    BOOST_TEST(wait(std::move(a)) == 11);
    BOOST_TEST(wait(std::move(b)) == 12);
}

BOOST_AUTO_TEST_CASE(all_observes_adopted_futures_settling_in_either_order) {
    vow::promise<long> p1(r), p2(r);
    auto bottom1 = [&](long) { return p1.get_future(); };
    auto bottom2 = [&](long) { return p2.get_future(); };
    auto both = vow::all(descend(r, step::next_turn, 100, 0, bottom1), descend(r, step::ready, 200, 0, bottom2));
    run();
    BOOST_TEST(!both.available());
    p2.resolve(2);
    run();
    BOOST_TEST(!both.available());
    p1.resolve(1);
    BOOST_TEST((wait(std::move(both)) == std::tuple<long, long>(1, 2)));
}

BOOST_AUTO_TEST_CASE(all_rejects_with_the_error_of_an_adopted_future) {
    vow::promise<long> p1(r), p2(r);
    auto error = std::make_exception_ptr(tagged_error(14));
    auto bottom1 = [&](long) { return p1.get_future(); };
    auto bottom2 = [&](long) { return p2.get_future(); };
    auto both = vow::all(descend(r, step::next_turn, 100, 0, bottom1), descend(r, step::ready, 200, 0, bottom2));
    run();
    p2.reject(error);
    BOOST_TEST((wait_error(std::move(both)) == error));
    p1.resolve(1);
    run();
}

BOOST_AUTO_TEST_CASE(with_timeout_observes_an_adopted_future) {
    // The timer keeps the loop busy, so the bottom settles itself, on the
    // turn after every level has collapsed onto it.
    vow::promise<long> p(r);
    auto bottom = [&](long) {
        auto f = p.get_future();
        r.call_soon([&p] { p.resolve(3); });
        return f;
    };
    auto f = vow::with_timeout(descend(r, step::next_turn, 100, 0, bottom), 1h);
    BOOST_TEST(wait(std::move(f)) == 3);
}

BOOST_AUTO_TEST_CASE(with_timeout_times_out_an_adopted_future_and_takes_its_late_result_silently) {
    vow::promise<long> p(r);
    auto bottom = [&](long) { return p.get_future(); };
    auto f = vow::with_timeout(descend(r, step::next_turn, 100, 0, bottom), 1ms);
    auto e = wait_error(std::move(f));
    BOOST_TEST(vow::error_as<vow::timeout_error>(e) != nullptr);
    p.reject(tagged_error(15));  // the abandoned chain's error: taken, not reported
    run();
}

// ------------------------------------------------------------ ordering

BOOST_AUTO_TEST_CASE(a_continuation_of_an_adopted_future_never_runs_inside_resolve) {
    vow::promise<long> p(r);
    auto bottom = [&](long) { return p.get_future(); };
    bool ran = false;
    auto f = descend(r, step::next_turn, 10, 0, bottom).then([&](long v) { return ran = true, v; });
    run();
    p.resolve(1);
    BOOST_TEST(!ran);
    BOOST_TEST(wait(std::move(f)) == 1);
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(a_continuation_of_a_collapsed_chain_that_settled_never_runs_inside_then) {
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    auto f = descend(r, step::ready, 10, 0, bottom);
    run();
    BOOST_TEST(f.available());
    bool ran = false;
    auto g = std::move(f).then([&](long v) { return ran = true, v; });
    BOOST_TEST(!ran);
    BOOST_TEST(wait(std::move(g)) == sum_to(10));
    BOOST_TEST(ran);
}

BOOST_AUTO_TEST_CASE(adopted_chains_run_their_continuations_in_the_order_their_bottoms_settled) {
    vow::promise<long> p1(r), p2(r);
    auto bottom1 = [&](long) { return p1.get_future(); };
    auto bottom2 = [&](long) { return p2.get_future(); };
    std::vector<int> order;
    auto f1 = descend(r, step::next_turn, 20, 0, bottom1).then([&](long) { order.push_back(1); });
    auto f2 = descend(r, step::ready, 30, 0, bottom2).then([&](long) { order.push_back(2); });
    run();
    p2.resolve(0);
    p1.resolve(0);
    wait(std::move(f1));
    wait(std::move(f2));
    BOOST_TEST(order == (std::vector<int>{2, 1}), boost::test_tools::per_element());
}

// ------------------------------------------------------------ teardown

BOOST_AUTO_TEST_CASE(destroying_a_reactor_with_a_collapsed_chain_pending_frees_it) {
    auto token = std::make_shared<int>(0);
    auto other = std::make_unique<vow::reactor>();
    {
        vow::promise<long> p(*other);
        auto bottom = [&](long) { return p.get_future(); };
        auto f = descend(*other, step::next_turn, 100, 0, bottom).then([token](long v) { return v; });
        other->run();  // every level ran; the consumer now waits on p's state
        BOOST_TEST(!f.available());
        // Rule 5 of docs/design.md: only the reactor's pending callables may
        // hold its promises and futures when it is destroyed.
        (void)other->call_later(1h, [p = std::move(p), f = std::move(f)] {});
    }
    other.reset();
    BOOST_TEST(token.use_count() == 1);  // the consumer was destroyed with the chain
}

// ------------------------------------------------------------ constant memory

BOOST_AUTO_TEST_CASE(the_memory_probe_sees_a_million_pending_nodes_that_stay_alive, *vow::test::memory_tests()) {
    // The check on the cases below: a million nodes that do stay alive (a
    // plain chain of thens on one pending promise) exceed the bound, so a
    // recursion that kept one node per level would fail them.
    vow::test::memory_probe probe;
    vow::promise<long> p(r);
    vow::future<long> f = p.get_future();
    for (long i = 0; i < 1'000'000; ++i)
        f = std::move(f).then([](long n) { return n + 1; });
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("a million live then nodes: +" << grown / 1024 << " MB peak RSS");
    BOOST_TEST(grown > memory_bound_kib);
    p.resolve(0);
    BOOST_TEST(wait(std::move(f), 5min) == 1'000'000);
}

BOOST_AUTO_TEST_CASE(a_million_pending_levels_with_a_consumer_attached_grow_memory_by_less_than_32_mb,
                     *vow::test::memory_tests()) {
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    vow::test::memory_probe probe;
    BOOST_TEST(wait(descend(r, step::next_turn, 1'000'000, 0, bottom), 5min) == sum_to(1'000'000));
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("a million pending levels: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
}

BOOST_AUTO_TEST_CASE(a_million_ready_levels_with_a_consumer_attached_grow_memory_by_less_than_32_mb,
                     *vow::test::memory_tests()) {
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    vow::test::memory_probe probe;
    BOOST_TEST(wait(descend(r, step::ready, 1'000'000, 0, bottom), 5min) == sum_to(1'000'000));
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("a million ready levels: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
}

BOOST_AUTO_TEST_CASE(a_million_levels_that_collapse_before_any_consumer_attaches_grow_memory_by_less_than_32_mb,
                     *vow::test::memory_tests()) {
    // No consumer until the end: the top node forwards, and each level's
    // node hands the forwarding top on to the next level's future.
    auto bottom = [this](long sum) { return vow::make_ready_future(r, sum); };
    vow::test::memory_probe probe;
    auto f = descend(r, step::next_turn, 1'000'000, 0, bottom);
    run(5min);
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("a million levels with no consumer: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
    BOOST_TEST(f.available());
    BOOST_TEST(wait(std::move(f)) == sum_to(1'000'000));
}

BOOST_AUTO_TEST_CASE(a_million_void_levels_grow_memory_by_less_than_32_mb, *vow::test::memory_tests()) {
    long levels = 0;
    vow::test::memory_probe probe;
    wait(descend_void(r, step::next_turn, 1'000'000, levels), 5min);
    long grown = probe.growth_kib();
    BOOST_TEST_MESSAGE("a million void levels: +" << grown << " KiB peak RSS");
    BOOST_TEST(grown < memory_bound_kib);
    BOOST_TEST(levels == 1'000'001);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // adoption_test
