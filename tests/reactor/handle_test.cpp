// vow::handle: active(), cancel() and moves.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>

BOOST_AUTO_TEST_SUITE(handle_test)

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(handle, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_default_handle_is_inactive_and_cancel_is_a_noop) {
    vow::handle h;
    BOOST_TEST(!h.active());
    BOOST_TEST(!static_cast<bool>(h));
    h.cancel();
    h.cancel();
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_one_shot_handle_is_active_until_its_callback_starts) {
    bool active_inside = true;
    vow::handle h;
    h = r.call_later(1ms, [&] { active_inside = h.active(); });
    BOOST_TEST(h.active());
    BOOST_TEST(static_cast<bool>(h));
    run();
    BOOST_TEST(!active_inside);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_periodic_handle_stays_active_until_cancelled) {
    int ticks = 0;
    bool active_in_ticks = true, active_after_cancel = true;
    vow::handle h;
    h = r.call_every(1ms, [&] {
        active_in_ticks = active_in_ticks && h.active();
        if (++ticks == 3) {
            h.cancel();
            active_after_cancel = h.active();
        }
    });
    run();
    BOOST_TEST(active_in_ticks);
    BOOST_TEST(!active_after_cancel);
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(a_watcher_handle_is_active_until_cancelled) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    vow::handle w = r.add_writer(fds[0], [&] {
        BOOST_TEST(w.active());
        w.cancel();
    });
    BOOST_TEST(w.active());
    run();
    BOOST_TEST(!w.active());
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(cancel_makes_a_handle_inactive_and_cancelling_twice_is_harmless) {
    bool fired = false;
    vow::handle h = r.call_later(1ms, [&] { fired = true; });
    h.cancel();
    BOOST_TEST(!h.active());
    h.cancel();
    BOOST_TEST(!h.active());
    run();
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(cancel_after_the_one_shot_ran_is_a_noop) {
    int fired = 0;
    vow::handle h = r.call_later(1ms, [&] { ++fired; });
    run();
    BOOST_TEST(fired == 1);
    h.cancel();
    BOOST_TEST(!h.active());
}

BOOST_AUTO_TEST_CASE(moving_a_handle_moves_the_reference) {
    bool fired = false;
    vow::handle a = r.call_later(1ms, [&] { fired = true; });
    vow::handle b(std::move(a));
    BOOST_TEST(!a.active());  // NOLINT(bugprone-use-after-move): moved-from is specified
    BOOST_TEST(b.active());
    a.cancel();  // a moved-from handle refers to nothing
    BOOST_TEST(b.active());
    vow::handle c;
    c = std::move(b);
    BOOST_TEST(!b.active());  // NOLINT(bugprone-use-after-move)
    BOOST_TEST(c.active());
    c.cancel();
    run();
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(move_assigning_over_a_handle_does_not_cancel_what_it_referred_to) {
    bool first = false, second = false;
    vow::handle h = r.call_later(1ms, [&] { first = true; });
    h = r.call_later(2ms, [&] { second = true; });
    run();
    BOOST_TEST(first);
    BOOST_TEST(second);
}

BOOST_AUTO_TEST_CASE(self_move_assignment_keeps_the_handle) {
    bool fired = false;
    vow::handle h = r.call_later(1ms, [&] { fired = true; });
    vow::handle& alias = h;
    h = std::move(alias);
    BOOST_TEST(h.active());
    h.cancel();
    run();
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(dropping_a_watcher_handle_does_not_cancel) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    int calls = 0;
    {
        // A reactor of its own, destroyed (freeing the uncancellable
        // watcher) before the fd it watches is closed.
        vow::reactor loop;
        {
            vow::handle dropped = loop.add_writer(fds[0], [&] {
                if (++calls == 2)
                    loop.stop();
            });
        }
        loop.run();
    }
    BOOST_TEST(calls == 2);
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // handle_test
