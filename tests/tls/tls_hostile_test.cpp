// A vow TLS server against peers that do not play by the rules: plaintext
// HTTP, random bytes, a ClientHello trickled slower than the accept's
// timeout, a reset in the middle of the handshake, a record cut short.
// Each ends the accept with an error that says what happened; none crashes
// or hangs, and the server keeps serving the next connection.
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"

#include <vow/net/tcp.hpp>
#include <vow/net/tls.hpp>
#include <vow/promise/sleep.hpp>

#include <chrono>
#include <random>
#include <string>

BOOST_AUTO_TEST_SUITE(tls_hostile_test)

using namespace std::chrono_literals;
using vow::test::error_as;
using vow::test::message_of;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A TLS server on loopback whose raw TCP clients the test drives by hand.
struct hostile_fixture : vow::test::tls_fixture {
    vow::net::tcp_server listener{r, "127.0.0.1", 0};
    std::shared_ptr<vow::net::tls_context> ctx = server_context();

    struct raw_conn {
        vow::net::tcp_stream raw;
        vow::future<vow::net::tls_stream> accepted;
    };
    raw_conn open(vow::net::io_options opts = {.timeout = 5s}) {
        auto accepted = listener.accept();
        auto raw = wait(vow::net::connect(r, "127.0.0.1", listener.port()));
        auto peer = wait(std::move(accepted));
        return {raw, vow::net::tls_stream::accept(ctx, peer, opts)};
    }

    // A real ClientHello, as a vow client sends it first.
    std::string client_hello() {
        vow::net::tcp_server sink(r, "127.0.0.1", 0);
        auto accepted = sink.accept();
        auto tcp = wait(vow::net::connect(r, "127.0.0.1", sink.port()));
        auto peer = wait(std::move(accepted));
        auto c = vow::net::tls_stream::connect(client_context(), tcp, "localhost", {.timeout = 2s});
        std::string hello = wait(peer.read_some());
        peer.close();
        (void)wait_error(std::move(c));
        return hello;
    }

