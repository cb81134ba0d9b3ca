// Destroying a reactor: every pending callable is destroyed, none runs, and
// handles that outlive it become inert.
#include <vow/reactor/reactor.hpp>

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <memory>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

BOOST_AUTO_TEST_SUITE(destroy_frees_pending_callables_test)

using namespace std::chrono_literals;

namespace {

struct counters {
    int runs = 0;
    int destroyed = 0;
};

// Counts its runs and the destruction of the live callable (not of moved-from
// shells). `Pad` pushes it out of the inline buffer onto the heap.
template <std::size_t Pad = 0>
struct tracked {
    counters* c;
    unsigned char pad[Pad + 1] = {};
    explicit tracked(counters& cs) : c(&cs) {}
    tracked(tracked&& o) noexcept : c(std::exchange(o.c, nullptr)) {}
    tracked(const tracked&) = delete;
    tracked& operator=(const tracked&) = delete;
    tracked& operator=(tracked&&) = delete;
    ~tracked() {
        if (c)
            ++c->destroyed;
    }
    void operator()() const { ++c->runs; }
};

struct socket_pair {
    int fds[2] = {-1, -1};
    socket_pair() { BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0); }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(teardown)

BOOST_AUTO_TEST_CASE(destroying_an_unused_reactor_is_fine) { vow::reactor r; }

BOOST_AUTO_TEST_CASE(destroying_a_reactor_frees_every_pending_callable_and_runs_none) {
    socket_pair sp;  // outlives the reactor, as the watchers require
    BOOST_TEST_REQUIRE(::write(sp.fds[1], "x", 1) == 1);  // the reader is ready
    counters c;
    {
        vow::reactor r;
        for (int i = 0; i < 300; ++i) {  // more than one block of the queue
            r.call_soon(tracked<>(c));
            r.call_soon(tracked<100>(c));
        }
        (void)r.call_later(0ms, tracked<>(c));
        (void)r.call_later(1h, tracked<100>(c));
        (void)r.call_every(1ms, tracked<>(c));
        (void)r.add_reader(sp.fds[0], tracked<>(c));
        (void)r.add_writer(sp.fds[0], tracked<100>(c));
        (void)r.add_signal_handler(SIGUSR1, tracked<>(c));
        std::thread([&] {
            for (int i = 0; i < 10; ++i)
                r.call_soon_threadsafe(tracked<>(c));
        }).join();
        BOOST_TEST(c.destroyed == 0);
    }
    BOOST_TEST(c.runs == 0);
    BOOST_TEST(c.destroyed == 600 + 6 + 10);
}

BOOST_AUTO_TEST_CASE(destroying_a_stopped_reactor_frees_what_stayed_queued) {
    counters c;
    {
        vow::reactor r;
        r.call_soon([&] { r.stop(); });
        r.call_soon(tracked<>(c));
        (void)r.call_later(0ms, tracked<>(c));
        r.run();
        BOOST_TEST(c.runs == 0);
    }
    BOOST_TEST(c.runs == 0);
    BOOST_TEST(c.destroyed == 2);
}

BOOST_AUTO_TEST_CASE(destroying_a_reactor_with_cancelled_timers_still_in_its_heap_frees_each_once) {
    // Cancelled timers leave their heap entry behind until it surfaces (or
    // until they outnumber the live ones): teardown must free both kinds of
    // node once, and every callable once.
    counters c;
    std::vector<vow::handle> handles;
    {
        vow::reactor r;
        for (int i = 0; i < 1'500; ++i)
            handles.push_back(r.call_later(1h + std::chrono::milliseconds(i), tracked<>(c)));
        for (int i = 0; i < 1'500; i += 2)
            handles[std::size_t(i)].cancel();  // 750 stale entries: fewer than the live ones
        BOOST_TEST(c.destroyed == 750);
        (void)r.call_every(1h, tracked<100>(c));
    }
    BOOST_TEST(c.runs == 0);
    BOOST_TEST(c.destroyed == 1'501);
    for (auto& h : handles) {
        BOOST_TEST(!h.active());
        h.cancel();
    }
}

BOOST_AUTO_TEST_CASE(destroying_a_reactor_stopped_inside_a_batch_of_posts_frees_the_rest_once) {
    counters c;
    {
        vow::reactor r;
        std::thread([&] {
            r.call_soon_threadsafe([&] { r.stop(); });
            for (int i = 0; i < 300; ++i)
                r.call_soon_threadsafe(tracked<>(c));
        }).join();
        r.run();
        BOOST_TEST(r.stopped());
        r.call_soon_threadsafe(tracked<100>(c));  // not taken yet
        BOOST_TEST(c.destroyed == 0);
    }
    BOOST_TEST(c.runs == 0);
    BOOST_TEST(c.destroyed == 301);
}

BOOST_AUTO_TEST_CASE(a_handle_outliving_its_reactor_is_inactive_and_cancel_is_a_noop) {
    counters c;
    vow::handle once, every, reader;
    socket_pair sp;
    {
        vow::reactor r;
        once = r.call_later(1h, tracked<>(c));
        every = r.call_every(1h, tracked<>(c));
        reader = r.add_reader(sp.fds[0], tracked<>(c));
        BOOST_TEST(once.active());
        BOOST_TEST(every.active());
        BOOST_TEST(reader.active());
    }
    BOOST_TEST(c.destroyed == 3);
    BOOST_TEST(!once.active());
    BOOST_TEST(!every.active());
    BOOST_TEST(!reader.active());
    once.cancel();
    every.cancel();
    reader.cancel();
    BOOST_TEST(c.destroyed == 3);
    BOOST_TEST(c.runs == 0);
    // Moving and destroying them afterwards is also fine.
    vow::handle moved(std::move(once));
    BOOST_TEST(!moved.active());
}

BOOST_AUTO_TEST_CASE(a_handle_cancelled_before_teardown_is_not_freed_twice) {
    counters c;
    vow::handle h;
    {
        vow::reactor r;
        h = r.call_later(1h, tracked<>(c));
        h.cancel();
        BOOST_TEST(c.destroyed == 1);
    }
    BOOST_TEST(c.destroyed == 1);
    h.cancel();
}

BOOST_AUTO_TEST_CASE(a_callable_whose_destructor_posts_more_work_during_teardown_is_handled) {
    // A promise destroyed unsettled rejects its future: its destructor queues
    // work on the very reactor that is being torn down. That work must be
    // destroyed too, and never run.
    counters posted;
    int owners_destroyed = 0;
    struct posts_on_destroy {
        vow::reactor* r;
        counters* posted;
        int* destroyed;
        posts_on_destroy(vow::reactor& rr, counters& p, int& d)
            : r(&rr), posted(&p), destroyed(&d) {}
        posts_on_destroy(posts_on_destroy&& o) noexcept
            : r(std::exchange(o.r, nullptr)), posted(o.posted), destroyed(o.destroyed) {}
        ~posts_on_destroy() {
            if (!r)
                return;
            ++*destroyed;
            r->call_soon(tracked<>(*posted));
            r->call_soon_threadsafe(tracked<100>(*posted));
            (void)r->call_later(0ms, tracked<>(*posted));
        }
        void operator()() const {}
    };
    {
        vow::reactor r;
        r.call_soon(posts_on_destroy(r, posted, owners_destroyed));
        (void)r.call_later(1h, posts_on_destroy(r, posted, owners_destroyed));
        (void)r.call_every(1h, posts_on_destroy(r, posted, owners_destroyed));
        std::thread([&] {
            r.call_soon_threadsafe(posts_on_destroy(r, posted, owners_destroyed));
        }).join();
    }
    BOOST_TEST(owners_destroyed == 4);
    BOOST_TEST(posted.runs == 0);
    BOOST_TEST(posted.destroyed == 4 * 3);
}

BOOST_AUTO_TEST_CASE(
    a_callable_whose_destructor_cancels_another_handle_during_teardown_is_handled) {
    counters c;
    struct cancels_on_destroy {
        std::shared_ptr<vow::handle> other;
        void operator()() const {}
        ~cancels_on_destroy() {
            if (other)
                other->cancel();
        }
    };
    {
        vow::reactor r;
        auto a = std::make_shared<vow::handle>();
        auto b = std::make_shared<vow::handle>();
        *a = r.call_later(1h, tracked<>(c));
        *b = r.call_later(1h, tracked<>(c));
        // Each watcher's callable cancels one of the timers when it dies.
        (void)r.call_later(2h, cancels_on_destroy{a});
        (void)r.call_every(1h, cancels_on_destroy{b});
    }
    BOOST_TEST(c.runs == 0);
    BOOST_TEST(c.destroyed == 2);
}

BOOST_AUTO_TEST_CASE(a_periodic_callable_holding_its_own_handle_is_freed) {
    // A cycle: the node owns the callable, which owns the handle to the node.
    counters c;
    {
        vow::reactor r;
        auto self = std::make_shared<vow::handle>();
        struct holder {
            std::shared_ptr<vow::handle> self;
            tracked<> t;
            void operator()() { t(); }
        };
        *self = r.call_every(1h, holder{self, tracked<>(c)});
    }
    BOOST_TEST(c.destroyed == 1);
    BOOST_TEST(c.runs == 0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // destroy_frees_pending_callables_test
