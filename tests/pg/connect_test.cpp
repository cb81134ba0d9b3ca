// tests/pg/connect_test.cpp - connecting to PostgreSQL without blocking the
// loop: connection strings and keyword lists, host names through vow's
// resolver, the server's refusals as connection_error with its words, a
// connect timeout and a stop request, and closing.
#include <vow/promise/run_until_complete.hpp>
#include <vow/promise/sleep.hpp>

#include "pg_fixture.hpp"
#include <boost/test/unit_test.hpp>
#include <child_process.hpp>
#include <open_fds.hpp>

#include <arpa/inet.h>
#include <cstdio>
#include <cstdlib>
#include <netinet/in.h>
#include <stop_token>
#include <sys/socket.h>
#include <unistd.h>

namespace {

// The suite needs a server: without one, every test of it is skipped.
struct need_server {
    need_server() {
        if (vow::test::pg_dsn().empty()) {
            std::fprintf(stderr,
                         "skipped: no PostgreSQL server for the pg suite: VOW_TEST_PG_DSN is not set "
                         "(scripts/test and .ci/run start one with scripts/pg_cluster)\n");
            std::_Exit(77);
        }
    }
};
BOOST_TEST_GLOBAL_FIXTURE(need_server);

// The DSN with one keyword replaced (or added).
std::string with(const std::string& dsn, const std::string& key, const std::string& value) {
    std::string out;
    std::size_t pos = 0;
    bool replaced = false;
    while (pos < dsn.size()) {
        auto end = dsn.find(' ', pos);
        if (end == std::string::npos)
            end = dsn.size();
        std::string item = dsn.substr(pos, end - pos);
        if (item.rfind(key + "=", 0) == 0) {
            item = key + "=" + value;
            replaced = true;
        }
        if (!item.empty())
            out += (out.empty() ? "" : " ") + item;
        pos = end + 1;
    }
    if (!replaced)
        out += " " + key + "=" + value;
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(connect_test)

BOOST_FIXTURE_TEST_CASE(connects_and_answers, vow::test::pg_fixture) {
    auto c = connect();
    BOOST_TEST(c.is_open());
    BOOST_TEST(c.server_version() >= 150000);
    BOOST_TEST(c.backend_pid() > 0);
    auto res = wait(c.query("SELECT current_setting('DateStyle'), current_setting('client_encoding')"));
    BOOST_TEST(res[0].get<std::string>(0).rfind("ISO", 0) == 0u);
    BOOST_TEST(res[0].get<std::string>(1) == "UTF8");
    wait(c.close());
    BOOST_TEST(!c.is_open());
    auto e = wait_error(c.query("SELECT 1"));
    BOOST_TEST(vow::test::message_of(e).find("closed") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(keyword_list_and_uri, vow::test::pg_fixture) {
    // The same server through a postgresql:// URI built from the DSN's keywords.
    auto c = connect();
    auto port = wait(c.query("SELECT current_setting('port')")).value<std::string>();
    std::string uri = "postgresql://vow:vow@127.0.0.1:" + port + "/vow_test";
    auto u = wait(vow::pg::connection::connect(r, uri));
    BOOST_TEST(wait(u.query("SELECT current_user")).value<std::string>() == "vow");
    auto k = wait(vow::pg::connection::connect(
        r, {{"host", "127.0.0.1"}, {"port", port}, {"user", "vow"}, {"password", "vow"}, {"dbname", "vow_test"}}));
    BOOST_TEST(wait(k.query("SELECT current_database()")).value<std::string>() == "vow_test");
}

BOOST_FIXTURE_TEST_CASE(a_host_name_is_resolved_by_vow, vow::test::pg_fixture) {
    // "localhost" goes through vow::net::resolve and reaches libpq as hostaddr.
    auto c = wait(vow::pg::connection::connect(r, with(dsn, "host", "localhost")));
    auto res = wait(c.query("SELECT host(inet_client_addr())"));
    BOOST_TEST((res.value<std::string>() == "127.0.0.1" || res.value<std::string>() == "::1"));
}

BOOST_FIXTURE_TEST_CASE(a_wrong_password_is_the_servers_refusal, vow::test::pg_fixture) {
    auto e = wait_error(vow::pg::connection::connect(r, with(dsn, "password", "not-the-password")));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::pg::connection_error);
    BOOST_TEST(vow::test::message_of(e).find("password authentication failed") != std::string::npos,
               vow::test::message_of(e));
}

BOOST_FIXTURE_TEST_CASE(a_missing_database_is_named, vow::test::pg_fixture) {
    auto e = wait_error(vow::pg::connection::connect(r, with(dsn, "dbname", "no_such_db")));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::pg::connection_error);
    BOOST_TEST(vow::test::message_of(e).find("no_such_db") != std::string::npos, vow::test::message_of(e));
}

BOOST_FIXTURE_TEST_CASE(a_closed_port_is_refused, vow::test::pg_fixture) {
    auto port = vow::test::free_port();
    auto e = wait_error(vow::pg::connection::connect(r, with(dsn, "port", std::to_string(port))));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::pg::connection_error);
    BOOST_TEST(vow::test::message_of(e).find("refused") != std::string::npos, vow::test::message_of(e));
}

BOOST_FIXTURE_TEST_CASE(a_bad_connection_string_throws_at_once, vow::test::pg_fixture) {
    BOOST_CHECK_THROW(vow::pg::connection::connect(r, "host=127.0.0.1 nosuchkeyword=1").discard(),
                      vow::invalid_argument);
}

// A listener that accepts nothing: the TCP handshake completes (the backlog
// takes it) and the server never speaks.
struct silent_listener {
    int fd = -1;
    std::uint16_t port = 0;
    silent_listener() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd, 8);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~silent_listener() { ::close(fd); }
};

