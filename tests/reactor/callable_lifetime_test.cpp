// What the reactor does with a callable: moved or copied in, destroyed on the
// reactor's thread right after it runs (one-shots), on cancel, or with the
// reactor; never twice.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <cstddef>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>

BOOST_AUTO_TEST_SUITE(callable_lifetime_test)

using namespace std::chrono_literals;

namespace {

struct counters {
    int runs = 0;
    int destroyed = 0;  // live callables destroyed (moved-from shells do not count)
    int copies = 0;
    std::thread::id destroyed_on;
};

// A callable that counts its runs and its destruction. `Pad` makes it too big
// for the task's inline buffer, to cover the heap path as well.
template <std::size_t Pad = 0>
struct tracked {
    counters* c;
    unsigned char pad[Pad + 1] = {};

    explicit tracked(counters& cs) : c(&cs) {}
    tracked(tracked&& o) noexcept : c(std::exchange(o.c, nullptr)) {}
    tracked(const tracked& o) : c(o.c) { ++c->copies; }
    tracked& operator=(const tracked&) = delete;
    tracked& operator=(tracked&&) = delete;
    ~tracked() {
        if (c) {
            ++c->destroyed;
            c->destroyed_on = std::this_thread::get_id();
        }
    }
    void operator()() const { ++c->runs; }
};

using small = tracked<0>;
using large = tracked<100>;

}  // namespace

BOOST_FIXTURE_TEST_SUITE(callable_lifetime, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_call_soon_callable_is_destroyed_right_after_it_runs) {
    counters s, l;
    int destroyed_seen_by_next = -1;
    r.call_soon(small(s));
    r.call_soon(large(l));
    r.call_soon([&] { destroyed_seen_by_next = s.destroyed + l.destroyed; });
    BOOST_TEST(s.destroyed == 0);
    BOOST_TEST(l.destroyed == 0);
    run();
    BOOST_TEST(s.runs == 1);
    BOOST_TEST(l.runs == 1);
    BOOST_TEST(destroyed_seen_by_next == 2);
    BOOST_TEST(s.destroyed == 1);
    BOOST_TEST(l.destroyed == 1);
}

BOOST_AUTO_TEST_CASE(an_lvalue_callable_is_copied_and_the_original_kept) {
    counters c;
    {
        small original(c);
        r.call_soon(original);
        BOOST_TEST(c.copies == 1);
        run();
        BOOST_TEST(c.runs == 1);
        BOOST_TEST(c.destroyed == 1);  // the copy
    }
    BOOST_TEST(c.destroyed == 2);  // and the original, by us
}

BOOST_AUTO_TEST_CASE(a_one_shot_timer_callable_is_destroyed_right_after_it_runs) {
    counters s, l;
    int destroyed_seen_by_next = -1;
    (void)r.call_later(1ms, small(s));
    (void)r.call_later(1ms, large(l));
    (void)r.call_later(10ms, [&] { destroyed_seen_by_next = s.destroyed + l.destroyed; });
    run();
    BOOST_TEST(s.runs == 1);
    BOOST_TEST(l.runs == 1);
    BOOST_TEST(destroyed_seen_by_next == 2);
}

BOOST_AUTO_TEST_CASE(a_one_shot_callable_is_destroyed_before_its_handle) {
    counters c;
    vow::handle h = r.call_later(1ms, small(c));
    run();
    BOOST_TEST(c.runs == 1);
    BOOST_TEST(c.destroyed == 1);  // while h still lives
}

BOOST_AUTO_TEST_CASE(cancel_destroys_the_callable_at_once_without_running_it) {
    counters s, l, e;
    vow::handle hs = r.call_later(1ms, small(s));
    vow::handle hl = r.call_later(1ms, large(l));
    vow::handle he = r.call_every(1ms, small(e));
    hs.cancel();
    hl.cancel();
    he.cancel();
    BOOST_TEST(s.destroyed == 1);
    BOOST_TEST(l.destroyed == 1);
    BOOST_TEST(e.destroyed == 1);
    hs.cancel();
    BOOST_TEST(s.destroyed == 1);  // never twice
    run();
    BOOST_TEST(s.runs + l.runs + e.runs == 0);
}

BOOST_AUTO_TEST_CASE(a_periodic_callable_is_kept_between_ticks) {
    counters c;
    vow::handle h = r.call_every(1ms, small(c));
    vow::handle stopper;
    stopper = r.call_every(1ms, [&] {
        if (c.runs >= 3) {
            BOOST_TEST(c.destroyed == 0);
            h.cancel();
            BOOST_TEST(c.destroyed == 1);
            stopper.cancel();
        }
    });
    run();
    BOOST_TEST(c.runs >= 3);
    BOOST_TEST(c.destroyed == 1);
}

BOOST_AUTO_TEST_CASE(
    a_periodic_callable_cancelled_from_inside_is_destroyed_right_after_it_returns) {
    // The callable cancels its own timer; it must survive to the end of that
    // call (its captures are still in use) and be destroyed just after.
    struct self_cancelling {
        counters* c;
        vow::handle* h;
        bool* alive_at_end;
        self_cancelling(counters& cs, vow::handle& hh, bool& a)
            : c(&cs), h(&hh), alive_at_end(&a) {}
        self_cancelling(self_cancelling&& o) noexcept
            : c(std::exchange(o.c, nullptr)), h(o.h), alive_at_end(o.alive_at_end) {}
        ~self_cancelling() {
            if (c)
                ++c->destroyed;
        }
        void operator()() const {
            if (++c->runs == 2) {
                h->cancel();
                *alive_at_end = c->destroyed == 0;
            }
        }
    };
    counters c;
    bool alive_at_end = false;
    int destroyed_seen_by_next = -1;
    vow::handle h;
    h = r.call_every(1ms, self_cancelling(c, h, alive_at_end));
    (void)r.call_later(50ms, [&] { destroyed_seen_by_next = c.destroyed; });
    run();
    BOOST_TEST(c.runs == 2);
    BOOST_TEST(alive_at_end);
    BOOST_TEST(destroyed_seen_by_next == 1);
    BOOST_TEST(c.destroyed == 1);
}

BOOST_AUTO_TEST_CASE(a_watcher_callable_is_destroyed_on_cancel) {
    int fds[2];
    BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    counters rd, wr;
    vow::handle reader = r.add_reader(fds[0], small(rd));
    vow::handle writer = r.add_writer(fds[0], large(wr));
    reader.cancel();
    writer.cancel();
    BOOST_TEST(rd.destroyed == 1);
    BOOST_TEST(wr.destroyed == 1);
    run();
    BOOST_TEST(rd.runs + wr.runs == 0);
    ::close(fds[0]);
    ::close(fds[1]);
}

BOOST_AUTO_TEST_CASE(a_threadsafe_post_is_run_and_destroyed_on_the_reactor_thread) {
    counters c;
    std::thread poster([&] { r.call_soon_threadsafe(large(c)); });
    poster.join();
    run();
    BOOST_TEST(c.runs == 1);
    BOOST_TEST(c.destroyed == 1);
    BOOST_TEST((c.destroyed_on == std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(a_callable_outliving_a_stopped_run_is_destroyed_with_the_reactor) {
    counters c;
    {
        vow::reactor loop;
        loop.call_soon([&] { loop.stop(); });
        loop.call_soon(small(c));
        loop.run();
        BOOST_TEST(c.runs == 0);
        BOOST_TEST(c.destroyed == 0);
    }
    BOOST_TEST(c.runs == 0);
    BOOST_TEST(c.destroyed == 1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // callable_lifetime_test
