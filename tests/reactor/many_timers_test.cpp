// Timers in bulk: the order of thousands of timers, many of them cancelled,
// and the memory that cancelled timers may hold (reactor/timer_heap.hpp).
#include <boost/test/unit_test.hpp>
#include <memory_probe.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(many_timers_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(many_timers, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(ten_thousand_timers_with_one_deadline_run_in_the_order_they_were_armed) {
    constexpr int n = 10'000;
    std::vector<int> order;
    order.reserve(n);
    const auto when = vow::reactor::clock::now() + 2ms;
    for (int i = 0; i < n; ++i)
        (void)r.call_at(when, [&order, i] { order.push_back(i); });
    run();
    BOOST_TEST_REQUIRE(order.size() == std::size_t(n));
    for (int i = 0; i < n; ++i)
        BOOST_TEST_REQUIRE(order[std::size_t(i)] == i);
}

BOOST_AUTO_TEST_CASE(timers_on_two_interleaved_deadlines_run_by_deadline_then_in_arming_order) {
    constexpr int n = 10'000;
    std::vector<int> order;
    order.reserve(n);
    const auto t0 = vow::reactor::clock::now() + 2ms;
    // Odd timers are due first; each deadline's timers keep their order.
    for (int i = 0; i < n; ++i)
        (void)r.call_at(i % 2 ? t0 : t0 + 1ms, [&order, i] { order.push_back(i); });
    run();
    BOOST_TEST_REQUIRE(order.size() == std::size_t(n));
    for (int k = 0; k < n / 2; ++k) {
        BOOST_TEST_REQUIRE(order[std::size_t(k)] == 2 * k + 1);
        BOOST_TEST_REQUIRE(order[std::size_t(n / 2 + k)] == 2 * k);
    }
}

BOOST_AUTO_TEST_CASE(cancelling_most_of_many_timers_runs_exactly_the_rest_in_deadline_order) {
    // Enough cancelled timers for the heap to drop them in bulk, both when
    // they are cancelled and when the loop runs.
    constexpr int n = 30'000;
    struct fired {
        vow::reactor::time_point deadline;
        int i;
    };
    std::vector<fired> out;
    std::vector<vow::handle> hs;
    hs.reserve(n);
    const auto t0 = vow::reactor::clock::now() + 2ms;
    auto deadline = [&](int i) { return t0 + std::chrono::microseconds((i * 37) % 51 * 20); };
    for (int i = 0; i < n; ++i)
        hs.push_back(r.call_at(deadline(i), [&out, &deadline, i] { out.push_back({deadline(i), i}); }));
    for (int i = 0; i < n; ++i)
        if (i % 3 != 0)
            hs[std::size_t(i)].cancel();
    for (int i = 0; i < n; ++i)
        BOOST_TEST_REQUIRE(hs[std::size_t(i)].active() == (i % 3 == 0));
    run();
    BOOST_TEST_REQUIRE(out.size() == std::size_t(n / 3));
    for (std::size_t k = 0; k < out.size(); ++k) {
        BOOST_TEST_REQUIRE(out[k].i % 3 == 0);
        if (k > 0) {
            const bool in_order = out[k - 1].deadline < out[k].deadline ||
                                  (out[k - 1].deadline == out[k].deadline && out[k - 1].i < out[k].i);
            BOOST_TEST_REQUIRE(in_order, "timer " << out[k].i << " after timer " << out[k - 1].i);
        }
    }
}

BOOST_AUTO_TEST_CASE(one_shot_timers_sharing_a_deadline_cancel_themselves_and_their_successors) {
    // Each due timer cancels its own handle (a no-op: it is running) and the
    // next one's; every second timer runs, in arming order, and each callable
    // is gone after its turn.
    constexpr int n = 2'000;
    std::vector<vow::handle> handles(n);
    std::vector<int> order;
    const auto when = vow::reactor::clock::now() + 1ms;
    for (int i = 0; i < n; ++i)
        handles[std::size_t(i)] = r.call_at(when, [&, i] {
            order.push_back(i);
            BOOST_TEST(!handles[std::size_t(i)].active());
            handles[std::size_t(i)].cancel();
            if (i + 1 < n)
                handles[std::size_t(i) + 1].cancel();
        });
    run();
    BOOST_TEST_REQUIRE(order.size() == std::size_t(n / 2));
    for (int k = 0; k < n / 2; ++k)
        BOOST_TEST_REQUIRE(order[std::size_t(k)] == 2 * k);
    for (auto& h : handles) {
        BOOST_TEST(!h.active());
        h.cancel();  // after firing or cancelling: a no-op
    }
}

