// vow::net::tls_context: files that cannot be used throw at creation with
// their name and the reason; encrypted keys; SNI chooses the certificate;
// reload serves new certificates to new connections only; the client offers
// the last session of a host and port again.
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"
#include "../../net/tls/tls_internal.hpp"   // the session cache, tested directly

#include <vow/net/tls.hpp>

#include <string>

BOOST_AUTO_TEST_SUITE(tls_context_test)

using vow::test::cert;
using fixture = vow::test::tls_fixture;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

template <class F>
std::string thrown_tls_error(F f) {
    try {
        f();
    } catch (const vow::net::tls_error& e) {
        return e.what();
    }
    BOOST_ERROR("no vow::net::tls_error was thrown");
    return {};
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_missing_certificate_file_throws_naming_it, fixture) {
    auto msg = thrown_tls_error([] {
        (void)vow::net::tls_context::server({.cert_file = "/nonexistent/cert.pem", .key_file = cert("server.key")});
    });
    BOOST_TEST(contains(msg, "/nonexistent/cert.pem"), msg);
    BOOST_TEST(contains(msg, "No such file"), msg);
}

BOOST_FIXTURE_TEST_CASE(a_file_that_is_not_a_certificate_throws, fixture) {
    auto msg = thrown_tls_error(
        [] { (void)vow::net::tls_context::server({.cert_file = cert("ca.cnf"), .key_file = cert("server.key")}); });
    BOOST_TEST(contains(msg, "ca.cnf"), msg);
    BOOST_TEST(contains(msg, "certificate"), msg);
}

BOOST_FIXTURE_TEST_CASE(a_key_that_does_not_match_its_certificate_throws, fixture) {
    auto msg = thrown_tls_error(
        [] { (void)vow::net::tls_context::server({.cert_file = cert("server.pem"), .key_file = cert("other.key")}); });
    BOOST_TEST(contains(msg, "does not match"), msg);
}

BOOST_FIXTURE_TEST_CASE(an_encrypted_key_needs_its_password, fixture) {
    auto ok = server_context({.cert_file = cert("server.pem"), .key_file = cert("server-enc.key"), .key_password = "secret"});
    pair(ok, client_context());
    auto wrong = thrown_tls_error([] {
        (void)vow::net::tls_context::server(
            {.cert_file = cert("server.pem"), .key_file = cert("server-enc.key"), .key_password = "wrong"});
    });
    BOOST_TEST(contains(wrong, "key_password"), wrong);
    auto none = thrown_tls_error([] {
        (void)vow::net::tls_context::server({.cert_file = cert("server.pem"), .key_file = cert("server-enc.key")});
    });
    BOOST_TEST(contains(none, "encrypted"), none);
}

BOOST_FIXTURE_TEST_CASE(a_missing_ca_file_throws_naming_it, fixture) {
    auto msg = thrown_tls_error([] { (void)vow::net::tls_context::client({.ca_file = "/nonexistent/ca.pem"}); });
    BOOST_TEST(contains(msg, "/nonexistent/ca.pem"), msg);
}

BOOST_FIXTURE_TEST_CASE(options_that_cannot_work_are_invalid_arguments, fixture) {
    BOOST_CHECK_THROW((void)vow::net::tls_context::server({}), vow::invalid_argument);
    BOOST_CHECK_THROW((void)vow::net::tls_context::server({.cert_file = cert("server.pem"),
                                                           .key_file = cert("server.key"),
                                                           .require_client_certificate = true}),
                      vow::invalid_argument);
    BOOST_CHECK_THROW((void)vow::net::tls_context::client({.alpn = {""}}), vow::invalid_argument);
}

BOOST_FIXTURE_TEST_CASE(a_context_is_used_for_its_side_only, fixture) {
    auto server = server_context();
    auto client = client_context();
    vow::net::tcp_server listener(r, "127.0.0.1", 0);
    auto accepted = listener.accept();
    auto tcp = wait(vow::net::connect(r, "127.0.0.1", listener.port()));
    auto peer = wait(std::move(accepted));
    BOOST_CHECK_THROW((void)vow::net::tls_stream::connect(server, tcp, "localhost"), vow::usage_error);
    BOOST_CHECK_THROW((void)vow::net::tls_stream::accept(client, peer), vow::usage_error);
    BOOST_CHECK_THROW((void)client->accept(peer, {}), vow::usage_error);
    BOOST_CHECK_THROW((void)vow::net::tls_stream::connect(client, vow::net::stream(), "localhost"),
                      vow::usage_error);
    BOOST_TEST(server->is_server());
    BOOST_TEST(!client->is_server());
}

