// tests/tls/wss_test.cpp - WebSocket over TLS: ws_connect to wss:// URLs
// against a ws_endpoint on an HTTPS http_server, with the certificate
// verified as HTTPS does.
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"

#include <vow/net/http.hpp>
#include <vow/net/tls.hpp>
#include <vow/net/ws.hpp>

#include <fmt/format.h>

#include <string>

using namespace vow::net;
using vow::test::error_as;

BOOST_AUTO_TEST_SUITE(wss_test)

BOOST_FIXTURE_TEST_CASE(wss_echoes_over_a_verified_tls_connection, vow::test::tls_fixture) {
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    bool deflated = false;
    ws_server_options so;
    so.ws.deflate = ws_deflate_options{};
    ws_endpoint ep(
        server, "/echo",
        [&](ws_connection c, const http_request&) {
            deflated = c.deflate();
            (void)c.for_each_message([c](ws_message m) mutable { return c.send(m); })
                .catch_([](std::exception_ptr) {});
        },
        so);
    ws_connect_options o;
    o.tls = client_context();
    o.ws.deflate = ws_deflate_options{};
    auto c = wait(ws_connect(r, fmt::format("wss://localhost:{}/echo", server.port()), o));
    BOOST_TEST(c.deflate());
    BOOST_TEST(deflated);
    auto big = vow::test::pattern(1 << 20, 5);
    wait(c.send_binary(big));
    BOOST_TEST(wait(c.receive()).data == big);
    wait(c.send_text("über TLS"));
    BOOST_TEST(wait(c.receive()).data == "über TLS");
    wait(c.close());
    BOOST_TEST(c.close_code().value_or(0) == ws_close::normal);
}

BOOST_FIXTURE_TEST_CASE(wss_refuses_a_server_it_cannot_verify, vow::test::tls_fixture) {
    http_server server(r, "127.0.0.1", 0, {.tls = server_context()});
    ws_endpoint ep(server, "/", [](ws_connection, const http_request&) {});
    ws_connect_options o;
    o.tls = tls_context::client();   // the system's CAs: the test CA is not among them
    auto e = wait_error(ws_connect(r, fmt::format("wss://localhost:{}/", server.port()), o));
    BOOST_TEST(vow::test::message_of(e).find("certificate") != std::string::npos);
    error_as<tls_error>(e);
}

BOOST_AUTO_TEST_SUITE_END()
