// vow::net::connect over loopback: success by address and by name, refusal,
// timeouts, deadlines, cancellation and bad arguments.
#include <boost/test/unit_test.hpp>

#include <net_fixture.hpp>

#include <vow/net/tcp.hpp>

#include <cstdint>
#include <stop_token>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

BOOST_AUTO_TEST_SUITE(connect_test)

using namespace std::chrono_literals;
using vow::net::connect;
using vow::net::connect_options;
using vow::net::io_error;
using vow::net::tcp_server;
using vow::net::tcp_stream;
using vow::test::error_as;
using fixture = vow::test::net_fixture;

namespace {

// A port nobody listens on: bound by the kernel's choice, then closed.
std::uint16_t dead_port(vow::reactor& r) {
    tcp_server s(r, "127.0.0.1", 0);
    return s.port();
}

// A listener that completes no more handshakes. Nobody accepts and its
// backlog is 1, so its accept queue fills after a connection or two; from
// then on the kernel drops every SYN, and a connect to it stays in SYN_SENT
// until it times out or is cancelled. That gives a connect that cannot
// finish without leaving loopback. The fixture connects until one connect
// times out, whatever the kernel's exact queue accounting.
struct full_listener_fixture : vow::test::net_fixture {
    tcp_server server;
    std::vector<tcp_stream> fillers;

    full_listener_fixture() : server(r, "127.0.0.1", 0, backlog_one()) {
        for (int i = 0; i < 64; ++i) {
            connect_options o;
            o.timeout = 500ms;   // ample for a loopback handshake, even on a loaded machine
            try {
                fillers.push_back(wait(connect(r, "127.0.0.1", server.port(), o)));
            } catch (const vow::timeout_error&) {
                return;
            }
        }
        BOOST_FAIL("64 connects completed to a listener with backlog 1 that never accepts");
    }
    static vow::net::server_options backlog_one() {
        vow::net::server_options o;
        o.backlog = 1;
        return o;
    }
};

}  // namespace

// ---------------------------------------------------------------- success

BOOST_FIXTURE_TEST_CASE(connects_to_a_numeric_loopback_address, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    auto c = wait(connect(r, "127.0.0.1", server.port()));
    BOOST_TEST(c.is_open());
    BOOST_TEST(c.peer_address() == server.local_address());
    BOOST_TEST(c.local_address().is_loopback());
    auto s = wait(std::move(accepted));
    wait(c.write("ping"));
    BOOST_TEST(wait(s.read_exactly(4)) == "ping");
}

BOOST_FIXTURE_TEST_CASE(connects_to_localhost, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    // localhost may resolve to ::1 first: nobody listens there, so connect
    // goes on to 127.0.0.1.
    auto c = wait(connect(r, "localhost", server.port()));
    BOOST_TEST(c.peer_address() == server.local_address());
    auto s = wait(std::move(accepted));
    BOOST_TEST(s.peer_address() == c.local_address());
}

BOOST_FIXTURE_TEST_CASE(connects_to_an_address_value, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    auto c = wait(connect(r, server.local_address()));
    BOOST_TEST(c.peer_address() == server.local_address());
    BOOST_TEST(wait(std::move(accepted)).is_open());
}

BOOST_FIXTURE_TEST_CASE(the_stop_token_overload_connects, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    std::stop_source stop;
    auto c = wait(connect(r, "127.0.0.1", server.port(), stop.get_token()));
    BOOST_TEST(c.is_open());
    BOOST_TEST(wait(std::move(accepted)).is_open());
}

