// vow::fd_watcher: readiness on a socketpair, start/stop/restart, stopping
// and destroying from inside the callback, and the same exception report,
// slow-callback timing and liveness as every reactor callback.
#include <boost/test/unit_test.hpp>
#include <expect_abort.hpp>
#include <reactor_fixture.hpp>

#include <vow/reactor/fd_watcher.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

BOOST_AUTO_TEST_SUITE(fd_watcher_test)

using namespace std::chrono_literals;
using vow::fd_watcher;
using vow::io_events;

namespace {

// Two connected, non-blocking stream sockets, closed at the end of the scope.
// Declare it before anything that watches it, so it is closed last.
struct socket_pair {
    int fds[2] = {-1, -1};
    socket_pair() { BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0); }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        ::close(fds[0]);
        ::close(fds[1]);
    }
    int ours() const { return fds[0]; }
    int peer() const { return fds[1]; }
};

std::string read_some(int fd) {
    char buf[256];
    auto n = ::read(fd, buf, sizeof buf);
    return n > 0 ? std::string(buf, std::size_t(n)) : std::string();
}

// Fills `fd`'s send buffer until the kernel refuses more.
void fill(int fd) {
    char chunk[4096] = {};
    while (::write(fd, chunk, sizeof chunk) > 0) {
    }
}

// A watcher's owner, as library code has one: a member callback that
// records each call and runs an optional step.
struct recorder {
    std::vector<io_events> calls;
    std::function<void(io_events)> step;
    void on_ready(io_events ready) {
        calls.push_back(ready);
        if (step)
            step(ready);
    }
    std::size_t count(io_events e) const {
        std::size_t n = 0;
        for (auto c : calls)
            n += c == e ? 1 : 0;
        return n;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(fd_watcher_suite, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(a_readable_watcher_fires_once_the_peer_writes_and_says_readable) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    bool written = false;
    std::string got;
    rec.step = [&](io_events) {
        BOOST_TEST(written);   // not readable before the write
        got = read_some(sp.ours());
        w.stop();
    };
    w.start(io_events::readable);
    BOOST_TEST((w.events() == io_events::readable));
    (void)r.call_later(5ms, [&] {
        written = true;
        BOOST_TEST(::write(sp.peer(), "ping", 4) == 4);
    });
    run();
    BOOST_TEST(got == "ping");
    BOOST_TEST_REQUIRE(rec.calls.size() == 1u);
    BOOST_TEST((rec.calls[0] == io_events::readable));
}

BOOST_AUTO_TEST_CASE(a_writable_watcher_fires_while_there_is_room_and_says_writable) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        BOOST_TEST(::write(sp.ours(), "w", 1) == 1);
        if (rec.calls.size() == 3)
            w.stop();
    };
    w.start(io_events::writable);
    run();
    BOOST_TEST(rec.count(io_events::writable) == 3u);
    BOOST_TEST(rec.calls.size() == 3u);
    BOOST_TEST(read_some(sp.peer()) == "www");
}

BOOST_AUTO_TEST_CASE(a_full_socket_is_not_writable_until_the_peer_drains_it) {
    socket_pair sp;
    fill(sp.ours());
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    bool drained = false, fired_after_drain = false;
    rec.step = [&](io_events) {
        fired_after_drain = drained;
        w.stop();
    };
    w.start(io_events::writable);
    (void)r.call_later(5ms, [&] {
        drained = true;
        char buf[4096];
        while (::read(sp.peer(), buf, sizeof buf) > 0) {
        }
    });
    run();
    BOOST_TEST(fired_after_drain);
}

BOOST_AUTO_TEST_CASE(the_watcher_is_level_triggered_until_the_data_is_read) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        if (rec.calls.size() == 3) {   // left unread twice: it fired again
            BOOST_TEST(read_some(sp.ours()) == "x");
            w.stop();
        }
    };
    w.start(io_events::readable);
    run();
    BOOST_TEST(rec.calls.size() == 3u);
}

BOOST_AUTO_TEST_CASE(both_events_are_reported_each_in_its_own_call) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events ready) { w.stop(ready); };   // each once
    w.start(io_events::both);
    BOOST_TEST((w.events() == io_events::both));
    run();
    BOOST_TEST(rec.count(io_events::readable) == 1u);
    BOOST_TEST(rec.count(io_events::writable) == 1u);
    BOOST_TEST(rec.calls.size() == 2u);
    BOOST_TEST(!w.active());
}

