// call_soon: the reactor's FIFO of ready callbacks.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <cstddef>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

BOOST_AUTO_TEST_SUITE(call_soon_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(call_soon, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(call_soon_runs_callbacks_in_fifo_order) {
    // More than one block of the queue and more than one drain budget, so
    // the order survives both the block chain and a re-armed drain.
    constexpr int n = 10000;
    std::vector<int> order;
    order.reserve(n);
    for (int i = 0; i < n; ++i)
        r.call_soon([&order, i] { order.push_back(i); });
    run();
    BOOST_TEST_REQUIRE(order.size() == std::size_t(n));
    for (int i = 0; i < n; ++i)
        BOOST_TEST_REQUIRE(order[std::size_t(i)] == i);
}

BOOST_AUTO_TEST_CASE(call_soon_never_runs_inside_the_call) {
    bool ran_outside = false, ran_inside = false, checked = false;
    r.call_soon([&] { ran_outside = true; });
    BOOST_TEST(!ran_outside);
    r.call_soon([&] {
        r.call_soon([&] { ran_inside = true; });
        BOOST_TEST(!ran_inside);
        checked = true;
    });
    run();
    BOOST_TEST(ran_outside);
    BOOST_TEST(checked);
    BOOST_TEST(ran_inside);
}

BOOST_AUTO_TEST_CASE(callbacks_queued_by_a_callback_run_after_those_already_queued) {
    std::vector<int> order;
    r.call_soon([&] {
        order.push_back(1);
        r.call_soon([&] { order.push_back(3); });
    });
    r.call_soon([&] { order.push_back(2); });
    run();
    BOOST_TEST(order == (std::vector<int>{1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(large_callables_keep_their_place_in_the_queue) {
    // Callables too big for the inline buffer go to the heap; the queue
    // order must not depend on where the callable lives.
    struct big {
        std::vector<int>* order;
        int id;
        char pad[96] = {};
        void operator()() const { order->push_back(id); }
    };
    std::vector<int> order;
    r.call_soon([&] { order.push_back(0); });
    r.call_soon(big{&order, 1});
    r.call_soon([&] { order.push_back(2); });
    r.call_soon(big{&order, 3});
    run();
    BOOST_TEST(order == (std::vector<int>{0, 1, 2, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(queued_counts_callbacks_not_yet_run) {
    BOOST_TEST(r.queued() == 0u);
    r.call_soon([] {});
    r.call_soon([] {});
    BOOST_TEST(r.queued() == 2u);
    run();
    BOOST_TEST(r.queued() == 0u);
}

BOOST_AUTO_TEST_CASE(a_self_reposting_callback_does_not_starve_timers) {
    bool timer_ran = false;
    int reposts = 0;
    (void)r.call_later(0ms, [&] { timer_ran = true; });
    struct chain {
        vow::reactor* r;
        bool* timer_ran;
        int* reposts;
        void operator()() const {
            // Bounded, so a starving reactor fails the test instead of hanging.
            if (!*timer_ran && ++*reposts < 10'000'000)
                r->call_soon(*this);
        }
    };
    r.call_soon(chain{&r, &timer_ran, &reposts});
    run();
    BOOST_TEST(timer_ran);
    BOOST_TEST(reposts < 10'000'000);
}

BOOST_AUTO_TEST_CASE(a_self_reposting_callback_does_not_starve_readers) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    BOOST_TEST_REQUIRE(::write(fds[1], "x", 1) == 1);
    bool reader_ran = false;
    int reposts = 0;
    vow::handle reader = r.add_reader(fds[0], [&] {
        reader_ran = true;
        reader.cancel();
    });
    struct chain {
        vow::reactor* r;
        bool* reader_ran;
        int* reposts;
        void operator()() const {
            if (!*reader_ran && ++*reposts < 10'000'000)
                r->call_soon(*this);
        }
    };
    r.call_soon(chain{&r, &reader_ran, &reposts});
    run();
    BOOST_TEST(reader_ran);
    BOOST_TEST(reposts < 10'000'000);
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // call_soon_test