BOOST_FIXTURE_TEST_CASE(the_stream_options_reach_the_connected_stream, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    connect_options o;
    o.stream.nodelay = false;
    auto c = wait(connect(r, "127.0.0.1", server.port(), o));
    int v = -1;
    socklen_t len = sizeof v;
    BOOST_REQUIRE(::getsockopt(c.native_handle(), IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0);
    BOOST_TEST(v == 0);
}

BOOST_FIXTURE_TEST_CASE(a_connect_that_succeeds_is_not_affected_by_its_timeout_or_token, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    auto accepted = server.accept();
    std::stop_source stop;
    connect_options o;
    o.timeout = 300ms;
    o.stop = stop.get_token();
    auto c = wait(connect(r, "127.0.0.1", server.port(), o));
    auto s = wait(std::move(accepted));
    stop.request_stop();
    settle(350ms);   // past the timeout too
    BOOST_TEST(c.is_open());
    wait(c.write("fine"));
    BOOST_TEST(wait(s.read_exactly(4)) == "fine");
}

// ---------------------------------------------------------------- refusal

BOOST_FIXTURE_TEST_CASE(a_dead_port_is_refused_with_io_error_naming_host_and_port, fixture) {
    auto port = dead_port(r);
    auto e = error_as<io_error>(wait_error(connect(r, "127.0.0.1", port)));
    BOOST_TEST(e.code() == std::errc::connection_refused);
    std::string what = e.what();
    BOOST_TEST(what.find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    BOOST_TEST(what.find("connect") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_refused_name_is_reported_by_its_name, fixture) {
    auto port = dead_port(r);
    auto e = error_as<io_error>(wait_error(connect(r, "localhost", port)));
    BOOST_TEST(e.code() == std::errc::connection_refused);
    BOOST_TEST(std::string(e.what()).find("localhost:" + std::to_string(port)) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_refused_address_value_is_named_in_the_error, fixture) {
    auto to = vow::net::address::parse("127.0.0.1", dead_port(r));
    auto e = error_as<io_error>(wait_error(connect(r, to)));
    BOOST_TEST(e.code() == std::errc::connection_refused);
    BOOST_TEST(std::string(e.what()).find(to.to_string()) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_refused_ipv6_address_is_named_in_brackets, fixture, *vow::test::needs_ipv6_loopback()) {
    std::uint16_t port = 0;
    {
        tcp_server s(r, "::1", 0);
        port = s.port();
    }
    auto e = error_as<io_error>(wait_error(connect(r, "::1", port)));
    BOOST_TEST(e.code() == std::errc::connection_refused);
    BOOST_TEST(std::string(e.what()).find("[::1]:" + std::to_string(port)) != std::string::npos);
}

// ---------------------------------------------------- timeouts, deadlines

BOOST_FIXTURE_TEST_CASE(a_connect_that_cannot_complete_times_out_with_timeout_error, full_listener_fixture) {
    connect_options o;
    o.timeout = 50ms;
    auto e = wait_error(connect(r, "127.0.0.1", server.port(), o));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
    BOOST_TEST(vow::test::message_of(e).find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(a_deadline_that_has_passed_rejects_with_timeout_error, full_listener_fixture) {
    connect_options o;
    o.timeout.reset();
    o.deadline = vow::reactor::clock::now() - 1s;
    BOOST_CHECK_THROW(wait(connect(r, "127.0.0.1", server.port(), o)), vow::timeout_error);
}

BOOST_FIXTURE_TEST_CASE(with_a_timeout_and_a_deadline_the_earlier_applies, full_listener_fixture) {
    connect_options o;
    o.timeout = 1h;
    o.deadline = vow::reactor::clock::now() + 30ms;
    BOOST_CHECK_THROW(wait(connect(r, "127.0.0.1", server.port(), o)), vow::timeout_error);
    o.timeout = 30ms;
    o.deadline = vow::reactor::clock::now() + 1h;
    BOOST_CHECK_THROW(wait(connect(r, "127.0.0.1", server.port(), o)), vow::timeout_error);
}

// ----------------------------------------------------------- cancellation

BOOST_FIXTURE_TEST_CASE(a_token_stopped_before_connect_rejects_with_cancelled_error, fixture) {
    tcp_server server(r, "127.0.0.1", 0);
    std::stop_source stop;
    stop.request_stop();
    auto e = wait_error(connect(r, "127.0.0.1", server.port(), stop.get_token()));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
    BOOST_TEST(vow::test::message_of(e).find("127.0.0.1:" + std::to_string(server.port())) != std::string::npos);
    connect_options o;
    o.stop = stop.get_token();
    BOOST_CHECK_THROW(wait(connect(r, server.local_address(), o)), vow::cancelled_error);
    BOOST_CHECK_THROW(wait(connect(r, "localhost", server.port(), o)), vow::cancelled_error);
    // Nothing reached the server.
    settle();
    BOOST_TEST(server.accepted() == 0u);
}

BOOST_FIXTURE_TEST_CASE(stopping_during_a_connect_rejects_with_cancelled_error, full_listener_fixture) {
    std::stop_source stop;
    connect_options o;
    o.stop = stop.get_token();
    auto f = connect(r, "127.0.0.1", server.port(), o);
    settle();
    BOOST_REQUIRE(!f.available());   // in SYN_SENT, as the fixture arranged
    stop.request_stop();
    BOOST_CHECK_THROW(wait(std::move(f)), vow::cancelled_error);
}

BOOST_FIXTURE_TEST_CASE(stopping_from_another_thread_cancels_a_connect, full_listener_fixture) {
    std::stop_source stop;
    auto f = connect(r, "127.0.0.1", server.port(), stop.get_token());
    std::thread t([&] { stop.request_stop(); });
    t.join();
    BOOST_CHECK_THROW(wait(std::move(f)), vow::cancelled_error);
}

BOOST_FIXTURE_TEST_CASE(a_connect_pending_when_the_reactor_goes_is_torn_down_quietly, full_listener_fixture) {
    // The future is dropped while pending, and the reactor is destroyed
    // with the connect still in SYN_SENT: no report, no leak, no crash.
    auto f = connect(r, "127.0.0.1", server.port());
    settle();
    BOOST_TEST(!f.available());
}

// ---------------------------------------------------------- bad arguments

BOOST_FIXTURE_TEST_CASE(bad_arguments_throw_invalid_argument, fixture) {
    BOOST_CHECK_THROW((void)connect(r, "", 80), vow::invalid_argument);
    BOOST_CHECK_THROW((void)connect(r, "127.0.0.1", 0), vow::invalid_argument);
    BOOST_CHECK_THROW((void)connect(r, vow::net::address{}), vow::invalid_argument);
    BOOST_CHECK_THROW((void)connect(r, vow::net::address::parse("127.0.0.1", 0)), vow::invalid_argument);
    connect_options o;
    o.family = 12345;
    BOOST_CHECK_THROW((void)connect(r, "127.0.0.1", 80, o), vow::invalid_argument);
    o = {};
    o.timeout = 0ms;
    BOOST_CHECK_THROW((void)connect(r, "127.0.0.1", 80, o), vow::invalid_argument);
    o.timeout = -5ms;
    BOOST_CHECK_THROW((void)connect(r, "127.0.0.1", 80, o), vow::invalid_argument);
    o = {};
    o.stream.high_water = 10;
    o.stream.max_write_buffer = 5;
    BOOST_CHECK_THROW((void)connect(r, "127.0.0.1", 80, o), vow::invalid_argument);
    o.stream.max_write_buffer = 0;
    o.stream.high_water = 0;
    BOOST_CHECK_THROW((void)connect(r, "127.0.0.1", 80, o), vow::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()  // connect_test
