// call_every(period, fn, token): a periodic timer that a std::stop_token also
// cancels, from any thread.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <vow/error.hpp>
#include <vow/reactor/reactor.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stop_token>
#include <thread>
#include <utility>

BOOST_AUTO_TEST_SUITE(call_every_stop_token_test)

using namespace std::chrono_literals;

namespace {

// A callable that records where and how often it was destroyed (moved-from
// copies do not count) and how often it ran.
struct probe {
    struct record {
        int ran = 0;
        int destroyed = 0;
        std::thread::id destroyed_on;
    };
    std::shared_ptr<record> rec;
    explicit probe(std::shared_ptr<record> r) : rec(std::move(r)) {}
    probe(probe&& o) noexcept : rec(std::move(o.rec)) {}
    probe(const probe& o) = default;
    ~probe() {
        if (rec) {
            ++rec->destroyed;
            rec->destroyed_on = std::this_thread::get_id();
        }
    }
    void operator()() { ++rec->ran; }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(call_every_stop_token, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_stop_before_the_first_tick_means_no_tick_and_the_callable_is_destroyed) {
    auto rec = std::make_shared<probe::record>();
    std::stop_source stop;
    // The stop is handled on a later turn, so a period the loop could reach
    // first (under valgrind, starting run() takes tens of ms) would tick.
    vow::handle h = r.call_every(1h, probe(rec), stop.get_token());
    BOOST_TEST(h.active());
    stop.request_stop();
    run();  // idle once the stop has cancelled the timer
    BOOST_TEST(rec->ran == 0);
    BOOST_TEST(rec->destroyed == 1);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_stop_from_another_thread_while_ticking_destroys_the_callable_on_the_reactors_thread) {
    auto rec = std::make_shared<probe::record>();
    std::atomic<int> ticks{0};
    std::stop_source stop;
    vow::handle h = r.call_every(
        1ms,
        [&ticks, p = probe(rec)]() mutable {
            p();
            ++ticks;
        },
        stop.get_token());
    std::thread stopper([&] {
        while (ticks.load() < 3)
            std::this_thread::sleep_for(100us);
        stop.request_stop();
    });
    // The timer keeps run() going; only the stop can end it.
    run();
    stopper.join();
    BOOST_TEST(rec->ran >= 3);
    BOOST_TEST(rec->destroyed == 1);
    BOOST_TEST((rec->destroyed_on == std::this_thread::get_id()));
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_stop_requested_inside_the_callback_ends_the_ticks_on_the_next_turn) {
    int ticks = 0;
    std::stop_source stop;
    vow::handle h = r.call_every(
        1ms,
        [&] {
            if (++ticks == 2)
                stop.request_stop();
        },
        stop.get_token());
    run();
    BOOST_TEST(ticks == 2);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(cancel_then_stop_is_harmless) {
    auto rec = std::make_shared<probe::record>();
    std::stop_source stop;
    vow::handle h = r.call_every(1ms, probe(rec), stop.get_token());
    h.cancel();
    BOOST_TEST(rec->destroyed == 1);
    std::thread([&] { stop.request_stop(); }).join();
    run();
    BOOST_TEST(rec->ran == 0);
    BOOST_TEST(rec->destroyed == 1);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_stop_posted_but_not_yet_run_when_the_handle_is_cancelled_does_nothing) {
    auto rec = std::make_shared<probe::record>();
    std::stop_source stop;
    vow::handle h = r.call_every(1h, probe(rec), stop.get_token());
    stop.request_stop();  // posts the cancellation to the loop
    h.cancel();           // which then finds the timer gone
    run();
    BOOST_TEST(rec->destroyed == 1);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(an_already_stopped_token_schedules_nothing_and_returns_an_inactive_handle) {
    auto rec = std::make_shared<probe::record>();
    std::stop_source stop;
    stop.request_stop();
    vow::handle h = r.call_every(1ms, probe(rec), stop.get_token());
    BOOST_TEST(!h.active());
    BOOST_TEST(rec->destroyed == 1);  // at once, inside the call
    run();
    BOOST_TEST(rec->ran == 0);
}

BOOST_AUTO_TEST_CASE(a_token_that_cannot_stop_ticks_like_plain_call_every) {
    int ticks = 0;
    vow::handle h;
    h = r.call_every(
        1ms,
        [&] {
            if (++ticks == 3)
                h.cancel();
        },
        std::stop_token{});
    run();
    BOOST_TEST(ticks == 3);
}

BOOST_AUTO_TEST_CASE(a_bad_period_throws_even_with_a_stopped_token) {
    std::stop_source stop;
    stop.request_stop();
    BOOST_CHECK_THROW((void)r.call_every(0ms, [] {}, stop.get_token()), vow::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(a_reactor_destroyed_with_the_link_alive_frees_everything_and_a_later_stop_is_harmless) {
    // Run under ASan or valgrind, this also proves the timer node, the link
    // and the callable are freed: no ownership cycle keeps them.
    auto rec = std::make_shared<probe::record>();
    std::stop_source stop;
    vow::handle h;
    {
        vow::reactor r;
        h = r.call_every(1h, probe(rec), stop.get_token());
        BOOST_TEST(h.active());
    }
    BOOST_TEST(rec->destroyed == 1);
    BOOST_TEST(!h.active());
    std::thread([&] { stop.request_stop(); }).join();
    h.cancel();
}

BOOST_AUTO_TEST_CASE(a_reactor_destroyed_with_a_stop_posted_but_not_yet_run_frees_everything) {
    auto rec = std::make_shared<probe::record>();
    std::stop_source stop;
    {
        vow::reactor r;
        (void)r.call_every(1h, probe(rec), stop.get_token());
        std::thread([&] { stop.request_stop(); }).join();  // queued, never run
    }
    BOOST_TEST(rec->destroyed == 1);
    BOOST_TEST(rec->ran == 0);
}

BOOST_AUTO_TEST_SUITE_END()