BOOST_FIXTURE_TEST_CASE(sni_chooses_the_certificate_for_the_host_the_client_asks_for, fixture) {
    auto server = server_context(
        {.sni = {{.host = "sni.example", .cert_file = cert("sni.pem"), .key_file = cert("sni.key")}}});
    auto client = client_context();
    auto p = pair(server, client, "sni.example");
    BOOST_TEST(p.server.server_name() == "sni.example");
    BOOST_TEST(contains(p.client.peer_certificate()->subject, "CN=sni.example"));
    auto d = pair(server, client, "localhost");
    BOOST_TEST(contains(d.client.peer_certificate()->subject, "CN=localhost"));
    // A wildcard entry matches one label.
    auto wild = server_context(
        {.sni = {{.host = "*.example", .cert_file = cert("sni.pem"), .key_file = cert("sni.key")}}});
    auto w = pair(wild, client, "sni.example");
    BOOST_TEST(contains(w.client.peer_certificate()->subject, "CN=sni.example"));
}

BOOST_FIXTURE_TEST_CASE(reload_serves_new_connections_and_leaves_open_ones_alone, fixture) {
    auto server = server_context();
    auto trusting = client_context();
    auto before = pair(server, trusting);
    server->reload({.cert_file = cert("sni.pem"), .key_file = cert("sni.key")});
    auto after = pair(server, trusting, "sni.example");
    BOOST_TEST(contains(after.client.peer_certificate()->subject, "CN=sni.example"));
    // The connection opened before keeps working.
    wait(before.client.write("still here"));
    BOOST_TEST(wait(before.server.read_exactly(10)) == "still here");
    // A reload that cannot load its files throws and changes nothing.
    BOOST_CHECK_THROW(server->reload({.cert_file = cert("server.pem"), .key_file = cert("other.key")}),
                      vow::net::tls_error);
    auto again = pair(server, trusting, "sni.example");
    BOOST_TEST(contains(again.client.peer_certificate()->subject, "CN=sni.example"));
    BOOST_CHECK_THROW(trusting->reload({}), vow::usage_error);
}

BOOST_FIXTURE_TEST_CASE(a_second_connection_to_the_same_server_resumes_the_session, fixture) {
    auto server = server_context();
    auto client = client_context();
    vow::net::tcp_server listener(r, "127.0.0.1", 0);
    for (int i = 0; i < 3; ++i) {
        auto accepted = listener.accept();
        auto tcp = wait(vow::net::connect(r, "127.0.0.1", listener.port()));
        auto peer = wait(std::move(accepted));
        auto s = vow::net::tls_stream::accept(server, peer);
        auto c = wait(vow::net::tls_stream::connect(client, tcp, "localhost"));
        auto sv = wait(std::move(s));
        BOOST_TEST(c.session_reused() == (i > 0), "connection " << i);
        // A round trip: TLS 1.3 tickets come after the handshake, and the
        // client takes them as they arrive.
        wait(sv.write("x"));
        BOOST_TEST(wait(c.read_some()) == "x");
        wait(c.shutdown());
        BOOST_TEST(read_to_end(sv) == "");
    }
}

// The client's session cache holds at most max_sessions hosts; past that,
// a new host evicts the one stored longest ago (so a context that talks to
// a million hosts stays bounded). Checked on the cache itself: a million
// TLS servers would be a slow way to say the same.
BOOST_AUTO_TEST_CASE(the_session_cache_is_bounded_and_evicts_the_oldest_host) {
    vow::net::detail::tls_context_state cache;
    const std::size_t cap = vow::net::detail::tls_context_state::max_sessions;
    for (std::size_t i = 0; i < cap + 10; ++i)
        cache.store_session("host" + std::to_string(i) + ":443", SSL_SESSION_new());
    BOOST_TEST(cache.sessions.size() == cap);
    for (std::size_t i = 0; i < 10; ++i)
        BOOST_TEST(!cache.sessions.contains("host" + std::to_string(i) + ":443"));
    BOOST_TEST(cache.sessions.contains("host10:443"));
    BOOST_TEST(cache.sessions.contains("host" + std::to_string(cap + 9) + ":443"));
    // Storing again for a known host replaces its session and makes it the newest.
    cache.store_session("host10:443", SSL_SESSION_new());
    cache.store_session("another:443", SSL_SESSION_new());
    BOOST_TEST(cache.sessions.size() == cap);
    BOOST_TEST(cache.sessions.contains("host10:443"));
    BOOST_TEST(!cache.sessions.contains("host11:443"));
}

BOOST_AUTO_TEST_SUITE_END()
