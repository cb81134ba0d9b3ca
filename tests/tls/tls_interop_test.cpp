// vow's TLS against other implementations, all on loopback and started by
// the tests: the vow client against `openssl s_server` (TLS 1.2 and 1.3,
// sessions, mutual TLS, a version it will not speak), the vow server against
// `openssl s_client` and Python's ssl module (peer_client.py). A case whose
// peer program is missing is skipped, saying so.
#include <boost/test/unit_test.hpp>

#include "tls_fixture.hpp"

#include <vow/net/tcp.hpp>
#include <vow/net/tls.hpp>

#include <chrono>
#include <string>
#include <vector>

BOOST_AUTO_TEST_SUITE(tls_interop_test)

using namespace std::chrono_literals;
using vow::test::cert;
using vow::test::child_process;
using vow::test::error_as;
using vow::test::message_of;
using vow::test::needs_program;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

struct interop_fixture : vow::test::tls_fixture {
    std::uint16_t port = vow::test::free_port();

    // `openssl s_server` on `port`, answering each line with the line reversed.
    std::unique_ptr<child_process> s_server(std::vector<std::string> extra) {
        std::vector<std::string> argv = {"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port),
                                         "-cert", cert("server.pem"), "-key", cert("server.key"), "-rev"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        auto p = std::make_unique<child_process>(argv);
        BOOST_REQUIRE_MESSAGE(p->wait_for("ACCEPT"), "openssl s_server did not start: " << p->output());
        return p;
    }

    vow::future<vow::net::tls_stream> connect(const std::shared_ptr<vow::net::tls_context>& ctx) {
        auto tcp = wait(vow::net::connect(r, "127.0.0.1", port));
        return vow::net::tls_stream::connect(ctx, tcp, "localhost", {.timeout = 10s});
    }

    // One line through s_server -rev.
    void round_trip(vow::net::tls_stream& s) {
        wait(s.write("hello\n"));
        BOOST_TEST(wait(s.read_line(1024, {.timeout = 10s})).value_or("<end>") == "olleh");
    }

    // A vow server on `port` that answers "ping" with "pong" to one client.
    struct vow_server {
        vow::net::tcp_server listener;
        vow::future<vow::net::tcp_stream> accepted;
    };
    vow_server listen() {
        vow::net::tcp_server l(r, "127.0.0.1", port);
        auto a = l.accept();
        return {std::move(l), std::move(a)};
    }
    vow::net::tls_stream serve_one(vow_server& srv, const std::shared_ptr<vow::net::tls_context>& ctx) {
        auto tcp = wait(std::move(srv.accepted));
        auto s = wait(vow::net::tls_stream::accept(ctx, tcp, {.timeout = 10s}));
        BOOST_TEST(wait(s.read_line(1024, {.timeout = 10s})).value_or("<end>") == "ping");
        wait(s.write("pong\n"));
        return s;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(vow_client_speaks_tls_1_3_with_openssl_s_server, interop_fixture,
                        *needs_program("openssl")) {
    auto peer = s_server({"-tls1_3"});
    auto s = wait(connect(client_context()));
    BOOST_TEST(s.version() == "TLSv1.3");
    round_trip(s);
}

BOOST_FIXTURE_TEST_CASE(vow_client_speaks_tls_1_2_with_openssl_s_server_and_resumes_its_session, interop_fixture,
                        *needs_program("openssl")) {
    auto peer = s_server({"-tls1_2"});
    auto ctx = client_context();
    auto first = wait(connect(ctx));
    BOOST_TEST(first.version() == "TLSv1.2");
    BOOST_TEST(!first.session_reused());
    round_trip(first);
    first.close();
    auto second = wait(connect(ctx));
    BOOST_TEST(second.session_reused());
    round_trip(second);
}

BOOST_FIXTURE_TEST_CASE(vow_client_resumes_a_tls_1_3_session_from_a_ticket, interop_fixture,
                        *needs_program("openssl")) {
    auto peer = s_server({"-tls1_3"});
    auto ctx = client_context();
    auto first = wait(connect(ctx));
    round_trip(first);   // the tickets arrive after the handshake
    first.close();
    auto second = wait(connect(ctx));
    BOOST_TEST(second.session_reused());
    round_trip(second);
}

BOOST_FIXTURE_TEST_CASE(a_client_that_wants_tls_1_3_refuses_a_tls_1_2_server_naming_the_version, interop_fixture,
                        *needs_program("openssl")) {
    auto peer = s_server({"-tls1_2"});
    auto e = wait_error(connect(client_context({.min_version = vow::net::tls_version::v1_3})));
    const auto msg = message_of(e);
    error_as<vow::net::tls_error>(e);
    BOOST_TEST(contains(msg, "protocol version"), msg);
}

BOOST_FIXTURE_TEST_CASE(vow_client_shows_its_certificate_to_s_server_that_requires_one, interop_fixture,
                        *needs_program("openssl")) {
    for (const char* version : {"-tls1_2", "-tls1_3"}) {
        port = vow::test::free_port();
        auto peer = s_server({version, "-Verify", "1", "-CAfile", cert("ca.pem"), "-verify_return_error"});
        auto s = wait(connect(client_context({.cert_file = cert("client.pem"), .key_file = cert("client.key")})));
        round_trip(s);
        s.close();   // s_server serves one connection at a time
        // Without one, the server refuses: in the handshake (TLS 1.2), or on
        // the first read (TLS 1.3, where the client finishes first).
        auto f = connect(client_context());
        auto h = settle(std::move(f));
        std::exception_ptr e = h.error;
        if (!e) {
            (void)settle(h.value->write("hello\n"));
            e = wait_error(h.value->read_line());
        }
        const auto msg = message_of(e);
        BOOST_TEST(contains(msg, "certificate"), version << ": " << msg);
    }
}

BOOST_FIXTURE_TEST_CASE(vow_server_answers_openssl_s_client_on_tls_1_2_and_1_3, interop_fixture,
                        *needs_program("openssl")) {
    for (const char* version : {"-tls1_2", "-tls1_3"}) {
        port = vow::test::free_port();
        auto srv = listen();
        child_process peer({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile",
                            cert("ca.pem"), "-servername", "localhost", "-verify_hostname", "localhost",
                            "-verify_return_error", "-alpn", "http/1.1", "-quiet", version});
        peer.write("ping\n");
        auto s = serve_one(srv, server_context());
        BOOST_TEST(s.version() == (std::string(version) == "-tls1_2" ? "TLSv1.2" : "TLSv1.3"));
        BOOST_TEST(s.alpn() == "http/1.1");
        BOOST_TEST(s.server_name() == "localhost");
        BOOST_TEST(peer.wait_for("pong"), peer.output());
        wait(s.shutdown());
    }
}

BOOST_FIXTURE_TEST_CASE(vow_server_requires_and_reads_the_certificate_of_openssl_s_client, interop_fixture,
                        *needs_program("openssl")) {
    auto ctx = server_context({.client_ca_file = cert("ca.pem"), .require_client_certificate = true});
    auto srv = listen();
    child_process peer({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile",
                        cert("ca.pem"), "-servername", "localhost", "-cert", cert("client.pem"), "-key",
                        cert("client.key"), "-quiet"});
    peer.write("ping\n");
    auto s = serve_one(srv, ctx);
    BOOST_REQUIRE(s.peer_certificate().has_value());
    BOOST_TEST(contains(s.peer_certificate()->subject, "CN=vow test client"));
    BOOST_TEST(peer.wait_for("pong"), peer.output());
}

BOOST_FIXTURE_TEST_CASE(vow_server_answers_pythons_ssl_module, interop_fixture, *needs_program("python3")) {
    auto srv = listen();
    child_process peer({"python3", std::string(VOW_TLS_TEST_SOURCE_DIR) + "/peer_client.py", std::to_string(port),
                        cert("ca.pem")});
    auto s = serve_one(srv, server_context());
    wait(s.shutdown());
    BOOST_TEST(peer.wait_for("\n"), peer.output());
    BOOST_TEST(contains(peer.output(), "pong TLSv1.3 http/1.1"), peer.output());
    BOOST_TEST(peer.wait_exit() == 0, peer.output());
}

BOOST_FIXTURE_TEST_CASE(vow_server_with_mutual_tls_answers_python_with_a_certificate_and_refuses_it_without,
                        interop_fixture, *needs_program("python3")) {
    auto ctx = server_context({.client_ca_file = cert("ca.pem"), .require_client_certificate = true});
    {
        auto srv = listen();
        child_process peer({"python3", std::string(VOW_TLS_TEST_SOURCE_DIR) + "/peer_client.py", std::to_string(port),
                            cert("ca.pem"), cert("client.pem"), cert("client.key")});
        auto s = serve_one(srv, ctx);
        wait(s.shutdown());
        BOOST_TEST(peer.wait_exit() == 0, peer.output());
    }
    port = vow::test::free_port();
    auto srv = listen();
    child_process peer({"python3", std::string(VOW_TLS_TEST_SOURCE_DIR) + "/peer_client.py", std::to_string(port),
                        cert("ca.pem")});
    auto tcp = wait(std::move(srv.accepted));
    auto e = wait_error(vow::net::tls_stream::accept(ctx, tcp, {.timeout = 10s}));
    BOOST_TEST(contains(message_of(e), "certificate"), message_of(e));
    BOOST_TEST(peer.wait_exit() == 1, peer.output());
}

BOOST_AUTO_TEST_SUITE_END()