BOOST_AUTO_TEST_CASE(stop_of_one_event_keeps_the_other) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    w.start(io_events::both);
    w.stop(io_events::readable);
    BOOST_TEST((w.events() == io_events::writable));
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    rec.step = [&](io_events) { w.stop(); };
    run();
    BOOST_TEST_REQUIRE(rec.calls.size() == 1u);
    BOOST_TEST((rec.calls[0] == io_events::writable));
}

BOOST_AUTO_TEST_CASE(start_replaces_what_the_watcher_waits_for) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    w.start(io_events::writable);
    w.start(io_events::readable);   // not writable any more
    BOOST_TEST((w.events() == io_events::readable));
    w.start(io_events::none);
    BOOST_TEST(!w.active());
    run();   // nothing is watched: returns at once
    BOOST_TEST(rec.calls.empty());
}

BOOST_AUTO_TEST_CASE(a_stopped_watcher_never_fires) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    w.start(io_events::readable);
    w.stop();
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    run();   // nothing armed: returns at once
    BOOST_TEST(rec.calls.empty());
}

BOOST_AUTO_TEST_CASE(stopping_from_another_callback_stops_it) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    std::size_t calls_at_stop = 0;
    rec.step = [&](io_events) {
        // Never reads, so it would fire on every turn until stopped.
        if (rec.calls.size() == 2)
            r.call_soon([&] {
                calls_at_stop = rec.calls.size();
                w.stop();
            });
    };
    w.start(io_events::readable);
    run();
    BOOST_TEST(calls_at_stop >= 2u);
    BOOST_TEST(rec.calls.size() == calls_at_stop);
}

BOOST_AUTO_TEST_CASE(a_watcher_can_be_restarted_after_a_stop) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        (void)read_some(sp.ours());
        w.stop();
        if (rec.calls.size() == 1)
            (void)r.call_later(2ms, [&] {
                BOOST_TEST_REQUIRE(::write(sp.peer(), "2", 1) == 1);
                w.start(io_events::readable);
            });
    };
    BOOST_TEST_REQUIRE(::write(sp.peer(), "1", 1) == 1);
    w.start(io_events::readable);
    run();
    BOOST_TEST(rec.calls.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_watcher_can_stop_and_restart_itself_inside_its_callback) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        w.stop();
        if (rec.calls.size() < 3)
            w.start(io_events::readable);   // still readable: fires again next turn
    };
    w.start(io_events::readable);
    run();
    BOOST_TEST(rec.calls.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_watcher_can_destroy_itself_inside_its_callback) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder rec;
    std::optional<fd_watcher> w;
    w.emplace(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    // Readable and writable in the same turn: the first call destroys the
    // watcher, and the second, already found ready, must not run (under
    // ASan a use after free would show here).
    rec.step = [&](io_events) { w.reset(); };
    w->start(io_events::both);
    run();
    BOOST_TEST(rec.calls.size() == 1u);
    BOOST_TEST(!w);
}

BOOST_AUTO_TEST_CASE(a_watcher_stopped_by_an_earlier_callback_of_the_same_turn_never_runs) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder a, b;
    fd_watcher wa(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&a));
    fd_watcher wb(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&b));
    // Both become ready in the same turn; whichever runs first stops both.
    a.step = b.step = [&](io_events) {
        wa.stop();
        wb.stop();
    };
    wa.start(io_events::readable);
    wb.start(io_events::readable);
    run();
    BOOST_TEST(a.calls.size() + b.calls.size() == 1u);
}

BOOST_AUTO_TEST_CASE(an_exception_from_the_callback_goes_to_the_exception_handler_and_the_loop_goes_on) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    recorder rec;
    fd_watcher w(r, sp.ours(), "pipe_reader callback", fd_watcher::bind<&recorder::on_ready>(&rec));
    bool later_ran = false;
    rec.step = [&](io_events) {
        if (rec.calls.size() == 1)
            throw std::runtime_error("failed on purpose");
        w.stop();   // the watcher stayed started through the throw
    };
    w.start(io_events::readable);
    r.call_soon([&] { later_ran = true; });
    run();
    BOOST_TEST(later_ran);
    BOOST_TEST(rec.calls.size() == 2u);
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "pipe_reader callback: failed on purpose");
    reported.clear();
}