    // The server still completes a normal handshake afterwards.
    void still_serves() {
        auto accepted = listener.accept();
        auto tcp = wait(vow::net::connect(r, "127.0.0.1", listener.port()));
        auto peer = wait(std::move(accepted));
        auto s = vow::net::tls_stream::accept(ctx, peer, {.timeout = 5s});
        auto c = wait(vow::net::tls_stream::connect(client_context(), tcp, "localhost"));
        auto sv = wait(std::move(s));
        wait(c.write("ok"));
        BOOST_TEST(wait(sv.read_exactly(2)) == "ok");
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_plaintext_http_request_is_refused_as_not_tls, hostile_fixture) {
    auto c = open();
    wait(c.raw.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    auto e = wait_error(std::move(c.accepted));
    const auto msg = message_of(e);
    error_as<vow::net::tls_error>(e);
    BOOST_TEST(contains(msg, "not speaking TLS"), msg);
    BOOST_TEST(contains(msg, "127.0.0.1"), msg);
    // The transport is closed: the client reads its end (after an alert, maybe).
    for (int i = 0; i < 10; ++i) {
        auto got = settle(c.raw.read_some());
        if (got.error || got.value->empty())
            break;
    }
    still_serves();
}

BOOST_FIXTURE_TEST_CASE(random_bytes_are_refused_without_harm, hostile_fixture) {
    std::mt19937 rng(42);
    for (int round = 0; round < 20; ++round) {
        auto c = open();
        std::string junk = vow::test::pattern(1 + rng() % 4096, rng());
        if (round % 2 == 0)
            junk[0] = 0x16;   // looks like a handshake record to start with
        (void)settle(c.raw.write(junk));
        c.raw.close();
        auto e = wait_error(std::move(c.accepted));
        try {
            std::rethrow_exception(e);
        } catch (const vow::net::tls_error&) {
        } catch (const vow::net::io_error&) {   // the reset of the close with unread bytes
        }
    }
    still_serves();
}

BOOST_FIXTURE_TEST_CASE(a_client_hello_trickled_slower_than_the_timeout_ends_the_accept, hostile_fixture) {
    const std::string hello = client_hello();
    BOOST_REQUIRE(hello.size() > 10);
    BOOST_TEST(static_cast<unsigned char>(hello[0]) == 0x16);
    auto c = open({.timeout = 150ms});
    const auto start = std::chrono::steady_clock::now();
    bool done = false;
    for (std::size_t i = 0; i < hello.size() && !done; ++i) {
        (void)settle(c.raw.write(hello.substr(i, 1)));
        wait(vow::sleep(r, 20ms));
        done = c.accepted.available();
    }
    auto e = wait_error(std::move(c.accepted));
    error_as<vow::timeout_error>(e);
    BOOST_TEST(contains(message_of(e), "tls_stream::accept"), message_of(e));
    BOOST_TEST((std::chrono::steady_clock::now() - start < 2s));
    BOOST_TEST((!c.raw.is_open() || wait(c.raw.read_some()).empty()));
    still_serves();
}

BOOST_FIXTURE_TEST_CASE(a_reset_in_the_middle_of_the_handshake_is_an_error_that_says_so, hostile_fixture) {
    const std::string hello = client_hello();
    auto c = open();
    wait(c.raw.write(hello.substr(0, hello.size() / 2)));
    settle();
    reset(c.raw);
    auto e = wait_error(std::move(c.accepted));
    const auto msg = message_of(e);
    try {
        std::rethrow_exception(e);
    } catch (const vow::net::io_error& x) {
        BOOST_TEST((x.code() == std::errc::connection_reset), msg);
    } catch (const vow::net::tls_error&) {
        BOOST_TEST(contains(msg, "closed the connection during the TLS handshake"), msg);
    }
    still_serves();
}

BOOST_FIXTURE_TEST_CASE(a_close_in_the_middle_of_the_handshake_is_an_error_that_says_so, hostile_fixture) {
    const std::string hello = client_hello();
    auto c = open();
    wait(c.raw.write(hello.substr(0, hello.size() / 2)));
    wait(c.raw.shutdown());
    auto e = wait_error(std::move(c.accepted));
    const auto msg = message_of(e);
    error_as<vow::net::tls_error>(e);
    BOOST_TEST(contains(msg, "the client closed the connection during the TLS handshake"), msg);
}

// Bytes relayed from one raw stream to another; once `cut` is set, the
// next chunk goes only half-way and the relay ends with a FIN.
struct relay {
    vow::net::tcp_stream from, to;
    bool cut = false;
};

void pump(const std::shared_ptr<relay>& rl) {
    rl->from.read_some()
        .then([rl](std::string data) {
            if (data.empty() || rl->cut) {
                if (!data.empty())
                    rl->to.write(data.substr(0, data.size() / 2)).catch_([](std::exception_ptr) {}).discard();
                rl->to.shutdown().catch_([](std::exception_ptr) {}).discard();
                return;
            }
            rl->to.write(data).catch_([](std::exception_ptr) {}).discard();
            pump(rl);
        })
        .catch_([](std::exception_ptr) {})
        .discard();
}

BOOST_FIXTURE_TEST_CASE(a_record_cut_short_is_a_truncation_not_a_short_read, vow::test::tls_fixture) {
    // client (TLS) -> front (raw) | relay | back (raw) -> server (TLS)
    vow::net::tcp_server front_listener(r, "127.0.0.1", 0), back_listener(r, "127.0.0.1", 0);
    auto front_accepted = front_listener.accept();
    auto client_tcp = wait(vow::net::connect(r, "127.0.0.1", front_listener.port()));
    auto front = wait(std::move(front_accepted));
    auto back_accepted = back_listener.accept();
    auto back = wait(vow::net::connect(r, "127.0.0.1", back_listener.port()));
    auto server_tcp = wait(std::move(back_accepted));
    auto up = std::make_shared<relay>(relay{front, back});
    auto down = std::make_shared<relay>(relay{back, front});
    pump(up);
    pump(down);
    auto s = vow::net::tls_stream::accept(server_context(), server_tcp);
    auto client = wait(vow::net::tls_stream::connect(client_context(), client_tcp, "localhost"));
    auto server = wait(std::move(s));
    wait(server.write("whole"));
    BOOST_TEST(wait(client.read_exactly(5)) == "whole");
    down->cut = true;
    wait(server.write(std::string(1000, 'x')));
    auto e = wait_error(client.read_some());
    const auto msg = message_of(e);
    error_as<vow::net::tls_error>(e);
    BOOST_TEST(contains(msg, "without close_notify"), msg);
    BOOST_TEST(client.buffered_input() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