BOOST_AUTO_TEST_CASE(stop_from_a_timer_among_many_due_ones_keeps_the_rest_in_order_for_the_next_run) {
    constexpr int n = 3'000;
    std::vector<int> order;
    const auto when = vow::reactor::clock::now() + 1ms;
    for (int i = 0; i < n; ++i)
        (void)r.call_at(when, [&, i] {
            order.push_back(i);
            if (i == n / 3 || i == 2 * n / 3)
                r.stop();
        });
    run();
    BOOST_TEST(order.size() == std::size_t(n / 3 + 1));
    run();
    BOOST_TEST(order.size() == std::size_t(2 * n / 3 + 1));
    run();
    BOOST_TEST_REQUIRE(order.size() == std::size_t(n));
    for (int i = 0; i < n; ++i)
        BOOST_TEST_REQUIRE(order[std::size_t(i)] == i);
}

BOOST_AUTO_TEST_CASE(cancelling_every_timer_lets_run_return_at_once) {
    std::vector<vow::handle> hs;
    for (int i = 0; i < 5000; ++i)
        hs.push_back(r.call_later(1h, [] {}));
    for (auto& h : hs)
        h.cancel();
    BOOST_TEST(!r.run_once(false));  // nothing left to wait for
}

BOOST_AUTO_TEST_CASE(a_timer_armed_for_a_past_time_by_a_due_timer_waits_for_the_next_turn) {
    // b is due with a; a arms c for a time already past. c must not run in
    // the middle of this turn's timers, nor hold b back: b, then c.
    std::vector<char> order;
    const auto t0 = vow::reactor::clock::now() + 2ms;
    (void)r.call_at(t0, [&] {
        order.push_back('a');
        (void)r.call_at(t0 - 1h, [&] { order.push_back('c'); });
    });
    (void)r.call_at(t0, [&] { order.push_back('b'); });
    run();
    BOOST_TEST(order == (std::vector<char>{'a', 'b', 'c'}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_cancelled_timer_armed_for_a_past_time_by_a_due_timer_never_runs) {
    bool ran = false;
    vow::handle c;
    const auto t0 = vow::reactor::clock::now() + 2ms;
    (void)r.call_at(t0, [&] { c = r.call_at(t0 - 1h, [&] { ran = true; }); });
    (void)r.call_at(t0, [&] { c.cancel(); });
    run();
    BOOST_TEST(!ran);
}

BOOST_AUTO_TEST_CASE(a_periodic_timer_keeps_ticking_among_thousands_of_cancelled_timers) {
    int ticks = 0;
    vow::handle every;
    every = r.call_every(1ms, [&] {
        if (++ticks == 5)
            every.cancel();
    });
    for (int i = 0; i < 10'000; ++i)
        r.call_later(1h, [] {}).cancel();
    run();
    BOOST_TEST(ticks == 5);
}

BOOST_AUTO_TEST_SUITE_END()

// A cancelled timer's entry stays in the heap until it surfaces or the heap
// drops cancelled entries in bulk: arming and cancelling without ever
// running the loop must not accumulate them.
BOOST_AUTO_TEST_CASE(arming_and_cancelling_a_million_timers_without_running_keeps_memory_bounded,
                     *vow::test::memory_tests()) {
    vow::reactor r;
    // A live timer, so that the heap is never simply emptied.
    vow::handle live = r.call_later(1h, [] {});
    vow::test::memory_probe probe;
    for (int i = 0; i < 1'000'000; ++i) {
        vow::handle h = r.call_later(1h, [] {});
        h.cancel();
    }
    // Unbounded, this would be about 80 MB: a 64-byte node and a 16-byte
    // entry per timer.
    BOOST_TEST(probe.growth_kib() < 8 * 1024);
    BOOST_TEST(live.active());
    live.cancel();
    r.run();
}

BOOST_AUTO_TEST_CASE(arming_and_cancelling_a_million_timers_while_others_stay_armed_keeps_memory_bounded,
                     *vow::test::memory_tests()) {
    vow::reactor r;
    std::vector<vow::handle> live;
    for (int i = 0; i < 1000; ++i)
        live.push_back(r.call_later(1h, [] {}));
    vow::test::memory_probe probe;
    std::vector<vow::handle> batch;
    batch.reserve(1000);
    for (int round = 0; round < 1000; ++round) {
        for (int i = 0; i < 1000; ++i)
            batch.push_back(r.call_later(1h, [] {}));
        for (auto& h : batch)
            h.cancel();
        batch.clear();
    }
    BOOST_TEST(probe.growth_kib() < 8 * 1024);
    for (auto& h : live)
        h.cancel();
    r.run();
}

BOOST_AUTO_TEST_SUITE_END()  // many_timers_test