BOOST_AUTO_TEST_CASE(an_unnamed_watcher_is_reported_as_fd_watcher_callback) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        w.stop();
        throw std::runtime_error("x");
    };
    w.start(io_events::writable);
    run();
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "fd watcher callback: x");
    reported.clear();
}

BOOST_AUTO_TEST_CASE(a_slow_callback_is_reported_to_the_slow_callback_handler_with_its_name) {
    socket_pair sp;
    std::vector<std::pair<vow::reactor::duration, std::string>> slow;
    r.set_slow_callback_handler(
        [&](vow::reactor::duration took, std::string_view where) { slow.emplace_back(took, std::string(where)); });
    r.set_slow_callback_duration(5ms);
    recorder rec;
    fd_watcher w(r, sp.ours(), "slow reader", fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        w.stop();
        std::this_thread::sleep_for(20ms);
    };
    w.start(io_events::writable);
    run();
    BOOST_TEST_REQUIRE(slow.size() == 1u);
    BOOST_TEST((slow[0].first >= 20ms));
    BOOST_TEST(slow[0].second == "slow reader");
}

BOOST_AUTO_TEST_CASE(a_slow_throwing_callback_is_reported_as_slow_and_as_an_error) {
    socket_pair sp;
    std::vector<std::string> slow;
    r.set_slow_callback_handler([&](vow::reactor::duration, std::string_view where) { slow.emplace_back(where); });
    r.set_slow_callback_duration(5ms);
    recorder rec;
    fd_watcher w(r, sp.ours(), "slow reader", fd_watcher::bind<&recorder::on_ready>(&rec));
    rec.step = [&](io_events) {
        w.stop();
        std::this_thread::sleep_for(20ms);
        throw std::runtime_error("slow and wrong");
    };
    w.start(io_events::writable);
    run();
    BOOST_TEST(slow == std::vector<std::string>{"slow reader"}, boost::test_tools::per_element());
    BOOST_TEST_REQUIRE(reported.size() == 1u);
    BOOST_TEST(reported[0] == "slow reader: slow and wrong");
    reported.clear();
}

BOOST_AUTO_TEST_CASE(the_callback_sees_the_loop_time_refreshed) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    vow::reactor::time_point before{}, seen{};
    rec.step = [&](io_events) {
        seen = r.now();
        w.stop();
    };
    r.call_soon([&] {
        std::this_thread::sleep_for(5ms);   // the loop's time goes stale meanwhile
        before = vow::reactor::clock::now();
        w.start(io_events::writable);
    });
    run();
    BOOST_TEST((seen >= before));
}

BOOST_AUTO_TEST_CASE(a_started_watcher_keeps_run_running_and_run_returns_once_it_is_stopped) {
    socket_pair sp;
    recorder rec;
    fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
    std::string got;
    rec.step = [&](io_events) {
        got = read_some(sp.ours());
        w.stop();   // nothing else is left: run() returns
    };
    w.start(io_events::readable);
    // Nothing but the watcher is armed: only it can keep run() from
    // returning before the other thread writes.
    ssize_t wrote = 0;
    std::thread writer([&] {
        std::this_thread::sleep_for(30ms);
        wrote = ::write(sp.peer(), "late", 4);
    });
    run();
    writer.join();
    BOOST_TEST(wrote == 4);
    BOOST_TEST(got == "late");
}

BOOST_AUTO_TEST_CASE(the_watcher_does_not_own_the_fd) {
    socket_pair sp;
    {
        recorder rec;
        fd_watcher w(r, sp.ours(), fd_watcher::bind<&recorder::on_ready>(&rec));
        w.start(io_events::readable);
    }   // destroyed started: stops
    BOOST_TEST(::fcntl(sp.ours(), F_GETFD) != -1);
    run();   // nothing left armed
}

BOOST_AUTO_TEST_CASE(a_plain_function_and_context_work_as_the_callback) {
    socket_pair sp;
    struct ctx {
        fd_watcher* w = nullptr;
        int calls = 0;
    } c;
    fd_watcher w(r, sp.ours(), fd_watcher::callback{[](void* p, io_events) {
                                       auto* self = static_cast<ctx*>(p);
                                       ++self->calls;
                                       self->w->stop();
                                   },
                                   &c});
    c.w = &w;
    w.start(io_events::writable);
    run();
    BOOST_TEST(c.calls == 1);
}

