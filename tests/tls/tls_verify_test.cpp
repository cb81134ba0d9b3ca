// Verification, on by default: each bad certificate refused with its own
// words (and every one with "certificate"), the system store not trusting
// the test CA, verify = false, IP addresses, mutual TLS, ALPN.
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"

#include <vow/net/tls.hpp>

#include <string>

BOOST_AUTO_TEST_SUITE(tls_verify_test)

using vow::test::cert;
using vow::test::error_as;
using fixture = vow::test::tls_fixture;

namespace {

std::string client_failure(fixture& f, const std::string& cert_name, const std::string& host = "localhost",
                           vow::net::tls_client_options co = {}) {
    auto h = f.handshake(f.server_context({.cert_file = cert(cert_name + ".pem"), .key_file = cert(cert_name + ".key")}),
                         f.client_context(std::move(co)), host);
    BOOST_REQUIRE_MESSAGE(h.client.error, "the client's handshake with " << cert_name << " should have failed");
    error_as<vow::net::tls_error>(h.client.error);
    BOOST_TEST(static_cast<bool>(h.server.error));   // the client's alert (or its close) ends the server's handshake too
    BOOST_TEST_MESSAGE("client: " << h.client.message());
    BOOST_TEST_MESSAGE("server: " << h.server.message());
    return h.client.message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_FIXTURE_TEST_CASE(an_expired_certificate_is_refused_as_expired, fixture) {
    auto msg = client_failure(*this, "expired");
    BOOST_TEST(contains(msg, "certificate has expired"), msg);
    BOOST_TEST(contains(msg, "2020"), msg);
    BOOST_TEST(contains(msg, "localhost"), msg);
}

BOOST_FIXTURE_TEST_CASE(a_certificate_not_yet_valid_is_refused_as_such, fixture) {
    auto msg = client_failure(*this, "future");
    BOOST_TEST(contains(msg, "certificate is not yet valid"), msg);
}

BOOST_FIXTURE_TEST_CASE(a_certificate_for_another_host_names_both_hosts, fixture) {
    auto msg = client_failure(*this, "other");
    BOOST_TEST(contains(msg, "certificate is for other.example, not localhost"), msg);
}

BOOST_FIXTURE_TEST_CASE(an_ip_address_is_verified_against_the_certificates_ip_names, fixture) {
    auto p = pair(server_context(), client_context(), "127.0.0.1");
    BOOST_TEST(p.client.server_name() == "");   // no SNI for an IP address
    auto msg = client_failure(*this, "other", "127.0.0.1");
    BOOST_TEST(contains(msg, "certificate is for other.example, not 127.0.0.1"), msg);
}

BOOST_FIXTURE_TEST_CASE(a_self_signed_certificate_is_not_trusted, fixture) {
    auto msg = client_failure(*this, "self");
    BOOST_TEST(contains(msg, "self-signed certificate is not trusted"), msg);
}

BOOST_FIXTURE_TEST_CASE(without_ca_file_the_system_store_does_not_trust_the_test_ca, fixture) {
    auto h = handshake(server_context(), vow::net::tls_context::client());
    BOOST_REQUIRE(h.client.error);
    auto msg = h.client.message();
    BOOST_TEST(contains(msg, "certificate is signed by an unknown authority"), msg);
    BOOST_TEST(contains(msg, "vow test CA"), msg);
}

BOOST_FIXTURE_TEST_CASE(a_self_signed_certificate_given_as_the_ca_file_is_trusted, fixture) {
    pair(server_context({.cert_file = cert("self.pem"), .key_file = cert("self.key")}),
         client_context({.ca_file = cert("self.pem")}));
}

BOOST_FIXTURE_TEST_CASE(verify_false_accepts_any_certificate_for_any_host, fixture) {
    auto ctx = client_context({.verify = false});
    for (const char* name : {"self", "expired", "other"}) {
        auto p = pair(server_context({.cert_file = cert(std::string(name) + ".pem"),
                                      .key_file = cert(std::string(name) + ".key")}),
                      ctx, "wrong.example");
        wait(p.client.write("x"));
        BOOST_TEST(wait(p.server.read_some()) == "x");
    }
}

BOOST_FIXTURE_TEST_CASE(mutual_tls_accepts_a_client_certificate_from_the_trusted_ca, fixture) {
    auto p = pair(server_context({.client_ca_file = cert("ca.pem"), .require_client_certificate = true}),
                  client_context({.cert_file = cert("client.pem"), .key_file = cert("client.key")}));
    auto c = p.server.peer_certificate();
    BOOST_REQUIRE(c.has_value());
    BOOST_TEST(contains(c->subject, "CN=vow test client"), c->subject);
    wait(p.client.write("hi"));
    BOOST_TEST(wait(p.server.read_exactly(2)) == "hi");
}

BOOST_FIXTURE_TEST_CASE(mutual_tls_refuses_a_client_without_a_certificate_on_both_sides, fixture) {
    auto h = handshake(server_context({.client_ca_file = cert("ca.pem"), .require_client_certificate = true}),
                       client_context());
    BOOST_REQUIRE(h.server.error);
    BOOST_TEST_MESSAGE("server: " << h.server.message());
    BOOST_TEST(contains(h.server.message(), "certificate"), h.server.message());
    error_as<vow::net::tls_error>(h.server.error);
    // In TLS 1.3 the client's handshake is over before the server has
    // judged its (missing) certificate: the refusal comes on the first read.
    std::exception_ptr client_error = h.client.error;
    if (!client_error)
        client_error = wait_error(h.client.value->read_some());
    const auto msg = vow::test::message_of(client_error);
    BOOST_TEST_MESSAGE("client: " << msg);
    BOOST_TEST(contains(msg, "certificate"), msg);
}

BOOST_FIXTURE_TEST_CASE(mutual_tls_refuses_a_client_certificate_from_an_unknown_ca, fixture) {
    auto h = handshake(server_context({.client_ca_file = cert("ca.pem"), .require_client_certificate = true}),
                       client_context({.cert_file = cert("self.pem"), .key_file = cert("self.key")}));
    BOOST_REQUIRE(h.server.error);
    const auto msg = h.server.message();
    BOOST_TEST(contains(msg, "certificate"), msg);
    if (h.client.value)
        (void)wait_error(h.client.value->read_some());
}

BOOST_FIXTURE_TEST_CASE(an_alpn_mismatch_is_refused_by_the_server_naming_alpn, fixture) {
    auto h = handshake(server_context({.alpn = {"h2"}}), client_context({.alpn = {"http/1.1", "spdy/3"}}));
    BOOST_REQUIRE(h.server.error);
    BOOST_TEST_MESSAGE("server: " << h.server.message());
    BOOST_TEST_MESSAGE("client: " << h.client.message());
    BOOST_TEST(contains(h.server.message(), "ALPN"), h.server.message());
    BOOST_TEST(contains(h.server.message(), "http/1.1, spdy/3"), h.server.message());
    BOOST_REQUIRE(h.client.error);
    BOOST_TEST(contains(h.client.message(), "ALPN"), h.client.message());
}

BOOST_FIXTURE_TEST_CASE(a_client_without_alpn_is_accepted_without_it, fixture) {
    auto p = pair(server_context(), client_context({.alpn = {}}));
    BOOST_TEST(p.client.alpn() == "");
    BOOST_TEST(p.server.alpn() == "");
}

BOOST_FIXTURE_TEST_CASE(the_server_picks_its_preferred_protocol_from_the_clients_list, fixture) {
    auto p = pair(server_context({.alpn = {"h2", "http/1.1"}}), client_context({.alpn = {"http/1.1", "h2"}}));
    BOOST_TEST(p.client.alpn() == "h2");
}

BOOST_AUTO_TEST_SUITE_END()
