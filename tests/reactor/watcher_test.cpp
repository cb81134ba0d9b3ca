// fd watchers: add_reader and add_writer on a socketpair.
#include <boost/test/unit_test.hpp>
#include <reactor_fixture.hpp>

#include <chrono>
#include <fcntl.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>

BOOST_AUTO_TEST_SUITE(watcher_test)

using namespace std::chrono_literals;

namespace {

// Two connected, non-blocking stream sockets, closed at the end of the scope.
// Declare it before anything that watches it, so it is closed last.
struct socket_pair {
    int fds[2] = {-1, -1};
    socket_pair() {
        BOOST_TEST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    }
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

}  // namespace

BOOST_FIXTURE_TEST_SUITE(watcher, vow::test::reactor_fixture)

BOOST_AUTO_TEST_CASE(add_reader_fires_after_the_peer_writes) {
    socket_pair sp;
    bool written = false;
    std::string got;
    vow::handle reader = r.add_reader(sp.ours(), [&] {
        BOOST_TEST(written);  // not readable before the write
        got = read_some(sp.ours());
        reader.cancel();
    });
    (void)r.call_later(5ms, [&] {
        written = true;
        BOOST_TEST(::write(sp.peer(), "ping", 4) == 4);
    });
    run();
    BOOST_TEST(got == "ping");
}

BOOST_AUTO_TEST_CASE(add_reader_is_level_triggered_until_the_data_is_read) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    int calls = 0;
    vow::handle reader = r.add_reader(sp.ours(), [&] {
        // Leave the byte unread twice: the reader must fire again.
        if (++calls == 3) {
            BOOST_TEST(read_some(sp.ours()) == "x");
            reader.cancel();
        }
    });
    run();
    BOOST_TEST(calls == 3);
}

BOOST_AUTO_TEST_CASE(add_reader_sees_the_peer_close) {
    socket_pair sp;
    bool eof = false;
    vow::handle reader = r.add_reader(sp.ours(), [&] {
        char c;
        eof = ::read(sp.ours(), &c, 1) == 0;
        reader.cancel();
    });
    r.call_soon([&] { ::shutdown(sp.peer(), SHUT_WR); });
    run();
    BOOST_TEST(eof);
}

BOOST_AUTO_TEST_CASE(add_writer_fires_while_the_socket_is_writable) {
    socket_pair sp;
    int calls = 0;
    vow::handle writer = r.add_writer(sp.ours(), [&] {
        BOOST_TEST(::write(sp.ours(), "w", 1) == 1);
        if (++calls == 3)
            writer.cancel();
    });
    run();
    BOOST_TEST(calls == 3);
    BOOST_TEST(read_some(sp.peer()) == "www");
}

BOOST_AUTO_TEST_CASE(add_writer_waits_while_the_socket_is_full_and_fires_once_drained) {
    socket_pair sp;
    // Fill the socket until the kernel refuses more.
    char chunk[4096] = {};
    std::size_t filled = 0;
    for (;;) {
        auto n = ::write(sp.ours(), chunk, sizeof chunk);
        if (n <= 0)
            break;
        filled += std::size_t(n);
    }
    BOOST_TEST_REQUIRE(filled > 0u);
    bool drained = false, fired_after_drain = false;
    vow::handle writer = r.add_writer(sp.ours(), [&] {
        fired_after_drain = drained;
        writer.cancel();
    });
    (void)r.call_later(5ms, [&] {
        drained = true;
        char buf[4096];
        while (::read(sp.peer(), buf, sizeof buf) > 0) {
        }
    });
    run();
    BOOST_TEST(fired_after_drain);
}

BOOST_AUTO_TEST_CASE(a_reader_cancelled_before_the_data_arrives_never_fires) {
    socket_pair sp;
    bool fired = false;
    vow::handle reader = r.add_reader(sp.ours(), [&] { fired = true; });
    reader.cancel();
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    run();  // nothing armed: returns at once
    BOOST_TEST(!fired);
}

BOOST_AUTO_TEST_CASE(cancelling_a_reader_from_another_callback_stops_it) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    int calls = 0, calls_at_cancel = -1;
    vow::handle reader = r.add_reader(sp.ours(), [&] {
        // Never reads, so it would fire on every turn until cancelled.
        if (++calls == 2)
            r.call_soon([&] {
                calls_at_cancel = calls;
                reader.cancel();
            });
    });
    run();
    BOOST_TEST(calls_at_cancel >= 2);
    BOOST_TEST(calls == calls_at_cancel);
}

BOOST_AUTO_TEST_CASE(a_reader_and_a_writer_on_the_same_fd_both_fire) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    bool read_fired = false, write_fired = false;
    vow::handle reader = r.add_reader(sp.ours(), [&] {
        read_fired = true;
        reader.cancel();
    });
    vow::handle writer = r.add_writer(sp.ours(), [&] {
        write_fired = true;
        writer.cancel();
    });
    run();
    BOOST_TEST(read_fired);
    BOOST_TEST(write_fired);
}

BOOST_AUTO_TEST_CASE(two_readers_on_the_same_fd_both_fire) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    int fired = 0;
    vow::handle a = r.add_reader(sp.ours(), [&] {
        ++fired;
        a.cancel();
    });
    vow::handle b = r.add_reader(sp.ours(), [&] {
        ++fired;
        b.cancel();
    });
    run();
    BOOST_TEST(fired == 2);
}

BOOST_AUTO_TEST_CASE(a_watcher_cancelled_by_an_earlier_callback_of_the_same_turn_never_runs) {
    socket_pair sp;
    BOOST_TEST_REQUIRE(::write(sp.peer(), "x", 1) == 1);
    // Both become ready in the same turn; each cancels the other.
    int ran = 0;
    vow::handle a, b;
    a = r.add_reader(sp.ours(), [&] {
        ++ran;
        a.cancel();
        b.cancel();
    });
    b = r.add_writer(sp.ours(), [&] {
        ++ran;
        a.cancel();
        b.cancel();
    });
    run();
    BOOST_TEST(ran == 1);
}

BOOST_AUTO_TEST_CASE(the_reactor_does_not_own_the_fd) {
    socket_pair sp;
    {
        vow::handle reader = r.add_reader(sp.ours(), [] {});
        reader.cancel();
    }
    // Still open after the watcher is gone.
    BOOST_TEST(::fcntl(sp.ours(), F_GETFD) != -1);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE_END()  // watcher_test