BOOST_AUTO_TEST_CASE(a_fd_the_system_cannot_watch_throws_reactor_error_and_leaves_the_watcher_stopped) {
    // epoll refuses regular files (EPERM).
    std::FILE* file = std::tmpfile();
    BOOST_TEST_REQUIRE(file != nullptr);
    recorder rec;
    fd_watcher w(r, ::fileno(file), "file watcher", fd_watcher::bind<&recorder::on_ready>(&rec));
    try {
        w.start(io_events::readable);
        BOOST_FAIL("start() accepted a regular file");
    } catch (const vow::reactor_error& e) {
        std::string what = e.what();
        BOOST_TEST(what.find("vow::fd_watcher::start: cannot watch fd " + std::to_string(::fileno(file))) == 0u,
                   what);
        BOOST_TEST(what.find("file watcher") != std::string::npos, what);
    }
    BOOST_TEST(!w.active());
    BOOST_TEST(w.try_start(io_events::writable) == EPERM);
    BOOST_TEST(!w.active());
    std::fclose(file);
}

BOOST_AUTO_TEST_CASE(bad_arguments_throw_invalid_argument) {
    recorder rec;
    BOOST_CHECK_THROW(fd_watcher(r, -1, fd_watcher::bind<&recorder::on_ready>(&rec)), vow::invalid_argument);
    BOOST_CHECK_THROW(fd_watcher(r, 0, fd_watcher::callback{}), vow::invalid_argument);
    BOOST_CHECK_THROW(fd_watcher(r, 0, nullptr, fd_watcher::bind<&recorder::on_ready>(&rec)), vow::invalid_argument);
}

BOOST_AUTO_TEST_CASE(io_events_is_a_set) {
    static_assert((io_events::readable | io_events::writable) == io_events::both);
    static_assert((io_events::both & io_events::writable) == io_events::writable);
    static_assert(~io_events::readable == io_events::writable);
    static_assert(~io_events::none == io_events::both);
    static_assert(vow::has(io_events::both, io_events::readable));
    static_assert(!vow::has(io_events::writable, io_events::readable));
    static_assert(!vow::has(io_events::both, io_events::none));
    BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()

// ------------------------------------------------------------ thread checks

namespace {

struct off_thread {
    vow::reactor* r = nullptr;
    fd_watcher* w = nullptr;
    int fds[2] = {-1, -1};
};

// A reactor and a started watcher that belong to a thread that has exited.
// Death tests only: leaked, as destroying them here would itself abort.
off_thread watcher_of_another_thread() {
    off_thread t;
    std::thread([&] {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, t.fds) != 0)
            std::_Exit(4);   // not an abort: the death test fails
        t.r = new vow::reactor;
        t.w = new fd_watcher(*t.r, t.fds[0], fd_watcher::callback{[](void*, io_events) {}, nullptr});
        t.w->start(io_events::readable);
    }).join();
    return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(constructing_a_watcher_off_the_reactors_thread_aborts, *vow::test::death_tests()) {
    vow::test::expect_abort(
        [] {
            auto* r = vow::test::reactor_of_another_thread();
            fd_watcher w(*r, 0, fd_watcher::callback{[](void*, io_events) {}, nullptr});
        },
        {"fd_watcher::fd_watcher", vow::test::thread_rule});
}

BOOST_AUTO_TEST_CASE(start_stop_and_destroying_a_started_watcher_off_the_reactors_thread_abort,
                     *vow::test::death_tests()) {
    vow::test::expect_abort([] { watcher_of_another_thread().w->start(io_events::writable); },
                            {"fd_watcher::start", vow::test::thread_rule});
    vow::test::expect_abort([] { (void)watcher_of_another_thread().w->try_start(io_events::both); },
                            {"fd_watcher::start", vow::test::thread_rule});
    vow::test::expect_abort([] { watcher_of_another_thread().w->stop(); },
                            {"fd_watcher::stop", vow::test::thread_rule});
    vow::test::expect_abort([] { delete watcher_of_another_thread().w; },
                            {"fd_watcher::~fd_watcher", vow::test::thread_rule});
}

BOOST_AUTO_TEST_SUITE_END()  // fd_watcher_test
