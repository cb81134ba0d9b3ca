// tests/support/net_fixture.hpp - the promise fixture, plus what the TCP
// tests share: a connected loopback pair, byte patterns a test can check
// byte for byte, a peer that resets, and a writer that fills the kernel's
// buffers until write() has to wait.
//
//   BOOST_FIXTURE_TEST_CASE(bytes_arrive, vow::test::stream_pair_fixture) {
//       wait(client.write("hi"));
//       BOOST_TEST(wait(peer.read_exactly(2)) == "hi");
//   }
//
// Everything runs on loopback, on ports the kernel picks (port 0), so tests
// can run in parallel with each other and with anything else on the machine.
#pragma once

#include <vow/net/tcp.hpp>
#include <vow/promise/sleep.hpp>

#include <boost/test/unit_test.hpp>
#include <pattern.hpp>
#include <promise_fixture.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <system_error>
#include <tuple>
#include <typeinfo>
#include <unistd.h>
#include <utility>

// `BOOST_TEST(e.code() == std::errc::connection_reset)` prints the
// error_code on failure; std::errc itself has no operator<<.
BOOST_TEST_DONT_PRINT_LOG_VALUE(std::errc)

namespace vow::test {

// True if this machine can listen on ::1 (IPv6 may be off in a container).
inline bool ipv6_loopback_available() {
    int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    auto a = net::address::parse("::1", 0);
    bool ok = ::bind(fd, a.native(), a.native_size()) == 0;
    ::close(fd);
    return ok;
}

// A Boost.Test decorator: skips the test case (with a message) where
// IPv6 loopback is not available.
inline auto needs_ipv6_loopback() {
    return boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result ok(ipv6_loopback_available());
        if (!ok)
            ok.message() << "IPv6 loopback (::1) is not available on this machine";
        return ok;
    });
}

// The exception of type E that `e` holds; fails the test if it holds
// another type.
template <class E>
E error_as(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const E& x) {
        return x;
    } catch (const std::exception& x) {
        BOOST_FAIL("expected a " << typeid(E).name() << ", got a " << typeid(x).name() << ": " << x.what());
    } catch (...) {
        BOOST_FAIL("expected a " << typeid(E).name() << ", got a non-std exception");
    }
    throw std::logic_error("unreachable");
}

struct net_fixture : promise_fixture {
    // Drives the reactor until `pred()` holds. Only a safety net for a bug
    // that would otherwise hang: nothing is asserted about how long it takes.
    template <class P>
    void wait_until(P pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        auto give_up = std::chrono::steady_clock::now() + limit;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > give_up)
                BOOST_FAIL("the awaited condition did not come true within " << limit.count() << " ms");
            wait(vow::sleep(r, std::chrono::milliseconds(1)));
        }
    }

    // Lets the loop run for `d`: for a test that checks something does NOT
    // happen (a write future staying pending), or to let bytes travel.
    void settle(std::chrono::milliseconds d = std::chrono::milliseconds(20)) { wait(vow::sleep(r, d)); }

    // Closes `s` with SO_LINGER {1, 0}: the kernel sends RST instead of FIN,
    // and the peer sees ECONNRESET.
    static void reset(net::tcp_stream& s) {
        ::linger lg{1, 0};
        BOOST_REQUIRE(::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
        s.close();
    }

    // Writes pattern bytes in `chunk`-sized writes (appending each to
    // `sent`) until a write's future stays pending: the kernel's buffers are
    // full, since nobody reads, and the stream holds more than its
    // high_water mark. Returns that pending future.
    future<void> write_until_pending(net::tcp_stream& s, std::string& sent, std::size_t chunk = 256 * 1024) {
        for (std::uint32_t i = 0; sent.size() < 1024u * 1024 * 1024; ++i) {
            auto data = pattern(chunk, static_cast<std::uint32_t>(sent.size()) + i);
            auto f = s.write(data);
            sent += data;
            if (!f.available())
                return f;
            wait(std::move(f));
        }
        BOOST_FAIL("1 GiB written and no write had to wait; is the peer reading?");
        throw std::logic_error("unreachable");
    }

    // A new connection to `server`: {the client's end, the accepted end}.
    std::pair<net::tcp_stream, net::tcp_stream> connect_to(net::tcp_server& server) {
        auto accepted = server.accept();
        auto c = wait(net::connect(r, "127.0.0.1", server.port()));
        return {std::move(c), wait(std::move(accepted))};
    }

    // Reads until end of stream: any stream (a tcp_stream, a tls_stream).
    std::string read_to_end(net::stream s) {
        std::string all;
        for (;;) {
            auto chunk = wait(s.read_some());
            if (chunk.empty())
                return all;
            all += chunk;
        }
    }
};

// A connected loopback pair: `client` from connect(), `peer` from the
// server's accept().
struct stream_pair_fixture : net_fixture {
    net::tcp_server server;
    net::tcp_stream client, peer;

    explicit stream_pair_fixture(net::server_options opts = {}) : server(r, "127.0.0.1", 0, opts) {
        std::tie(client, peer) = connect_to(server);
    }
};

}  // namespace vow::test
