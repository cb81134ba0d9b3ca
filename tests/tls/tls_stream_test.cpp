// vow::net::tls_stream between two vow ends over loopback: what the
// handshake agreed, and the stream semantics it shares with tcp_stream
// (reads, lines, limits, one read at a time, timeouts that lose nothing,
// shutdown with close_notify, close, truncation).
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"

#include <vow/net/tcp.hpp>
#include <vow/net/tls.hpp>
#include <vow/promise/sleep.hpp>

#include <chrono>
#include <optional>
#include <stop_token>
#include <string>

BOOST_AUTO_TEST_SUITE(tls_stream_test)

using namespace std::chrono_literals;
using vow::net::tls_stream;
using vow::test::error_as;
using vow::test::pattern;
using fixture = vow::test::tls_fixture;

namespace {

// A connection closed without close_notify: the peer reads a truncation
// (tls_error), or a reset (io_error) if the closing side had unread bytes
// in its kernel (the server's session tickets, say).
void check_abrupt_end(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const vow::net::tls_error& x) {
        BOOST_TEST(std::string(x.what()).find("close_notify") != std::string::npos, x.what());
    } catch (const vow::net::io_error& x) {
        BOOST_TEST((x.code() == std::errc::connection_reset), x.what());
    } catch (const std::exception& x) {
        BOOST_ERROR("expected a tls_error or an io_error, got: " << x.what());
    }
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_handshake_agrees_on_tls_1_3_alpn_and_the_servers_certificate, fixture) {
    auto p = pair();
    BOOST_TEST(p.client.version() == "TLSv1.3");
    BOOST_TEST(p.server.version() == "TLSv1.3");
    BOOST_TEST(p.client.alpn() == "http/1.1");
    BOOST_TEST(p.server.alpn() == "http/1.1");
    BOOST_TEST(!p.client.cipher().empty());
    BOOST_TEST(p.server.server_name() == "localhost");
    auto c = p.client.peer_certificate();
    BOOST_REQUIRE(c.has_value());
    BOOST_TEST(c->subject.find("CN=localhost") != std::string::npos);
    BOOST_TEST(c->issuer.find("CN=vow test CA") != std::string::npos);
    BOOST_TEST((c->subject_alt_names == std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1"}));
    BOOST_TEST((c->not_before < std::chrono::system_clock::now()));
    BOOST_TEST((c->not_after > std::chrono::system_clock::now()));
    BOOST_TEST(c->pem.starts_with("-----BEGIN CERTIFICATE-----"));
    BOOST_TEST(!p.server.peer_certificate().has_value());   // no client certificate was asked for
    BOOST_TEST(p.client.is_open());
    BOOST_TEST(p.client.peer_address() == p.server.local_address());
}

BOOST_FIXTURE_TEST_CASE(bytes_written_arrive_in_order_both_ways, fixture) {
    auto p = pair();
    wait(p.client.write("hello "));
    wait(p.client.write("world\n"));
    BOOST_TEST(wait(p.server.read_until("\n", 100)) == "hello world\n");
    wait(p.server.write("back"));
    BOOST_TEST(wait(p.client.read_exactly(4)) == "back");
}

BOOST_FIXTURE_TEST_CASE(a_megabyte_crosses_intact_in_many_records, fixture) {
    auto p = pair();
    const auto data = pattern(1024 * 1024 + 17, 7);
    auto sent = p.client.write(data);
    BOOST_TEST(wait(p.server.read_exactly(data.size())) == data);
    wait(std::move(sent));
}

BOOST_FIXTURE_TEST_CASE(read_line_takes_lf_and_crlf_and_drops_a_too_long_line, fixture) {
    auto p = pair();
    wait(p.client.write("one\r\ntwo\n"));
    BOOST_TEST(wait(p.server.read_line()).value_or("<end>") == "one");
    BOOST_TEST(wait(p.server.read_line()).value_or("<end>") == "two");
    wait(p.client.write(std::string(100, 'x') + "\nafter\n"));
    auto e = wait_error(p.server.read_line(10));
    BOOST_TEST(vow::test::message_of(e).find("longer than max") != std::string::npos);
    error_as<vow::net::limit_error>(e);
    BOOST_TEST(wait(p.server.read_line(10)).value_or("<end>") == "after");
}

BOOST_FIXTURE_TEST_CASE(read_until_past_max_bytes_rejects_and_keeps_the_bytes, fixture) {
    auto p = pair();
    wait(p.client.write("abcdefgh"));
    wait_until([&] { return p.server.buffered_input() == 8; });
    error_as<vow::net::limit_error>(wait_error(p.server.read_until("\n", 4)));
    BOOST_TEST(wait(p.server.read_some()) == "abcdefgh");
}

BOOST_FIXTURE_TEST_CASE(a_second_read_while_one_is_pending_is_a_usage_error, fixture) {
    auto p = pair();
    auto first = p.server.read_some();
    BOOST_CHECK_THROW((void)p.server.read_line(), vow::usage_error);
    wait(p.client.write("x"));
    BOOST_TEST(wait(std::move(first)) == "x");
}

BOOST_FIXTURE_TEST_CASE(a_read_that_times_out_loses_nothing, fixture) {
    auto p = pair();
    error_as<vow::timeout_error>(wait_error(p.server.read_exactly(5, {.timeout = 20ms})));
    wait(p.client.write("12345"));
    BOOST_TEST(wait(p.server.read_exactly(5)) == "12345");
    std::stop_source stop;
    auto f = p.server.read_some({.stop = stop.get_token()});
    stop.request_stop();
    error_as<vow::cancelled_error>(wait_error(std::move(f)));
    wait(p.client.write("more"));
    BOOST_TEST(wait(p.server.read_some()) == "more");
}

BOOST_FIXTURE_TEST_CASE(shutdown_sends_close_notify_which_the_peer_reads_as_the_end, fixture) {
    auto p = pair();
    wait(p.client.write("last"));
    wait(p.client.shutdown());
    BOOST_CHECK_THROW((void)p.client.write("more"), vow::usage_error);
    BOOST_TEST(read_to_end(p.server) == "last");
    BOOST_TEST(p.server.at_eof());
    BOOST_TEST(!wait(p.server.read_line()).has_value());
    auto e = wait_error(p.server.read_exactly(3));
    BOOST_TEST(error_as<vow::net::incomplete_read>(e).partial() == "");
    // Reading goes on after shutdown: the server can still answer.
    wait(p.server.write("reply"));
    BOOST_TEST(wait(p.client.read_exactly(5)) == "reply");
}

BOOST_FIXTURE_TEST_CASE(an_end_without_close_notify_is_a_truncation_error_after_the_bytes_before_it, fixture) {
    auto p = pair();
    wait(p.server.write("partial"));
    wait_until([&] { return p.client.buffered_input() == 7; });
    p.server.transport().close();   // FIN without close_notify
    BOOST_TEST(wait(p.client.read_some()) == "partial");
    auto e = wait_error(p.client.read_some());
    auto msg = vow::test::message_of(e);
    error_as<vow::net::tls_error>(e);
    BOOST_TEST(msg.find("close_notify") != std::string::npos, msg);
    BOOST_TEST(msg.find("truncated") != std::string::npos, msg);
}

BOOST_FIXTURE_TEST_CASE(close_rejects_the_pending_read_and_closes_the_transport, fixture) {
    auto p = pair();
    auto f = p.client.read_some();
    p.client.close();
    auto e = error_as<vow::net::io_error>(wait_error(std::move(f)));
    BOOST_TEST(e.code() == std::errc::operation_canceled);
    BOOST_TEST(!p.client.is_open());
    BOOST_TEST(!p.client.transport().is_open());
    // The peer saw the connection end without close_notify.
    check_abrupt_end(wait_error(p.server.read_some()));
}

BOOST_FIXTURE_TEST_CASE(a_write_past_max_write_buffer_rejects_and_sends_nothing, fixture) {
    auto p = pair();
    p.client.set_max_write_buffer(1000);
    error_as<vow::net::limit_error>(wait_error(p.client.write(std::string(2000, 'a'))));
    wait(p.client.write("ok"));
    BOOST_TEST(wait(p.server.read_some()) == "ok");
}

BOOST_FIXTURE_TEST_CASE(a_tls_stream_is_a_stream_sharing_its_connection, fixture) {
    auto p = pair();
    vow::net::stream s = p.client;
    BOOST_TEST(s.shared().use_count() >= 2);
    wait(s.write("via stream\n"));
    BOOST_TEST(wait(p.server.read_line()).value_or("<end>") == "via stream");
    // The tls_layer form resolves with a plain stream.
    vow::net::tcp_server listener(r, "127.0.0.1", 0);
    auto accepted = listener.accept();
    auto tcp = wait(vow::net::connect(r, "127.0.0.1", listener.port()));
    auto peer = wait(std::move(accepted));
    std::shared_ptr<vow::net::tls_layer> server_layer = server_context();
    std::shared_ptr<vow::net::tls_layer> client_layer = client_context();
    auto a = server_layer->accept(peer, {});
    auto c = client_layer->connect(tcp, "localhost", {});
    auto client = wait(std::move(c));
    auto server = wait(std::move(a));
    wait(client.write("layer"));
    BOOST_TEST(wait(server.read_exactly(5)) == "layer");
    BOOST_TEST(dynamic_cast<vow::net::stream_interface*>(client.get()) != nullptr);
}

BOOST_FIXTURE_TEST_CASE(dropping_every_handle_closes_the_connection, fixture) {
    auto p = pair();
    vow::net::stream transport = p.client.transport();
    p.client = tls_stream();
    BOOST_TEST(!transport.is_open());
    check_abrupt_end(wait_error(p.server.read_some()));
}

BOOST_FIXTURE_TEST_CASE(read_some_into_gives_back_the_storage_it_was_given, fixture) {
    auto p = pair();
    std::string storage;
    storage.reserve(64 * 1024);
    const char* const at = storage.data();
    auto f = p.server.read_some_into(std::move(storage));
    wait(p.client.write("into"));
    std::string got = wait(std::move(f));
    BOOST_TEST(got == "into");
    BOOST_TEST(static_cast<const void*>(got.data()) == static_cast<const void*>(at));
}

// Nobody reads: the stream reads ahead a bounded amount, then stops taking
// the transport's bytes, so the kernel's window and the writer's
// high_water push back on the peer. Nothing is lost when reading resumes.
BOOST_FIXTURE_TEST_CASE(read_ahead_is_bounded_and_pushes_back_on_the_writer, fixture) {
    auto p = pair();
    const auto data = pattern(8 * 1024 * 1024, 3);
    auto sent = p.server.write(data);
    settle(std::chrono::milliseconds(100));
    BOOST_TEST(p.client.buffered_input() <= 64u * 1024 + 64 * 1024);
    BOOST_TEST(!sent.available());
    BOOST_TEST(wait(p.client.read_exactly(data.size())) == data);
    wait(std::move(sent));
}

BOOST_AUTO_TEST_SUITE_END()