BOOST_FIXTURE_TEST_CASE(a_silent_server_times_out, vow::test::pg_fixture) {
    silent_listener l;
    auto e = wait_error(vow::pg::connection::connect(r, with(dsn, "port", std::to_string(l.port)),
                                                      {.timeout = std::chrono::milliseconds(200)}));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::timeout_error);
}

BOOST_FIXTURE_TEST_CASE(a_stop_request_cancels_the_connect, vow::test::pg_fixture) {
    silent_listener l;
    std::stop_source stop;
    auto f = vow::pg::connection::connect(r, with(dsn, "port", std::to_string(l.port)), {.stop = stop.get_token()});
    auto h = r.call_later(std::chrono::milliseconds(50), [&] { stop.request_stop(); });
    auto e = wait_error(std::move(f));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::cancelled_error);
}

// TLS is libpq's, set by its keywords; the non-blocking connect drives its
// handshake. A private cluster, with tests/tls's certificates (localhost and
// 127.0.0.1, signed by a test CA), turned on with ALTER SYSTEM and a reload.
BOOST_FIXTURE_TEST_CASE(tls_through_libpqs_settings, vow::test::pg_fixture) {
    vow::test::private_cluster cluster;
    BOOST_REQUIRE_MESSAGE(cluster.error.empty(), "the private cluster did not start: " << cluster.error);
    const std::string certs = cluster.dir + "/certs";
    const std::string make = "sh " VOW_MAKE_CERTS " " + certs + " >/dev/null 2>&1 && chown -R postgres " + certs +
                             " && chmod 600 " + certs + "/server.key";
    BOOST_REQUIRE(std::system(make.c_str()) == 0);
    auto admin = wait(vow::pg::connection::connect(r, cluster.dsn));
    wait(admin.query("ALTER SYSTEM SET ssl_cert_file = '" + certs + "/server.pem'"));
    wait(admin.query("ALTER SYSTEM SET ssl_key_file = '" + certs + "/server.key'"));
    wait(admin.query("ALTER SYSTEM SET ssl = on"));
    wait(admin.query("SELECT pg_reload_conf()"));
    wait(vow::sleep(r, std::chrono::milliseconds(300)));   // the postmaster rereads its files

    const std::string verify = " sslmode=verify-full sslrootcert=" + certs + "/ca.pem";
    // By name (resolved by vow, verified by libpq against the name) and by address.
    for (const char* host : {"localhost", "127.0.0.1"}) {
        auto c = wait(vow::pg::connection::connect(r, with(cluster.dsn, "host", host) + verify));
        auto res = wait(c.query("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
        BOOST_TEST(res[0].get<bool>("ssl"), host);
        BOOST_TEST(res[0].get<std::string>("version").rfind("TLSv1.", 0) == 0u);
    }
    // A certificate the client does not trust is refused, saying why.
    const std::string other = certs + "/self.pem";
    auto e = wait_error(vow::pg::connection::connect(r, cluster.dsn + " sslmode=verify-full sslrootcert=" + other));
    BOOST_CHECK_THROW(std::rethrow_exception(e), vow::pg::connection_error);
    BOOST_TEST(vow::test::message_of(e).find("certificate") != std::string::npos, vow::test::message_of(e));
}

BOOST_FIXTURE_TEST_CASE(the_last_handle_keeps_its_queries, vow::test::pg_fixture) {
    // Queries called on a connection whose handle is then dropped still run.
    auto f = vow::pg::connection::connect(r, dsn).then([](vow::pg::connection c) {
        return c.query("SELECT 40 + $1::int", 2);
    });
    BOOST_TEST(wait(std::move(f)).value<int>() == 42);
}

BOOST_FIXTURE_TEST_CASE(a_reactor_destroyed_mid_query_ends_its_connections, vow::test::pg_fixture) {
    // A dropped connection keeps itself while its query runs; if its reactor
    // is destroyed first, the reactor ends it: the socket is closed and
    // nothing leaks (LSan, in the sanitizer build, checks the memory).
    using namespace std::chrono_literals;
    const std::size_t before = vow::test::open_fds();
    {
        vow::reactor own;
        auto c = vow::run_until_complete(own, vow::pg::connection::connect(own, dsn));
        BOOST_TEST(c.is_open());
        c.query("SELECT pg_sleep(3)").discard();           // in flight, nobody waits for it
        vow::pg::connection::connect(own, dsn).discard();  // a connect in flight too
        vow::run_until_complete(own, vow::sleep(own, 50ms));
        BOOST_TEST(vow::test::open_fds() > before);
    }
    BOOST_TEST(vow::test::open_fds() == before);
}

BOOST_AUTO_TEST_SUITE_END()
